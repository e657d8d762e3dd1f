package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/contract"
	"github.com/shuixiao/shuixiao/production"
)

// TestContractRoutesScope: roles and tenant scope of the contract and
// statement routes, and the refusals they pass on.
func TestContractRoutesScope(t *testing.T) {
	_, st, cl := efficiencyServer(t)
	// E's daily output over the days its meters read (balanceDay only).
	if _, err := st.AddProduction(context.Background(), []production.Record{{Enterprise: "E", Kind: production.Output, Product: "机织印染布",
		Quantity: 500, Unit: "100m", From: balanceDay, To: balanceDay.AddDate(0, 0, 1), ReportedBy: "ent-e", ReportedAt: balanceDay}}); err != nil {
		t.Fatal(err)
	}
	d := func(n int) time.Time { return balanceDay.AddDate(0, 0, n) }
	c := contract.Contract{ID: "CT-E", Name: "改造", Enterprise: "E", ServiceCompany: "服务公司", Option: contract.WholeFacility,
		Granularity: contract.Daily, Baseline: contract.Span{From: d(-4), To: d(0)}, Reporting: []contract.Span{{From: d(0), To: d(1)}},
		Drivers: []contract.Driver{{Name: "production", Kind: contract.OutputDriver, Product: "机织印染布"}}}
	cl["ent-s"].expect(403, "POST", "/contracts", c, nil)
	cl["auditor"].expect(403, "POST", "/contracts", c, nil)
	cl["park"].expect(403, "POST", "/contracts", c, nil)
	bad := c
	bad.Granularity = "week"
	cl["admin"].expect(400, "POST", "/contracts", bad, nil)
	var got contract.Contract
	cl["ent-e"].expect(201, "POST", "/contracts", c, &got)
	if got.CreatedBy != "ent-e" || got.Status != contract.Active {
		t.Fatalf("created %+v", got)
	}
	over := c
	over.ID = "CT-E2"
	cl["admin"].expect(409, "POST", "/contracts", over, nil)
	var list []contract.Contract
	cl["ent-s"].expect(200, "GET", "/contracts", nil, &list)
	if len(list) != 0 {
		t.Errorf("S sees %v", list)
	}
	cl["auditor"].expect(200, "GET", "/contracts", nil, &list)
	if len(list) != 1 || list[0].ID != "CT-E" {
		t.Errorf("auditor sees %v", list)
	}
	cl["park"].expect(200, "GET", "/contracts/CT-E", nil, nil)
	cl["ent-s"].expect(403, "GET", "/contracts/CT-E", nil, nil)
	cl["ent-s"].expect(403, "GET", "/contracts/CT-E/preview?period=1", nil, nil)
	cl["admin"].expect(400, "GET", "/contracts/CT-E/preview?period=2", nil, nil)
	cl["admin"].expect(404, "GET", "/contracts/NONE", nil, nil)
	// Output is declared for one day only: the baseline's other days are
	// refused (409, the reason tested in internal/mv), nothing stored.
	cl["admin"].expect(409, "GET", "/contracts/CT-E/preview?period=1", nil, nil)
	cl["auditor"].expect(403, "POST", "/contracts/CT-E/statements", map[string]any{"period": 1}, nil)
	cl["ent-s"].expect(403, "POST", "/contracts/CT-E/statements", map[string]any{"period": 1}, nil)
	cl["admin"].expect(409, "POST", "/contracts/CT-E/statements", map[string]any{"period": 1}, nil)
	var view struct {
		Statements []contract.Statement `json:"statements"`
	}
	cl["admin"].expect(200, "GET", "/contracts/CT-E", nil, &view)
	if len(view.Statements) != 0 {
		t.Errorf("a refused statement was stored: %v", view.Statements)
	}
	cl["admin"].expect(404, "GET", "/mv/statements/mvs-0000000000000000", nil, nil)
	cl["admin"].expect(404, "GET", "/mv/statements/mvs-0000000000000000/report.pdf", nil, nil)
}
