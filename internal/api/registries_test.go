package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/shuixiao/shuixiao/quotacase"
)

func testQuotaCase(ent string) quotacase.Case {
	opened := balanceDay
	return quotacase.Case{Enterprise: ent, EnterpriseName: "印染厂", Park: "PK", Region: "430302", Product: "机织印染布", Unit: "m3/100m",
		Value: 2.1, Limit: 1.6, Grade: "over", Standard: "GB/T 18916.4", PeriodFrom: opened.AddDate(0, -1, 0), PeriodTo: opened,
		OpenedAt: opened, Deadline: opened.AddDate(0, 6, 0), Owner: ent, EvidenceMonths: 3}
}

// TestRegistryRoutes: roles and tenant scope of the registries' routes,
// refusals naming the field with nothing stored, and the evaluation made
// complete by stored answers.
func TestRegistryRoutes(t *testing.T) {
	_, st, cl := efficiencyServer(t)
	ctx := t.Context()

	// Above scale: admin and regulators of the region; not enterprises.
	cl["ent-e"].expect(http.StatusForbidden, "PUT", "/enterprises/E/scale", map[string]any{"above_scale": true}, nil)
	cl["reg-cs"].expect(http.StatusForbidden, "PUT", "/enterprises/E/scale", map[string]any{"above_scale": true}, nil) // E is in Xiangtan
	cl["admin"].expect(http.StatusBadRequest, "PUT", "/enterprises/E/scale", map[string]any{}, nil)
	var ent map[string]any
	cl["reg-cs"].expect(http.StatusOK, "PUT", "/enterprises/S/scale", map[string]any{"above_scale": true}, &ent)
	if e, _ := st.Enterprise(ctx, "S"); !e.AboveScale || ent["above_scale"] != true {
		t.Errorf("S not above scale: %+v %v", e, ent)
	}

	// Evaluation answers: the enterprise itself, not another; refused
	// batches store nothing and name the field.
	body := map[string]any{"answers": []map[string]any{{"requirement": "within_plan", "met": true, "note": "台账"}, {"requirement": "metering", "met": true}}}
	cl["ent-s"].expect(http.StatusForbidden, "POST", "/enterprises/E/evaluation-answers", body, nil)
	cl["park"].expect(http.StatusForbidden, "POST", "/enterprises/E/evaluation-answers", body, nil)
	code, msg := cl["ent-e"].raw("POST", "/enterprises/E/evaluation-answers", body)
	if code != http.StatusBadRequest || !strings.Contains(msg, "answer 2") || !strings.Contains(msg, "field requirement") {
		t.Errorf("a metered requirement answered: %d %s", code, msg)
	}
	var got struct {
		Latest  map[string]map[string]any `json:"latest"`
		History []map[string]any          `json:"history"`
	}
	cl["ent-e"].expect(http.StatusOK, "GET", "/enterprises/E/evaluation-answers", nil, &got)
	if len(got.History) != 0 {
		t.Fatalf("refused answers stored: %+v", got)
	}
	var declared []string
	var reqs struct {
		Requirements []struct {
			ID string `json:"id"`
		} `json:"requirements"`
	}
	cl["ent-e"].expect(http.StatusOK, "GET", "/enterprises/E/evaluation-answers", nil, &reqs)
	var all []map[string]any
	for _, q := range reqs.Requirements {
		declared = append(declared, q.ID)
		all = append(all, map[string]any{"requirement": q.ID, "met": true})
	}
	if len(declared) != 8 {
		t.Fatalf("declared requirements %v", declared)
	}
	cl["ent-e"].expect(http.StatusCreated, "POST", "/enterprises/E/evaluation-answers", map[string]any{"answers": all}, nil)
	cl["auditor"].expect(http.StatusOK, "GET", "/enterprises/E/evaluation-answers", nil, &got)
	if len(got.History) != 8 || got.Latest["within_plan"]["answered_by"] != "ent-e" {
		t.Errorf("answers %+v", got)
	}
	var ev struct {
		Evaluation struct {
			Requirements []struct {
				ID     string         `json:"id"`
				Status string         `json:"status"`
				Answer map[string]any `json:"answer"`
			} `json:"requirements"`
		} `json:"evaluation"`
	}
	cl["ent-e"].expect(http.StatusOK, "GET", "/evaluation/E", nil, &ev)
	for _, it := range ev.Evaluation.Requirements {
		if it.Answer != nil && it.Status != "pass" {
			t.Errorf("%s answered met but %s", it.ID, it.Status)
		}
	}
	answered := 0
	for _, it := range ev.Evaluation.Requirements {
		if it.Answer != nil {
			answered++
		}
	}
	if answered != 8 {
		t.Errorf("%d requirements carry their answer in the evaluation, want 8", answered)
	}

	// Water managers.
	cl["ent-s"].expect(http.StatusForbidden, "PUT", "/enterprises/E/water-manager", map[string]any{"name": "张", "appointed": "2026-11-01T00:00:00+08:00"}, nil)
	code, msg = cl["ent-e"].raw("PUT", "/enterprises/E/water-manager", map[string]any{"name": "张", "email": "nope", "appointed": "2026-11-01T00:00:00+08:00"})
	if code != http.StatusBadRequest || !strings.Contains(msg, "field email") {
		t.Errorf("bad e-mail: %d %s", code, msg)
	}
	cl["ent-e"].expect(http.StatusOK, "PUT", "/enterprises/E/water-manager", map[string]any{"name": "张水务", "phone": "0731-1", "appointed": "2026-11-01T00:00:00+08:00"}, nil)
	var mgrs struct {
		Enterprises []struct {
			Enterprise string         `json:"enterprise"`
			Manager    map[string]any `json:"manager"`
		} `json:"enterprises"`
	}
	cl["ent-s"].settle(http.StatusOK, "/water-managers", &mgrs) // the roll-up of the year first
	if len(mgrs.Enterprises) != 1 || mgrs.Enterprises[0].Enterprise != "S" || mgrs.Enterprises[0].Manager != nil {
		t.Errorf("an enterprise sees only itself: %+v", mgrs)
	}
	cl["admin"].expect(http.StatusOK, "GET", "/water-managers", nil, &mgrs)
	if len(mgrs.Enterprises) != 3 {
		t.Errorf("admin sees %d enterprises", len(mgrs.Enterprises))
	}
	cl["admin"].expect(http.StatusBadRequest, "GET", "/water-managers?year=1999", nil, nil)

	// Providers: admin and regulators keep the library; served
	// enterprises outside the caller's scope are counted, not named.
	pr := map[string]any{"id": "SP-1", "name": "湘江节水服务", "region": "430100", "services": []string{"water_balance_test", "contract_saving"},
		"qualifications": []string{"CMA"}, "served": []map[string]any{{"enterprise": "E", "service": "water_balance_test", "year": 2025}, {"enterprise": "S", "service": "contract_saving", "year": 2026}}}
	cl["ent-e"].expect(http.StatusForbidden, "POST", "/service-providers", pr, nil)
	bad := map[string]any{"id": "SP-2", "name": "x", "region": "430100", "services": []string{"water_balance_test"}, "served": []map[string]any{{"enterprise": "NOPE", "service": "water_balance_test", "year": 2025}}}
	code, msg = cl["admin"].raw("POST", "/service-providers", bad)
	if code != http.StatusNotFound || !strings.Contains(msg, "served[0].enterprise") {
		t.Errorf("unknown served enterprise: %d %s", code, msg)
	}
	cl["admin"].expect(http.StatusNotFound, "GET", "/service-providers/SP-2", nil, nil)
	bad["services"], bad["served"] = []string{"laundry"}, nil
	code, msg = cl["admin"].raw("POST", "/service-providers", bad)
	if code != http.StatusBadRequest || !strings.Contains(msg, "services[0]") {
		t.Errorf("unknown service: %d %s", code, msg)
	}
	cl["reg-cs"].expect(http.StatusCreated, "POST", "/service-providers", pr, nil)
	cl["admin"].expect(http.StatusConflict, "POST", "/service-providers", pr, nil)
	var seen struct {
		Served    []map[string]any `json:"served"`
		Elsewhere int              `json:"served_elsewhere"`
		UpdatedBy string           `json:"updated_by"`
	}
	cl["ent-e"].expect(http.StatusOK, "GET", "/service-providers/SP-1", nil, &seen)
	if len(seen.Served) != 1 || seen.Served[0]["enterprise"] != "E" || seen.Elsewhere != 1 || seen.UpdatedBy != "reg-cs" {
		t.Errorf("provider as E sees it: %+v", seen)
	}
	var list struct {
		Providers []map[string]any `json:"providers"`
	}
	cl["ent-e"].expect(http.StatusOK, "GET", "/service-providers?service=contract_saving&q=湘江", nil, &list)
	if len(list.Providers) != 1 {
		t.Errorf("providers of contract saving: %+v", list)
	}
	cl["ent-e"].expect(http.StatusBadRequest, "GET", "/service-providers?service=laundry", nil, nil)

	// Technologies, a case linked to a provider and a technology, search.
	var techs struct {
		Technologies []struct {
			ID     string  `json:"id"`
			NameZH string  `json:"name_zh"`
			Cases  []int64 `json:"cases"`
		} `json:"technologies"`
	}
	cl["ent-e"].expect(http.StatusOK, "GET", "/technologies?industry=1713&q=印染", nil, &techs)
	if len(techs.Technologies) < 2 {
		t.Fatalf("dyeing technologies: %+v", techs)
	}
	c, err := st.OpenQuotaCase(ctx, testQuotaCase("E"), "system", "")
	if err != nil {
		t.Fatal(err)
	}
	path := "/quota-cases/" + strconv.FormatInt(c.ID, 10) + "/link"
	var none map[string]any
	cl["ent-e"].expect(http.StatusOK, "GET", path, nil, &none)
	if none["linked"] != false || none["case"] != float64(c.ID) {
		t.Errorf("a case without a link: %+v", none)
	}
	cl["ent-s"].expect(http.StatusForbidden, "PUT", path, map[string]any{"provider": "SP-1"}, nil)
	code, msg = cl["ent-e"].raw("PUT", path, map[string]any{"technology": "T999"})
	if code != http.StatusBadRequest || !strings.Contains(msg, "field technology") {
		t.Errorf("unknown technology: %d %s", code, msg)
	}
	code, msg = cl["ent-e"].raw("PUT", path, map[string]any{"provider": "SP-9"})
	if code != http.StatusNotFound || !strings.Contains(msg, "field provider") {
		t.Errorf("unknown provider: %d %s", code, msg)
	}
	cl["ent-e"].expect(http.StatusOK, "GET", path, nil, &none)
	if none["linked"] != false {
		t.Errorf("refused links stored: %+v", none)
	}
	tech := techs.Technologies[0].ID
	cl["ent-e"].expect(http.StatusOK, "PUT", path, map[string]any{"provider": "SP-1", "technology": tech, "note": "合同节水"}, nil)
	var link map[string]any
	cl["park"].expect(http.StatusOK, "GET", path, nil, &link)
	if link["provider"] != "SP-1" || link["technology"] != tech || link["linked_by"] != "ent-e" || link["linked"] != true {
		t.Errorf("link %+v", link)
	}
	cl["ent-e"].expect(http.StatusOK, "GET", "/technologies?industry=1713&q=印染", nil, &techs)
	if techs.Technologies[0].Cases[0] != c.ID {
		t.Errorf("the linked case is the technology's typical case: %+v", techs.Technologies[0])
	}
	cl["ent-s"].expect(http.StatusOK, "GET", "/technologies?industry=1713&q=印染", nil, &techs)
	if len(techs.Technologies[0].Cases) != 0 {
		t.Errorf("another enterprise's case shown to S: %+v", techs.Technologies[0])
	}
	var hits struct {
		Hits []struct {
			Kind string `json:"kind"`
			ID   string `json:"id"`
		} `json:"hits"`
	}
	cl["ent-s"].expect(http.StatusOK, "GET", "/registries/search?q=张水务", nil, &hits)
	if len(hits.Hits) != 0 {
		t.Errorf("E's manager found by S: %+v", hits)
	}
	cl["admin"].expect(http.StatusOK, "GET", "/registries/search?q=张水务", nil, &hits)
	if len(hits.Hits) != 1 || hits.Hits[0].Kind != "manager" {
		t.Errorf("admin search: %+v", hits)
	}
	cl["admin"].expect(http.StatusBadRequest, "GET", "/registries/search", nil, nil)
}
