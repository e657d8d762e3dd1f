package api

// planDocs describe the plan, permit and water–carbon routes (api/plans.go)
// in the OpenAPI document; kept beside them so the shared table stays small.
var planDocs = []opDoc{
	{method: "GET", path: "/api/v1/plans", summary: "Planned use (计划用水) and permits (取水许可) of the enterprises the caller sees for a year: shares of the latest month, the plan to date and the permits, over-plan volume, level ok|near|over at the alarm thresholds; parks with allocation, remainder and production allowed (以水定产); the province for those who see it whole", params: []string{"year:query:false:YYYY, 2000 to next year (default this year)"}},
	{method: "GET", path: "/api/v1/enterprises/{id}/plan", summary: "An enterprise's plan year: months against plan (intake by source from the meters, coverage), plan to date, permits and their use, threshold crossings, over-plan volume by progressive-pricing tier (schedule with source, unverified)", params: []string{"id:path:true:enterprise ID", "year:query:false:YYYY (default this year)"}},
	{method: "PUT", path: "/api/v1/enterprises/{id}/plan", summary: "Set an enterprise's annual water-use plan (admin, regulator of the enterprise): the months must sum to the annual figure (±0.5 m³); without months it is split by days", params: []string{"id:path:true:enterprise ID"}, body: `{"year","annual_m3","monthly_m3":[12 numbers, optional]}`},
	{method: "POST", path: "/api/v1/plans/import", summary: "Import annual plans as CSV (admin, regulator of every enterprise named): columns enterprise, year, annual_m3, optionally m01…m12; all stored or none, every refused row reported with its line and field", body: "text/csv"},
	{method: "GET", path: "/api/v1/enterprises/{id}/permits", summary: "An enterprise's withdrawal permits (取水许可): number, source, annual volume, validity", params: []string{"id:path:true:enterprise ID"}},
	{method: "PUT", path: "/api/v1/permits/{id}", summary: "Store a withdrawal permit under its number (admin, regulator of the enterprise); one overlapping another permit of the enterprise for the same source is refused (409)", params: []string{"id:path:true:permit number"}, body: `{"id","enterprise","source","annual_m3","valid_from","valid_to"}`},
	{method: "DELETE", path: "/api/v1/permits/{id}", summary: "Remove a withdrawal permit (admin, regulator of the enterprise)", params: []string{"id:path:true:permit number"}},
	{method: "GET", path: "/api/v1/parks/{id}/headroom", summary: "A park's allocation (its enterprises' annual plans), intake so far, remainder and the production it allows per product at the park's intake per unit (以水定产), with its enterprises' rows", params: []string{"id:path:true:park ID", "year:query:false:YYYY (default this year)"}},
	{method: "GET", path: "/api/v1/carbon", summary: "Water–carbon accounts for the year to date: electricity attributable to water (pumping, supply and wastewater treatment, heating; metered or by per-m³ factor) and its CO₂ at the region's grid factor (MEE/NBS, with source, edition, verified flag); a province with its parks, a park with its enterprises", params: []string{"level:query:false:province|park|enterprise (default province)", "id:query:false:park or enterprise ID", "year:query:false:YYYY (default this year)"}},
}

func init() { opDocs = append(opDocs, planDocs...) }
