package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/shuixiao/shuixiao/internal/api"
	et "github.com/shuixiao/shuixiao/internal/efficiency/efficiencytest"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	tokensvc "github.com/shuixiao/shuixiao/internal/tokens"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
)

// balanceDay is the day the shapes are metered on.
var balanceDay = et.Day(2026, 11, 5)

// efficiencyServer is an API over a store with three enterprises of
// different shapes metered on balanceDay:
//
//	E: the worked example of standards.md §1.4 (two sources, recirculation,
//	   a cascade between units, wastewater reuse, metered consumption), a dye works;
//	S: municipal water and purchased steam, a boiler unit returning condensate;
//	M: two intake points, one of which sent no reading.
func efficiencyServer(t *testing.T) (*httptest.Server, *sqlite.Store, map[string]client) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "store.db"), sqlite.Options{ManualCompaction: true, Location: et.Zone})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	vol := map[string]float64{}
	pts, v := et.WorkedExample("E")
	et.Register(t, st, meter.Enterprise{ID: "E", Name: "印染厂", Park: "PK", Region: "430302", Industry: "1713"}, pts)
	for k, x := range v {
		vol[k] = x
	}
	all := pts
	steam := []meter.Point{
		et.Point("S", "S-IN-MUN", 1, meter.StageIntake, meter.SourceMunicipal, ""),
		et.Point("S", "S-IN-STEAM", 1, meter.StageIntake, meter.SourceSteam, ""),
		et.With(et.Point("S", "S-BOILER", 2, meter.StageUse, "", "S-IN-MUN"), func(p *meter.Point) { p.Purpose = meter.PurposeBoiler }),
		et.With(et.Point("S", "S-PROC", 2, meter.StageUse, "", "S-IN-MUN"), func(p *meter.Point) { p.Purpose = meter.PurposeProcess }),
		et.With(et.Point("S", "S-COND", 3, meter.StageCascade, "", "S-BOILER"), func(p *meter.Point) { p.Reuse = meter.ReuseCondensate }),
		et.Point("S", "S-OUT", 1, meter.StageDischarge, "", ""),
	}
	et.Register(t, st, meter.Enterprise{ID: "S", Name: "化工厂", Park: "PK2", Region: "430121", Industry: "2612"}, steam)
	for k, x := range map[string]float64{"S-IN-MUN": 500, "S-IN-STEAM": 50, "S-BOILER": 300, "S-PROC": 190, "S-COND": 200, "S-OUT": 250} {
		vol[k] = x
	}
	all = append(all, steam...)
	missing := []meter.Point{
		et.Point("M", "M-IN-1", 1, meter.StageIntake, meter.SourceGround, ""),
		et.Point("M", "M-IN-2", 1, meter.StageIntake, meter.SourceSurface, ""),
	}
	et.Register(t, st, meter.Enterprise{ID: "M", Name: "缺数厂", Park: "PK", Region: "430302", Industry: "3120"}, missing)
	vol["M-IN-1"] = 240
	all = append(all, missing[0]) // M-IN-2 never reads
	names := make([]string, len(all))
	for i, p := range all {
		names[i] = p.ID
	}
	(&et.Feeder{St: st}).Feed(t, names, balanceDay.Add(-time.Hour), balanceDay.AddDate(0, 0, 1).Add(time.Hour), time.Hour,
		func(p string, _ time.Time) float64 { return vol[p] / 24 })

	ctx := context.Background()
	secrets := map[string]string{}
	for _, tk := range []store.Token{{ID: "admin", Role: store.RoleAdmin}, {ID: "auditor", Role: store.RoleAuditor},
		{ID: "ent-e", Role: store.RoleEnterprise, Scope: "E"}, {ID: "ent-s", Role: store.RoleEnterprise, Scope: "S"},
		{ID: "park", Role: store.RolePark, Scope: "PK"}, {ID: "reg-cs", Role: store.RoleRegulator, Scope: "430100"}} {
		tk.Created = time.Now()
		secrets[tk.ID] = tokensvc.NewSecret()
		if err := st.CreateToken(ctx, tk, store.HashToken(secrets[tk.ID])); err != nil {
			t.Fatal(err)
		}
	}
	now := balanceDay.AddDate(0, 0, 1).Add(10 * time.Hour) // the next morning: "yesterday" is balanceDay
	srv := httptest.NewServer(api.New(api.Options{Store: st, Now: func() time.Time { return now }, Logger: quiet}))
	t.Cleanup(srv.Close)
	cl := map[string]client{}
	for id, sec := range secrets {
		cl[id] = client{t: t, base: srv.URL + "/api/v1", token: sec}
	}
	return srv, st, cl
}

func num(t *testing.T, m map[string]any, key string) float64 {
	t.Helper()
	v, ok := m[key].(float64)
	if !ok {
		t.Fatalf("%s = %v, want a number", key, m[key])
	}
	return v
}

func approx(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// TestBalanceRoute: the period balance of enterprises of several shapes
// through GET /enterprises/{id}/balance, its period parameters and bounds,
// and tenant scope.
func TestBalanceRoute(t *testing.T) {
	_, st, cl := efficiencyServer(t)
	admin := cl["admin"]
	if _, err := st.AddProduction(context.Background(), []production.Record{{Enterprise: "E", Kind: production.Output, Product: "机织印染布",
		Quantity: 500, Unit: "100m", From: balanceDay, To: balanceDay.AddDate(0, 0, 1), ReportedBy: "ent-e", ReportedAt: balanceDay}}); err != nil {
		t.Fatal(err)
	}

	var e map[string]any
	admin.expect(200, "GET", "/enterprises/E/balance?from=2026-11-05&to=2026-11-05", nil, &e)
	for key, want := range map[string]float64{"intake_m3": 1000, "non_conventional_m3": 100, "recirculated_m3": 18800, "cascaded_m3": 200,
		"reuse_m3": 19000, "total_use_m3": 20000, "discharge_m3": 300, "reuse_rate": 0.95, "non_conventional_rate": 0.1, "discharge_rate": 0.3,
		"leakage_m3": 20, "consumption_m3": 680, "wastewater_reuse_rate": 0.25} {
		if got := num(t, e, key); !approx(got, want) {
			t.Errorf("E %s = %v, want %v", key, got, want)
		}
	}
	src := e["intake_by_source_m3"].(map[string]any)
	if !approx(src["ground"].(float64), 900) || !approx(src["reclaimed"].(float64), 100) {
		t.Errorf("E intake by source %v", src)
	}
	prod := e["products"].(map[string]any)["机织印染布"].(map[string]any)
	if !approx(prod["intake_per_unit"].(float64), 2) || prod["quota_grade"] != "over" {
		t.Errorf("E product %v", prod)
	}
	if e["from"] != "2026-11-05" || e["to"] != "2026-11-05" || e["sankey"] == nil || e["coverage"] == nil {
		t.Errorf("E period or keys: %v %v", e["from"], e["to"])
	}

	var s map[string]any
	admin.expect(200, "GET", "/enterprises/S/balance", nil, &s) // default: yesterday = balanceDay
	if s["from"] != "2026-11-05" {
		t.Errorf("default period starts %v", s["from"])
	}
	for key, want := range map[string]float64{"intake_m3": 550, "condensate_reuse_rate": 200.0 / 550, "reuse_m3": 200, "discharge_m3": 250} {
		if got := num(t, s, key); !approx(got, want) {
			t.Errorf("S %s = %v, want %v", key, got, want)
		}
	}
	if got := s["intake_by_source_m3"].(map[string]any)["steam"].(float64); !approx(got, 50) {
		t.Errorf("S steam = %v", got)
	}

	var m map[string]any
	admin.expect(200, "GET", "/enterprises/M/balance?date=2026-11-05", nil, &m)
	if m["intake_m3"] != nil || fmt.Sprint(m["missing_points"]) != "[M-IN-2]" {
		t.Errorf("M: intake %v with missing %v", m["intake_m3"], m["missing_points"])
	}
	if cov := m["coverage"].(map[string]any)["intake_m3"].(map[string]any); fmt.Sprint(cov["missing"]) != "[M-IN-2]" {
		t.Errorf("M intake coverage %v", cov)
	}

	// A week: the meters read on one day only, so coverage says so.
	var week map[string]any
	admin.expect(200, "GET", "/enterprises/M/balance?from=2026-11-02&to=2026-11-08", nil, &week)
	if c := week["point_coverage"].(map[string]any)["M-IN-1"].(float64); c >= 0.2 || c <= 0.1 {
		t.Errorf("week coverage of M-IN-1 = %v, want about 25/168", c)
	}

	for _, q := range []string{"from=2026-11-06&to=2026-11-05", "from=2025-01-01&to=2026-11-05", "from=2026-11-05", "from=2026-13-01&to=2026-13-02", "from=1800-01-01&to=1800-01-02"} {
		if code := admin.do("GET", "/enterprises/E/balance?"+q, nil, nil); code != 400 {
			t.Errorf("%s: HTTP %d, want 400", q, code)
		}
	}
	cl["ent-e"].expect(200, "GET", "/enterprises/E/balance", nil, nil)
	cl["ent-e"].expect(403, "GET", "/enterprises/S/balance", nil, nil)
	cl["park"].expect(403, "GET", "/enterprises/S/balance", nil, nil)
	cl["reg-cs"].expect(200, "GET", "/enterprises/S/balance", nil, nil)
	cl["reg-cs"].expect(403, "GET", "/enterprises/E/balance", nil, nil)
}

// post sends a body with a content type and returns the status and answer.
func post(t *testing.T, c client, path, ctype string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", c.base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func countRecords(t *testing.T, st *sqlite.Store) int {
	t.Helper()
	recs, err := st.ProductionRecords(context.Background(), production.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(recs)
}

func xlsxOf(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestProductionUpload: CSV, XLSX and JSON uploads stored all or nothing
// with who and when; every bad row named with its field; tenant scope.
func TestProductionUpload(t *testing.T) {
	_, st, cl := efficiencyServer(t)
	const h = "enterprise,kind,product,quantity,unit,from,to\n"
	good := h + "E,output,机织印染布,15000,100m,2026-11-01,2026-11-30\nE,value_added,,1520.5,万元,2026-11-01,2026-11-30\n"
	code, body := post(t, cl["ent-e"], "/production", "text/csv", []byte(good))
	if code != 201 || !strings.Contains(body, `"stored":2`) {
		t.Fatalf("good CSV: %d %s", code, body)
	}
	var recs []production.Record
	cl["ent-e"].expect(200, "GET", "/production?enterprise=E", nil, &recs)
	if len(recs) != 2 || recs[0].ReportedBy != "ent-e" || recs[0].ReportedAt.IsZero() || recs[0].Quantity != 15000 {
		t.Fatalf("stored records %+v", recs)
	}

	bad := []struct {
		name, ctype, body, want string
		status                  int
	}{
		{"unknown product", "text/csv", h + "E,output,钢锭,1,t,2026-10-01,2026-10-31\n", "CSV line 2, field product: unknown product", 400},
		{"unknown unit", "text/csv", h + "E,output,机织印染布,1,km,2026-10-01,2026-10-31\n", "CSV line 2, field unit", 400},
		{"negative", "text/csv", h + "E,output,机织印染布,12,100m,2026-10-01,2026-10-31\nE,output,机织印染布,-5,100m,2026-09-01,2026-09-30\n", "CSV line 3, field quantity", 400},
		{"absurd", "text/csv", h + "E,output,机织印染布,5e9,100m,2026-10-01,2026-10-31\n", "CSV line 2, field quantity", 400},
		{"bad period", "text/csv", h + "E,output,机织印染布,5,100m,2026-10-31,2026-10-01\n", "CSV line 2, field to", 400},
		{"bad date", "text/csv", h + "E,output,机织印染布,5,100m,2026/10/01,2026-10-31\n", "CSV line 2, field from", 400},
		{"malformed CSV", "text/csv", h + "E,output,\"机织印染布,5,100m,2026-10-01,2026-10-31\n", "upload refused", 400},
		{"bad header", "text/csv", "firm,kind\nE,output\n", "unknown column", 400},
		{"malformed XLSX", api.XLSXContentType, "PK\x03\x04garbage", "not a readable XLSX", 400},
		{"overlap with stored", "text/csv", h + "E,output,机织印染布,10,100m,2026-10-01,2026-10-31\nE,output,机织印染布,10,100m,2026-11-15,2026-11-16\n", "CSV line 3: overlaps stored record", 409},
		{"other enterprise", "text/csv", h + "E,output,机织印染布,10,100m,2026-10-01,2026-10-31\nS,output,烧碱,10,t,2026-10-01,2026-10-31\n", "CSV line 3, field enterprise: S is outside", 403},
		{"unknown enterprise", "text/csv", h + "NOPE,output,烧碱,10,t,2026-10-01,2026-10-31\n", "field enterprise: no enterprise NOPE", 400},
		{"JSON bad row", "application/json", `[{"enterprise":"E","kind":"output","product":"机织印染布","quantity":1,"unit":"100m","from":"2026-10-01","to":"2026-10-31"},{"enterprise":"E","kind":"value_added","quantity":-1,"unit":"万元","from":"2026-10-01","to":"2026-10-31"}]`, "record 2, field quantity", 400},
		{"JSON unknown field", "application/json", `[{"enterprise":"E","kind":"output","qty":1}]`, "unknown field", 400},
		{"wrong type", "text/plain", "E,output", "Content-Type must be", 400},
	}
	before := countRecords(t, st)
	for _, c := range bad {
		code, body := post(t, cl["ent-e"], "/production", c.ctype, []byte(c.body))
		if code != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s, want %d naming %q", c.name, code, body, c.status, c.want)
		}
	}
	if n := countRecords(t, st); n != before {
		t.Fatalf("rejected uploads stored %d records", n-before)
	}
	xl := xlsxOf(t, [][]any{{"enterprise", "kind", "product", "quantity", "unit", "from", "to"},
		{"S", "output", "烧碱", 730, "t", "2026-11-05", "2026-11-05"},
		{"S", "value_added", "", 88, "万元", "2026-11-05", "2026-11-05"}})
	if code, body := post(t, cl["ent-e"], "/production", api.XLSXContentType, xl); code != 403 {
		t.Errorf("E reporting for S: %d %s", code, body)
	}
	cl["auditor"].expect(403, "POST", "/production", []any{}, nil)
	cl["park"].expect(403, "POST", "/production", []any{}, nil)
	if code, body := post(t, cl["admin"], "/production", api.XLSXContentType, xl); code != 201 {
		t.Fatalf("XLSX by admin: %d %s", code, body)
	}
	var s map[string]any
	cl["ent-s"].expect(200, "GET", "/enterprises/S/balance?date=2026-11-05", nil, &s)
	if got := num(t, s, "intake_per_10k_cny"); !approx(got, 550.0/88) {
		t.Errorf("S intake per 10k CNY %v", got)
	}
	if p := s["products"].(map[string]any)["烧碱"].(map[string]any); !approx(p["intake_per_unit"].(float64), 550.0/730) || p["quota_grade"] != nil {
		t.Errorf("S product (no quota table): %v", p)
	}
	// Scope of the listing.
	cl["ent-s"].expect(200, "GET", "/production", nil, &recs)
	for _, r := range recs {
		if r.Enterprise != "S" {
			t.Errorf("S sees %+v", r)
		}
	}
	cl["ent-s"].expect(403, "GET", "/production?enterprise=E", nil, nil)
	var audit []store.AuditRecord
	audit, _ = st.AuditLog(context.Background(), store.AuditQuery{Limit: 1000})
	n := 0
	for _, a := range audit {
		if a.Action == "POST /api/v1/production" {
			n++
		}
	}
	if n < len(bad)+3 {
		t.Errorf("%d audit records of uploads, want every attempt", n)
	}
}

// TestQuotaCaseRoutes: the review opens a case for the dye works over
// quota; the case is listed, shown and moved within tenant scope; closing
// it without metered evidence is refused.
func TestQuotaCaseRoutes(t *testing.T) {
	_, st, cl := efficiencyServer(t)
	if _, err := st.AddProduction(context.Background(), []production.Record{{Enterprise: "E", Kind: production.Output, Product: "机织印染布",
		Quantity: 500, Unit: "100m", From: balanceDay, To: balanceDay.AddDate(0, 0, 1), ReportedBy: "ent-e", ReportedAt: balanceDay}}); err != nil {
		t.Fatal(err)
	}
	cl["ent-e"].expect(403, "POST", "/quota-review", nil, nil)
	cl["reg-cs"].expect(403, "POST", "/quota-review", nil, nil)
	var rev struct {
		Opened []int64 `json:"opened"`
	}
	cl["admin"].expect(200, "POST", "/quota-review?from=2026-11-05&to=2026-11-05", nil, &rev)
	if len(rev.Opened) != 1 {
		t.Fatalf("review opened %v", rev.Opened)
	}
	id := fmt.Sprint(rev.Opened[0])
	var board struct {
		Rows []struct {
			Enterprise string   `json:"enterprise"`
			Grade      *string  `json:"grade"`
			Value      *float64 `json:"value"`
			Case       *struct {
				ID    int64  `json:"id"`
				State string `json:"state"`
			} `json:"case"`
		} `json:"rows"`
		Over int `json:"over"`
	}
	cl["admin"].expect(200, "GET", "/quota-board?from=2026-11-05&to=2026-11-05", nil, &board)
	if board.Over != 1 || len(board.Rows) != 1 || board.Rows[0].Case == nil || board.Rows[0].Case.State != "open" || !approx(*board.Rows[0].Value, 2) {
		t.Fatalf("board %+v", board)
	}
	var cases []map[string]any
	cl["ent-e"].expect(200, "GET", "/quota-cases?state=open", nil, &cases)
	if len(cases) != 1 || cases[0]["enterprise_name"] != "印染厂" || cases[0]["limit"] != 1.6 {
		t.Fatalf("E's cases %v", cases)
	}
	cl["ent-s"].expect(200, "GET", "/quota-cases", nil, &cases)
	if len(cases) != 0 {
		t.Errorf("S sees %v", cases)
	}
	cl["ent-s"].expect(403, "GET", "/quota-cases/"+id, nil, nil)
	cl["ent-s"].expect(403, "POST", "/quota-cases/"+id+"/transition", map[string]string{"to": "plan_submitted"}, nil)
	cl["auditor"].expect(403, "POST", "/quota-cases/"+id+"/transition", map[string]string{"to": "plan_submitted"}, nil)
	cl["admin"].expect(400, "GET", "/quota-cases?state=lost", nil, nil)
	var c map[string]any
	cl["ent-e"].expect(200, "POST", "/quota-cases/"+id+"/transition", map[string]string{"to": "plan_submitted", "note": "方案"}, &c)
	if c["state"] != "plan_submitted" || len(c["history"].([]any)) != 2 {
		t.Errorf("after plan %v", c)
	}
	for _, to := range []string{"closed", "overdue", "open", "nonsense"} {
		cl["admin"].expect(409, "POST", "/quota-cases/"+id+"/transition", map[string]string{"to": to}, nil)
	}
	cl["admin"].expect(200, "GET", "/quota-cases/"+id, nil, &c)
	h := c["history"].([]any)
	if len(h) != 2 || h[1].(map[string]any)["actor"] != "ent-e" || h[1].(map[string]any)["note"] != "方案" {
		t.Errorf("history %v", h)
	}
}
