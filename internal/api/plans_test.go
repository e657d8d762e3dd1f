package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/api"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
)

// TestPlanRoutesScope: plans and permits written by admin and regulators
// only, read by the enterprise, its park and the regulator; clear refusals
// (months that do not sum, overlapping permits, negative volumes); the
// carbon route by level and scope.
func TestPlanRoutesScope(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"), sqlite.Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range meter.HunanRegions() {
		must(st.CreateRegion(ctx, r))
	}
	must(st.CreatePark(ctx, meter.Park{ID: "PA", Name: "园甲", Region: "430100"}))
	must(st.CreateEnterprise(ctx, meter.Enterprise{ID: "EA", Name: "甲厂", Park: "PA", Region: "430102", Industry: "3120"}))
	must(st.CreateEnterprise(ctx, meter.Enterprise{ID: "EB", Name: "乙厂", Region: "430302", Industry: "3120"}))
	now := time.Date(2026, 3, 3, 12, 0, 0, 0, production.Zone)
	for _, tk := range []store.Token{
		{ID: "admin", Role: store.RoleAdmin},
		{ID: "province", Role: store.RoleRegulator, Scope: "430000"},
		{ID: "city", Role: store.RoleRegulator, Scope: "430300"},
		{ID: "park", Role: store.RolePark, Scope: "PA"},
		{ID: "ent", Role: store.RoleEnterprise, Scope: "EA"},
	} {
		tk.Created = now
		must(st.CreateToken(ctx, tk, store.HashToken("secret-"+tk.ID)))
	}
	srv := httptest.NewServer(api.New(api.Options{Store: st, Logger: quiet, Now: func() time.Time { return now }}))
	defer srv.Close()
	as := func(who string) client { return client{t: t, base: srv.URL + "/api/v1", token: "secret-" + who} }

	plan := map[string]any{"year": 2026, "annual_m3": 365000}
	as("ent").expect(http.StatusForbidden, "PUT", "/enterprises/EA/plan", plan, nil)
	as("park").expect(http.StatusForbidden, "PUT", "/enterprises/EA/plan", plan, nil)
	as("city").expect(http.StatusForbidden, "PUT", "/enterprises/EA/plan", plan, nil) // EA is in 长沙, not 湘潭
	as("province").expect(http.StatusOK, "PUT", "/enterprises/EA/plan", plan, nil)
	months := []float64{31000, 28000, 31000, 30000, 31000, 30000, 31000, 31000, 30000, 31000, 30000, 30000}
	code, body := as("admin").raw("PUT", "/enterprises/EB/plan", map[string]any{"year": 2026, "annual_m3": 365000, "monthly_m3": months})
	if code != http.StatusBadRequest || !strings.Contains(body, "the months sum to 364000.00 m³, the annual figure is 365000.00 m³") {
		t.Errorf("months not summing: %d %s", code, body)
	}
	months[11] = 31000
	as("city").expect(http.StatusOK, "PUT", "/enterprises/EB/plan", map[string]any{"year": 2026, "annual_m3": 365000, "monthly_m3": months}, nil)
	months[3] = -5
	code, body = as("admin").raw("PUT", "/enterprises/EB/plan", map[string]any{"year": 2026, "annual_m3": 364965, "monthly_m3": months})
	if code != http.StatusBadRequest || !strings.Contains(body, "monthly_m3[3]") {
		t.Errorf("negative month: %d %s", code, body)
	}

	// CSV import: all or nothing, rows named.
	csvReq := func(who, body string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/plans/import", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer secret-"+who)
		req.Header.Set("Content-Type", "text/csv")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := csvReq("admin", "enterprise,year,annual_m3\nEA,2027,1000\nEB,2027,-3\n"); code != http.StatusBadRequest || !strings.Contains(body, "line 3") {
		t.Errorf("csv with a bad row: %d %s", code, body)
	}
	if code, body := csvReq("city", "enterprise,year,annual_m3\nEB,2027,1000\nEA,2027,1000\n"); code != http.StatusForbidden {
		t.Errorf("csv naming an enterprise outside the scope: %d %s", code, body)
	}
	if code, body := csvReq("ent", "enterprise,year,annual_m3\nEA,2027,1000\n"); code != http.StatusForbidden {
		t.Errorf("csv by an enterprise: %d %s", code, body)
	}
	if code, body := csvReq("admin", "enterprise,year,annual_m3\nEA,2027,1000\nEB,2027,2000\n"); code != http.StatusOK || !strings.Contains(body, `"stored":2`) {
		t.Errorf("csv: %d %s", code, body)
	}
	if got, _ := st.WaterPlans(ctx, 2027, nil); len(got) != 2 {
		t.Errorf("imported plans %+v", got)
	}

	permit := map[string]any{"id": "取水(湘)字[2026]第7号", "enterprise": "EA", "source": "surface", "annual_m3": 200000,
		"valid_from": "2026-01-01T00:00:00+08:00", "valid_to": "2031-01-01T00:00:00+08:00"}
	path := "/permits/" + "取水(湘)字[2026]第7号"
	as("ent").expect(http.StatusForbidden, "PUT", path, permit, nil)
	as("admin").expect(http.StatusOK, "PUT", path, permit, nil)
	over := map[string]any{"id": "P-8", "enterprise": "EA", "source": "surface", "annual_m3": 1000,
		"valid_from": "2030-06-01T00:00:00+08:00", "valid_to": "2032-01-01T00:00:00+08:00"}
	code, body = as("admin").raw("PUT", "/permits/P-8", over)
	if code != http.StatusConflict || !strings.Contains(body, "overlaps permit 取水(湘)字[2026]第7号") {
		t.Errorf("overlap: %d %s", code, body)
	}
	over["source"], over["annual_m3"] = "ground", -1
	if code, body = as("admin").raw("PUT", "/permits/P-8", over); code != http.StatusBadRequest {
		t.Errorf("negative permit: %d %s", code, body)
	}

	var ent struct {
		Status struct {
			PlanAnnualM3 float64 `json:"plan_annual_m3"`
			Months       []any   `json:"months"`
		} `json:"status"`
		Permits []struct {
			ID string `json:"id"`
		} `json:"permits"`
	}
	for _, who := range []string{"ent", "park", "province", "admin"} {
		as(who).expect(http.StatusOK, "GET", "/enterprises/EA/plan?year=2026", nil, &ent)
		if ent.Status.PlanAnnualM3 != 365000 || len(ent.Permits) != 1 {
			t.Errorf("%s: %+v", who, ent)
		}
	}
	as("city").expect(http.StatusForbidden, "GET", "/enterprises/EA/plan", nil, nil)
	as("ent").expect(http.StatusForbidden, "GET", "/enterprises/EB/plan", nil, nil)

	var ov struct {
		Rows     []struct{ Enterprise string } `json:"rows"`
		Parks    []struct{ Park string }       `json:"parks"`
		Province *struct{ Enterprises int }    `json:"province"`
	}
	as("park").expect(http.StatusOK, "GET", "/plans", nil, &ov)
	if len(ov.Rows) != 1 || ov.Rows[0].Enterprise != "EA" || len(ov.Parks) != 1 || ov.Province != nil {
		t.Errorf("park overview %+v", ov)
	}
	ov.Province = nil
	as("province").expect(http.StatusOK, "GET", "/plans", nil, &ov)
	if len(ov.Rows) != 2 || ov.Province == nil || ov.Province.Enterprises != 2 {
		t.Errorf("province overview %+v", ov)
	}
	var head struct {
		AllocationM3 float64 `json:"allocation_m3"`
		Rows         []any   `json:"rows"`
	}
	as("park").expect(http.StatusOK, "GET", "/parks/PA/headroom", nil, &head)
	if head.AllocationM3 != 365000 || len(head.Rows) != 1 {
		t.Errorf("headroom %+v", head)
	}
	as("ent").expect(http.StatusForbidden, "GET", "/parks/PA/headroom", nil, nil)

	as("ent").expect(http.StatusForbidden, "DELETE", path, nil, nil)
	as("admin").expect(http.StatusNoContent, "DELETE", path, nil, nil)
	as("admin").expect(http.StatusNotFound, "DELETE", path, nil, nil)

	var cb struct {
		Level   string `json:"level"`
		Parts   []any  `json:"parts"`
		Factors struct {
			Grid struct {
				KgCO2PerKWh float64 `json:"kg_co2_per_kwh"`
			} `json:"grid"`
		} `json:"factors"`
	}
	as("province").expect(http.StatusOK, "GET", "/carbon", nil, &cb)
	if cb.Level != "province" || len(cb.Parts) == 0 || cb.Factors.Grid.KgCO2PerKWh != 0.5395 {
		t.Errorf("carbon %+v", cb)
	}
	as("park").expect(http.StatusForbidden, "GET", "/carbon", nil, nil)
	as("park").expect(http.StatusOK, "GET", "/carbon?level=park&id=PA", nil, &cb)
	if len(cb.Parts) != 1 {
		t.Errorf("park carbon %+v", cb)
	}
	as("ent").expect(http.StatusOK, "GET", "/carbon?level=enterprise&id=EA", nil, nil)
	as("ent").expect(http.StatusForbidden, "GET", "/carbon?level=enterprise&id=EB", nil, nil)
	as("ent").expect(http.StatusBadRequest, "GET", "/carbon?level=city", nil, nil)
}
