package api

import (
	"net/http"
	"regexp"
	"strings"
)

// opDoc describes one operation for the OpenAPI document. The table is
// checked against the router in the tests, so the two cannot drift.
type opDoc struct {
	method, path, summary string
	public                bool
	params                []string // "name:in:required:description" (in = query|path)
	body                  string   // request body description, if any
	produces              string   // non-JSON media type
	// computing: answered from the year's roll-up, so 202 Accepted
	// (Computing, with Retry-After and Location) while it is computed.
	computing bool
}

var opDocs = []opDoc{
	{method: "GET", path: "/api/v1/health", summary: "Liveness, version and ledger size", public: true},
	{method: "GET", path: "/api/v1/openapi.json", summary: "This document", public: true},
	{method: "GET", path: "/api/v1/ledger/key", summary: "The log's note verifier key", public: true, produces: "text/plain"},
	{method: "GET", path: "/api/v1/me", summary: "The caller's role and scope"},
	{method: "GET", path: "/api/v1/regions", summary: "Administrative regions (GB/T 2260)"},
	{method: "GET", path: "/api/v1/parks", summary: "Industrial parks", params: []string{"region:query:false:GB/T 2260 code"}},
	{method: "GET", path: "/api/v1/parks/{id}", summary: "One park", params: []string{"id:path:true:park ID"}},
	{method: "POST", path: "/api/v1/parks", summary: "Create a park (admin)", body: "a park"},
	{method: "GET", path: "/api/v1/enterprises", summary: "Enterprises in the caller's scope", params: []string{"park:query:false:park ID", "region:query:false:GB/T 2260 code"}},
	{method: "GET", path: "/api/v1/enterprises/{id}", summary: "One enterprise", params: []string{"id:path:true:enterprise ID"}},
	{method: "POST", path: "/api/v1/enterprises", summary: "Create an enterprise (admin)", body: "an enterprise"},
	{method: "GET", path: "/api/v1/enterprises/{id}/balance", summary: "Water balance of a period (RESULT.json of shuixiao balance): GB/T 12452 indicators with coverage and basis, intake per unit of product with quota grade, declared figures, Sankey, ledger state read at", params: []string{"id:path:true:enterprise ID", "from:query:false:first day YYYY-MM-DD (UTC+8) or RFC 3339", "to:query:false:last day YYYY-MM-DD (included) or RFC 3339 (excluded); at most 366 days; default: yesterday", "date:query:false:one day YYYY-MM-DD (as from=to=date)"}},
	{method: "GET", path: "/api/v1/enterprises/{id}/report.xlsx", summary: "Water-balance test report (水平衡测试报告书, GB/T 12452-2022 Appendix A outline) of the balance of a period as XLSX: figures as numbers, Sankey picture, problems and recommendations, ledger checkpoint", params: []string{"id:path:true:enterprise ID", "from:query:false:first day YYYY-MM-DD (UTC+8) or RFC 3339", "to:query:false:last day YYYY-MM-DD (included) or RFC 3339 (excluded); at most 366 days; default: yesterday", "date:query:false:one day YYYY-MM-DD (as from=to=date)"}, produces: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
	{method: "GET", path: "/api/v1/enterprises/{id}/report.pdf", summary: "The same water-balance test report as PDF (Chinese font embedded, Sankey drawn); 503 when the server has no Chinese TrueType font", params: []string{"id:path:true:enterprise ID", "from:query:false:first day YYYY-MM-DD (UTC+8) or RFC 3339", "to:query:false:last day YYYY-MM-DD (included) or RFC 3339 (excluded); at most 366 days; default: yesterday", "date:query:false:one day YYYY-MM-DD (as from=to=date)"}, produces: "application/pdf"},
	{method: "GET", path: "/api/v1/production", summary: "Production records in the caller's scope: output per product, value added, declared water statistics", params: []string{"enterprise:query:false:enterprise ID", "kind:query:false:output|value_added|intake|reuse|non_conventional", "from:query:false:first day (records overlapping the period)", "to:query:false:last day"}},
	{method: "POST", path: "/api/v1/production", summary: "Report production records (admin, regulator, enterprise for itself): all rows stored or none; who and when recorded", body: `JSON array of {"enterprise","kind","product","quantity","unit","from","to","note"} (from/to: first and last day, YYYY-MM-DD), or text/csv or XLSX with header enterprise,kind,product,quantity,unit,from,to[,note]`},
	{method: "GET", path: "/api/v1/quota-board", summary: "Enterprises × products over a period: intake per unit, quota grade and limit, live retrofit case", params: []string{"from:query:false:first day", "to:query:false:last day (default: yesterday)"}},
	{method: "GET", path: "/api/v1/quota-cases", summary: "Retrofit cases (限期节水改造) in the caller's scope, newest first", params: []string{"state:query:false:open|plan_submitted|in_progress|overdue|closed", "enterprise:query:false:enterprise ID"}},
	{method: "GET", path: "/api/v1/quota-cases/{id}", summary: "A retrofit case with its history", params: []string{"id:path:true:case ID"}},
	{method: "POST", path: "/api/v1/quota-cases/{id}/transition", summary: "Move a retrofit case (admin, regulator, the enterprise): plan_submitted, in_progress; closed only on metered evidence; overdue only past the deadline", params: []string{"id:path:true:case ID"}, body: `{"to","note"}`},
	{method: "POST", path: "/api/v1/quota-review", summary: "Run the quota review for a period now (admin, province-wide regulator): open cases for products over quota, mark overdue, close on evidence", params: []string{"from:query:false:first day", "to:query:false:last day (default: yesterday)"}},
	// Contract water saving and M&V statements (helper mv).
	{method: "GET", path: "/api/v1/contracts", summary: "Contract-water-saving projects (合同节水管理) of the enterprises in the caller's scope", params: []string{"enterprise:query:false:enterprise ID"}},
	{method: "POST", path: "/api/v1/contracts", summary: "Create a contract (admin, regulator, the enterprise for itself); one overlapping a stored contract of the same enterprise and boundary is refused (409) with the reason", body: `{"id","name","enterprise","service_company","option":"B|C","points","granularity":"month|day","baseline":{"from","to"},"reporting":[{"from","to"}],"drivers":[{"name","kind":"output|value_added|declared","product"}],"service_company_share","declared":[{"driver","from","to","value","source"}]}`},
	{method: "GET", path: "/api/v1/contracts/{id}", summary: "A contract with its M&V statements", params: []string{"id:path:true:contract ID"}},
	{method: "POST", path: "/api/v1/contracts/{id}/declared", summary: "Add declared driver values (e.g. cooling degree days) to a contract, all or nothing (admin, regulator, the enterprise)", params: []string{"id:path:true:contract ID"}, body: `JSON array of {"driver","from","to","value","source"}`},
	{method: "GET", path: "/api/v1/contracts/{id}/preview", summary: "The M&V of a reporting period computed now and not stored: baseline fit, metered and modelled intake per period, savings ± uncertainty", params: []string{"id:path:true:contract ID", "period:query:true:reporting period, 1-based"}},
	{method: "POST", path: "/api/v1/contracts/{id}/statements", summary: "Issue the M&V statement of a reporting period that is over (admin, regulator, the enterprise): computed from ledger-backed intake, sealed (SHA-256) with the checkpoint it was read at, stored once; refusals (too few periods, singular design, drivers or data missing) are 409 with the reason", params: []string{"id:path:true:contract ID"}, body: `{"period":1,"adjustments":[{"period":"YYYY-MM","m3","reason"}]}`},
	{method: "GET", path: "/api/v1/mv/statements/{id}", summary: "An M&V statement record (what shuixiao verify savings recomputes)", params: []string{"id:path:true:statement ID (mvs-…)"}},
	{method: "GET", path: "/api/v1/mv/statements/{id}/carbon", summary: "The electricity and CO₂ a statement's proven saving (floor(savings − uncertainty)) avoids, at the province's grid factor and the enterprise's discharge share of the year", params: []string{"id:path:true:statement ID (mvs-…)"}},
	{method: "GET", path: "/api/v1/mv/statements/{id}/report.xlsx", summary: "The M&V statement as XLSX (fit chart, periods, adjustments, checkpoint)", params: []string{"id:path:true:statement ID"}},
	{method: "GET", path: "/api/v1/mv/statements/{id}/report.pdf", summary: "The M&V statement as PDF (Chinese font embedded)", params: []string{"id:path:true:statement ID"}},
	{method: "GET", path: "/api/v1/enterprises/{id}/tree", summary: "Metering tree (levels 1–3) with meters and today's volumes", params: []string{"id:path:true:enterprise ID", "date:query:false:YYYY-MM-DD"}},
	{method: "GET", path: "/api/v1/points", summary: "Metering points of an enterprise", params: []string{"enterprise:query:true:enterprise ID"}},
	{method: "POST", path: "/api/v1/points", summary: "Create a metering point (admin); its registration goes on the ledger first", body: "a metering point with level, stage, source and channels"},
	{method: "PUT", path: "/api/v1/points/{id}", summary: "Register a new version of a metering point (admin), on the ledger first", params: []string{"id:path:true:point ID"}, body: "the metering point, same enterprise"},
	{method: "GET", path: "/api/v1/meters", summary: "Meters with their keys and status", params: []string{"enterprise:query:false:enterprise ID", "point:query:false:point ID"}},
	{method: "GET", path: "/api/v1/meters/{id}", summary: "One meter", params: []string{"id:path:true:meter ID"}},
	{method: "POST", path: "/api/v1/meters", summary: "Register a meter's key on the ledger (admin); a legacy device's meter names the gateway that signs for it instead of a key", body: `{"id","point","key","signed","gateway","collector","interval_s","mqtt_password"}`},
	{method: "POST", path: "/api/v1/meters/{id}/revoke", summary: "Revoke a meter's key on the ledger (admin)", params: []string{"id:path:true:meter ID"}, body: `{"reason"}`},
	{method: "GET", path: "/api/v1/gateways", summary: "Protocol gateways: the keys that sign legacy devices' readings"},
	{method: "POST", path: "/api/v1/gateways", summary: "Register a gateway's key on the ledger (admin); enterprise for an edge box", body: `{"id","key","enterprise","mqtt_password"}`},
	{method: "POST", path: "/api/v1/gateways/{id}/revoke", summary: "Revoke a gateway's key on the ledger (admin): its later readings are refused", params: []string{"id:path:true:gateway ID"}, body: `{"reason"}`},
	{method: "GET", path: "/api/v1/gateway-devices", summary: "Legacy devices and the meters and channels their frame fields feed (admin)", params: []string{"gateway:query:false:gateway ID"}},
	{method: "POST", path: "/api/v1/gateway-devices", summary: "Create or replace a device mapping, checked against the registry (admin)", body: `{"protocol":"hj212|sl651|szy206|cjt188|modbus|push","device","password","gateway","push_token","fields":[{"field","meter","channel","kind":"total|interval|rate","unit","tonne_is_cubic_metre"}]}`},
	{method: "DELETE", path: "/api/v1/gateway-devices", summary: "Delete a device mapping (admin)", params: []string{"protocol:query:true:protocol", "device:query:true:device address"}},
	{method: "GET", path: "/api/v1/gateway/stats", summary: "Counters of the running gateways and protocol servers (admin, auditor)"},
	{method: "POST", path: "/api/v1/gateway/push/{protocol}", summary: "NB-IoT platform callback: a raw frame of the protocol (cjt188: a water meter's read-data reply, DI 90 1F, values total_m3 and settlement_m3, dated by the meter's clock or else the receive time), or a JSON body for protocol push; authenticated by the device's push token (Authorization: Bearer)", public: true, params: []string{"protocol:path:true:hj212|szy206|cjt188|push", "device:query:false:device address (checked against the frame)"}, body: `raw frame bytes, or {"device","time","values":{field:number},"flags":{field:flag}}`},
	{method: "GET", path: "/api/v1/readings", summary: "A meter's readings with seq, ledger index and flags", params: []string{"meter:query:true:meter ID", "from:query:false:RFC 3339 or date", "to:query:false:RFC 3339 or date", "limit:query:false:page size (default 500)", "order:query:false:asc|desc", "cursor:query:false:next page", "format:query:false:csv"}},
	{method: "GET", path: "/api/v1/series", summary: "Aggregated channel of a meter or point", params: []string{"meter:query:false:meter ID", "point:query:false:point ID", "channel:query:true:channel name", "from:query:false:start", "to:query:false:end", "interval:query:false:raw|15m|1h|1d|1mo", "fn:query:false:avg|min|max|last|sum|delta", "tz:query:false:time zone", "format:query:false:csv"}},
	{method: "POST", path: "/api/v1/ingest", summary: "Submit signed readings over HTTP", body: `{"readings":["<signed note>", …]}`},
	{method: "GET", path: "/api/v1/overview", summary: "Province/city/park roll-up of a day", params: []string{"level:query:false:province|city|park", "code:query:false:region code or park ID", "date:query:false:YYYY-MM-DD"}},
	{method: "GET", path: "/api/v1/targets", summary: "Progress on the Hunan plan's targets for a year: indicators against the 2020→2025 trajectory, children, worst contributors, trajectory (cached roll-up; province and industry: admin, auditor, province regulator). Answered at once: 202 with the computation's progress while the year has no roll-up yet or a refresh was asked (poll the Location, which has no refresh, after Retry-After); a roll-up older than 10 minutes is answered (200) with computing set while the next one runs; refresh_error says the last computation failed; a failed computation with no roll-up to answer is a 500 with its cause", params: []string{"level:query:false:province|city|park|industry|enterprise (default province)", "code:query:false:city code, park ID, GB/T 4754 industry code or enterprise ID", "year:query:false:YYYY, 2020 to this year (default this year)", "refresh:query:false:1 to start a new computation of the year's roll-up (admin, auditor, province regulator); answered 202, none started while one runs"}, computing: true},
	{method: "GET", path: "/api/v1/targets/report.xlsx", summary: "The target progress report as XLSX: indicators, children, worst contributors, trajectory, ledger checkpoint (same scope as GET /api/v1/targets)", params: []string{"level:query:false:province|city|park|industry|enterprise (default province)", "code:query:false:city code, park ID, GB/T 4754 industry code or enterprise ID", "year:query:false:YYYY, 2020 to this year (default this year)"}, produces: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", computing: true},
	{method: "GET", path: "/api/v1/evaluation/{enterprise}", summary: "GB/T 7119-2018 water-saving enterprise evaluation of a year from the metered balance", params: []string{"enterprise:path:true:enterprise ID", "year:query:false:YYYY (default this year)"}},
	{method: "GET", path: "/api/v1/benchmark", summary: "An industry's enterprises ranked by intake per unit of a product, with percentiles and water-efficiency leader candidates", params: []string{"industry:query:true:GB/T 4754 code", "product:query:true:the plan's product name", "year:query:false:YYYY (default this year)"}, computing: true},
	{method: "GET", path: "/api/v1/stream", summary: "Server-sent events: reading, alarm", params: []string{"enterprise:query:false:enterprise ID", "ticket:query:false:one-use ticket from POST /api/v1/stream/ticket (EventSource cannot set headers)"}, produces: "text/event-stream"},
	{method: "POST", path: "/api/v1/stream/ticket", summary: "A ticket that opens one stream within a minute, as this token"},
	{method: "GET", path: "/api/v1/ledger/status", summary: "Log size, latest checkpoint, witnesses"},
	{method: "GET", path: "/api/v1/proof", summary: "Receipt (c2sp.org/tlog-proof@v1) of a ledger entry", params: []string{"index:query:true:ledger index", "download:query:false:as attachment"}, produces: "text/plain"},
	{method: "GET", path: "/api/v1/ledger/entry", summary: "A ledger entry's exact bytes (a signed reading or key entry)", params: []string{"index:query:true:ledger index"}, produces: "text/plain"},
	{method: "GET", path: "/api/v1/rejections", summary: "Admission rejections by reason, a page of the counters by reason and meter, and the recent ones", params: []string{"meter:query:false:meter ID", "reason:query:false:reason", "limit:query:false:page size and recent rejections (1-1000, default 100)", "after:query:false:next of the previous page"}},
	{method: "GET", path: "/api/v1/quarantine", summary: "Ledger entries the store refused and set aside instead of committing, newest first (admin, auditor)", params: []string{"meter:query:false:meter ID", "limit:query:false:at most (default 100)"}},
	{method: "GET", path: "/api/v1/alarms", summary: "Alarms", params: []string{"state:query:false:active|acked|cleared|open|all", "enterprise:query:false:enterprise ID", "kind:query:false:alarm kind", "meter:query:false:meter ID"}},
	{method: "POST", path: "/api/v1/alarms/{id}/ack", summary: "Acknowledge an alarm", params: []string{"id:path:true:alarm ID"}, body: `{"note"}`},
	{method: "POST", path: "/api/v1/alarms/{id}/clear", summary: "Clear an alarm", params: []string{"id:path:true:alarm ID"}, body: `{"note"}`},
	{method: "GET", path: "/api/v1/alarms/{id}/history", summary: "An alarm's history", params: []string{"id:path:true:alarm ID"}},
	{method: "GET", path: "/api/v1/plants", summary: "Controlled plants (cooling towers, reuse trains) with live cycles, product, LSI and alarms", params: []string{"enterprise:query:false:enterprise ID"}},
	{method: "POST", path: "/api/v1/plants", summary: "Register or replace a plant's control configuration (admin)", body: "a plant configuration (package control: sensors, controllers, actuators with interlocks, set-point bounds)"},
	{method: "GET", path: "/api/v1/plants/{id}", summary: "A plant's configuration and live state: sensors, controllers, indices, actuators, alarms", params: []string{"id:path:true:plant ID"}},
	{method: "GET", path: "/api/v1/plants/{id}/history", summary: "A plant's recent control history (cycles, product, indices, actuators)", params: []string{"id:path:true:plant ID"}},
	{method: "GET", path: "/api/v1/plants/{id}/commands", summary: "Command log: every command with its cause, interlocks, ledger indices and outcome", params: []string{"id:path:true:plant ID", "actuator:query:false:actuator name", "device:query:false:device ID", "kind:query:false:issue|setpoint|mode", "from:query:false:start", "to:query:false:end", "limit:query:false:at most (default 200)"}},
	{method: "POST", path: "/api/v1/plants/{id}/setpoints", summary: "Change a set-point within its bounds (admin or the plant's enterprise); recorded on the ledger", params: []string{"id:path:true:plant ID"}, body: `{"name":"cycles|product_mg_l|ph","value","reason"}`},
	{method: "POST", path: "/api/v1/plants/{id}/actuators/{name}/mode", summary: "Manual override or lock-out of an actuator (admin or the plant's enterprise); recorded on the ledger", params: []string{"id:path:true:plant ID", "name:path:true:actuator name"}, body: `{"mode":"auto|manual|locked","value","reason"}`},
	{method: "POST", path: "/api/v1/plants/{id}/cooling/accept-cycles", summary: "Make the cycles optimiser's limit the blowdown set-point (admin or the plant's enterprise): set-point interlocks, recorded on the ledger with the optimiser's figure and analysis", params: []string{"id:path:true:plant ID"}, body: `{"max_cycles" (the figure shown),"reason"}`},
	{method: "GET", path: "/api/v1/plants/{id}/ro", summary: "RO normalised permeate flow, salt passage and ΔP (ASTM D4516) with cleaning markers", params: []string{"id:path:true:plant ID", "from:query:false:start (default 24 h ago)", "to:query:false:end", "points:query:false:windows (default 200)"}},
	{method: "GET", path: "/api/v1/plants/{id}/sequences", summary: "UF cycle timeline (filtration, backwash, CEB, CIP) with the filter's and RO's modes", params: []string{"id:path:true:plant ID", "from:query:false:start (default 24 h ago)", "to:query:false:end"}},
	{method: "GET", path: "/api/v1/networks", summary: "Pipe networks monitored for leaks, with the monitor's state", params: []string{"park:query:false:park ID", "enterprise:query:false:operating enterprise ID"}},
	{method: "POST", path: "/api/v1/networks", summary: "Register a pipe network (admin): .inp text and sensor map", body: `{"id","name","name_en","park","enterprise","inp":"<.inp text>","config":{"sensors","zones","detection","clock"}}`},
	{method: "GET", path: "/api/v1/networks/{id}", summary: "A network for the map: nodes with coordinates and zones, links with end nodes, sensor map, monitor state", params: []string{"id:path:true:network ID"}},
	{method: "PUT", path: "/api/v1/networks/{id}", summary: "Register or replace a pipe network (admin); an unchanged one keeps its calibration", params: []string{"id:path:true:network ID"}, body: `{"name","name_en","park","enterprise","inp","config"}`},
	{method: "GET", path: "/api/v1/networks/{id}/inp", summary: "The network's EPANET .inp file", params: []string{"id:path:true:network ID"}, produces: "text/plain"},
	{method: "GET", path: "/api/v1/networks/{id}/state", summary: "Modelled heads, pressures and flows at a time, beside the measured sensor values", params: []string{"id:path:true:network ID", "time:query:false:RFC 3339 (default now)"}},
	{method: "GET", path: "/api/v1/networks/{id}/zones", summary: "Zone balance: inflow, metered consumption, difference per bucket, minimum night flow", params: []string{"id:path:true:network ID", "from:query:false:start (default two network days ago)", "to:query:false:end (default now)", "bucket_s:query:false:bucket in network seconds (default 3600)"}},
	{method: "GET", path: "/api/v1/networks/{id}/leaks", summary: "Leak alarms with estimated start, flow, ranked candidate pipes, work order and water lost", params: []string{"id:path:true:network ID", "state:query:false:open|all", "limit:query:false:at most (default 100)"}},
	{method: "GET", path: "/api/v1/workorders", summary: "Repair work orders with the water lost while open", params: []string{"network:query:false:network ID", "state:query:false:open|assigned|closed|all"}},
	{method: "POST", path: "/api/v1/workorders", summary: "Make a repair work order from a leak alarm (or for a network)", body: `{"alarm"} or {"network","title","leak_start","leak_flow_m3h"}, optional "note"`},
	{method: "GET", path: "/api/v1/workorders/{id}", summary: "A work order with its history and leak", params: []string{"id:path:true:work order ID"}},
	{method: "POST", path: "/api/v1/workorders/{id}/assign", summary: "Assign a work order to a crew or person", params: []string{"id:path:true:work order ID"}, body: `{"assignee","note"}`},
	{method: "POST", path: "/api/v1/workorders/{id}/close", summary: "Close a work order: the repaired pipe, the water lost; clears the leak alarm", params: []string{"id:path:true:work order ID"}, body: `{"repaired_link","note"}`},
	{method: "GET", path: "/api/v1/tokens", summary: "API tokens (admin)"},
	{method: "POST", path: "/api/v1/tokens", summary: "Issue a token (admin); the secret is returned once", body: `{"id","name","role","scope"}`},
	{method: "POST", path: "/api/v1/tokens/{id}/revoke", summary: "Revoke a token (admin)", params: []string{"id:path:true:token ID"}},
	{method: "GET", path: "/api/v1/audit", summary: "Audit log of API writes and token events (admin, auditor), oldest first, paged", params: []string{"from:query:false:RFC 3339 or date", "to:query:false:RFC 3339 or date", "actor:query:false:token ID", "limit:query:false:page size (default 100, at most 1000)", "cursor:query:false:next_cursor of the previous page", "format:query:false:csv"}},
	{method: "GET", path: "/api/v1/audit.csv", summary: "The audit log as CSV (admin, auditor): every record selected", params: []string{"from:query:false:RFC 3339 or date", "to:query:false:RFC 3339 or date", "actor:query:false:token ID", "cursor:query:false:start after this record ID"}, produces: "text/csv"},
}

var pathParam = regexp.MustCompile(`\{[a-z_]+\}`)

// openAPIDocument builds the OpenAPI 3.1 description of the API.
func openAPIDocument(version string) map[string]any {
	paths := map[string]any{}
	for _, op := range opDocs {
		item, _ := paths[op.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[op.path] = item
		}
		var params []any
		for _, p := range op.params {
			f := strings.SplitN(p, ":", 4)
			params = append(params, map[string]any{"name": f[0], "in": f[1], "required": f[2] == "true",
				"description": f[3], "schema": map[string]any{"type": "string"}})
		}
		media := op.produces
		if media == "" {
			media = "application/json"
		}
		o := map[string]any{
			"summary":     op.summary,
			"operationId": strings.ToLower(op.method) + pathParam.ReplaceAllString(strings.ReplaceAll(strings.TrimPrefix(op.path, "/api/v1"), "/", "_"), "by_id"),
			"responses": map[string]any{
				"200":     map[string]any{"description": "OK", "content": map[string]any{media: map[string]any{}}},
				"default": map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}},
			},
		}
		if op.computing {
			o["responses"].(map[string]any)["202"] = map[string]any{
				"description": "the year's roll-up is being computed: ask the Location again after Retry-After seconds",
				"headers": map[string]any{
					"Retry-After": map[string]any{"description": "seconds to wait (1–30)", "schema": map[string]any{"type": "integer"}},
					"Location":    map[string]any{"description": "the question to poll (without refresh)", "schema": map[string]any{"type": "string"}},
				},
				"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Computing"}}}}
		}
		if len(params) > 0 {
			o["parameters"] = params
		}
		if op.body != "" {
			o["requestBody"] = map[string]any{"required": true, "description": op.body,
				"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}}
		}
		if op.public {
			o["security"] = []any{}
		}
		item[strings.ToLower(op.method)] = o
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "shuixiao API", "version": version,
			"description": "Industrial water-efficiency platform: signed meter readings on a verifiable ledger, balances, alarms. See docs/api.md."},
		"servers":  []any{map[string]any{"url": "/"}},
		"security": []any{map[string]any{"bearer": []any{}}},
		"paths":    paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{"Error": map[string]any{"type": "object", "required": []any{"error"},
				"properties": map[string]any{"error": map[string]any{"type": "string"}}},
				"Computing": map[string]any{"type": "object", "required": []any{"status", "message", "year", "started_at", "elapsed_ms"},
					"properties": map[string]any{
						"status":         map[string]any{"type": "string", "enum": []any{"computing"}},
						"message":        map[string]any{"type": "string"},
						"year":           map[string]any{"type": "integer"},
						"started_at":     map[string]any{"type": "string", "format": "date-time"},
						"elapsed_ms":     map[string]any{"type": "integer"},
						"series_read":    map[string]any{"type": "integer", "description": "volume series (series × years) read so far"},
						"series_to_read": map[string]any{"type": "integer", "description": "volume series to read; 0 until listed"},
					}}},
		},
	}
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, openAPIDocument(s.opts.Version))
}
