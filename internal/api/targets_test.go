package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/api"
	"github.com/shuixiao/shuixiao/internal/rollup"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
)

// TestTargetsRoutesScope checks the targets, evaluation and benchmark
// routes on three enterprises with declared statistics for 2020–2025, and
// who may see what.
func TestTargetsRoutesScope(t *testing.T) {
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
	must(st.CreatePark(ctx, meter.Park{ID: "PB", Name: "园乙", Region: "430300"}))
	ents := []meter.Enterprise{
		{ID: "EA", Name: "甲厂", Park: "PA", Region: "430102", Industry: "3120", Products: []string{"粗钢"}},
		{ID: "EB", Name: "乙厂", Park: "PB", Region: "430302", Industry: "3120", Products: []string{"粗钢"}},
		{ID: "EC", Name: "丙厂", Region: "430302", Industry: "1513", Products: []string{"啤酒"}},
	}
	var recs []production.Record
	now := time.Date(2026, 3, 3, 12, 0, 0, 0, production.Zone)
	for i, e := range ents {
		must(st.CreateEnterprise(ctx, e))
		for y := 2020; y <= 2025; y++ {
			from, to := time.Date(y, 1, 1, 0, 0, 0, 0, production.Zone), time.Date(y+1, 1, 1, 0, 0, 0, 0, production.Zone)
			f := float64(i+1) * (1 - 0.03*float64(y-2020))
			rec := func(k production.Kind, q float64, unit, product string) {
				recs = append(recs, production.Record{Enterprise: e.ID, Kind: k, Quantity: q, Unit: unit, Product: product,
					From: from, To: to, ReportedBy: "test", ReportedAt: now})
			}
			rec(production.Intake, 1e5*f, "m3", "")
			rec(production.Reuse, 1e6, "m3", "")
			rec(production.NonConventional, 1e4, "m3", "")
			rec(production.ValueAdded, 2e3, "10k CNY", "")
			if e.Industry == "3120" {
				rec(production.Output, 4e4, "t", "粗钢")
			}
		}
	}
	_, err = st.AddProduction(ctx, recs)
	must(err)
	for _, tk := range []store.Token{
		{ID: "admin", Role: store.RoleAdmin},
		{ID: "province", Role: store.RoleRegulator, Scope: "430000"},
		{ID: "city", Role: store.RoleRegulator, Scope: "430100"},
		{ID: "park", Role: store.RolePark, Scope: "PA"},
		{ID: "ent", Role: store.RoleEnterprise, Scope: "EA"},
	} {
		tk.Created = now
		must(st.CreateToken(ctx, tk, store.HashToken("secret-"+tk.ID)))
	}
	srv := httptest.NewServer(api.New(api.Options{Store: st, Logger: quiet, Now: func() time.Time { return now }}))
	defer srv.Close()
	as := func(who string) client { return client{t: t, base: srv.URL + "/api/v1", token: "secret-" + who} }

	type indicator struct {
		Key          string
		Baseline2020 *float64 `json:"baseline_2020"`
		Value        *float64
		Target2025   *float64 `json:"target_2025"`
		Expected     *float64
		OnTrack      *bool `json:"on_track"`
		Basis        string
		Coverage     struct {
			Enterprises int
			WithData    int `json:"with_data"`
		}
	}
	var res struct {
		Level, Code, Name string
		Year              int
		Indicators        []indicator
		Children          []struct {
			Level, Code string
			Indicators  []indicator
		}
		Worst      []struct{ Kind, ID, Key string }
		Trajectory []struct {
			Year     int
			Key      string
			Value    *float64
			Expected *float64
		}
	}
	// The year's first question starts its computation and is answered at
	// once; asked again, it is answered once computed.
	as("province").computing("/targets?year=2025")
	as("province").settle(http.StatusOK, "/targets?year=2025", &res)
	in := res.Indicators[0]
	// 2020: 6·10⁵ m³ on 6000 万元 = 100; 2025: 0.85 of it; target 84.
	if res.Level != "province" || res.Code != "430000" || in.Key != "intake_per_10k_cny" || *in.Baseline2020 != 100 ||
		*in.Target2025 != 84 || *in.Expected != 84 || fmt.Sprintf("%.6f", *in.Value) != "85.000000" || *in.OnTrack || in.Basis != "declared" ||
		in.Coverage.Enterprises != 3 || in.Coverage.WithData != 3 {
		t.Errorf("province intensity %+v", in)
	}
	// Every city of Hunan is a child, with or without enterprises.
	if len(res.Children) != 14 || len(res.Trajectory) == 0 || len(res.Worst) == 0 {
		t.Errorf("children %d, trajectory %d, worst %d", len(res.Children), len(res.Trajectory), len(res.Worst))
	}
	as("admin").settle(http.StatusOK, "/targets?level=industry", &res)
	if len(res.Children) != 2 || res.Children[0].Code != "1513" {
		t.Errorf("industries %+v", res.Children)
	}
	as("admin").settle(http.StatusOK, "/targets?level=industry&code=3120&year=2024", &res)
	if len(res.Children) != 2 || res.Year != 2024 {
		t.Errorf("industry 3120 %+v", res.Children)
	}
	as("city").expect(http.StatusOK, "GET", "/targets?level=city&code=430100&year=2025", nil, &res)
	if len(res.Children) != 1 || res.Children[0].Code != "PA" {
		t.Errorf("city 430100 %+v", res.Children)
	}
	as("park").expect(http.StatusOK, "GET", "/targets?level=park&code=PA&year=2025", nil, &res)
	as("ent").expect(http.StatusOK, "GET", "/targets?level=enterprise&code=EA&year=2025", nil, &res)
	for _, c := range []struct{ who, path string }{
		{"city", "/targets"}, {"park", "/targets"}, {"ent", "/targets"}, {"city", "/targets?level=industry"},
		{"city", "/targets?level=city&code=430300"}, {"park", "/targets?level=park&code=PB"}, {"ent", "/targets?level=enterprise&code=EB"},
		{"ent", "/evaluation/EB"}, {"park", "/evaluation/EB"},
	} {
		as(c.who).expect(http.StatusForbidden, "GET", c.path, nil, nil)
	}
	for _, path := range []string{"/targets?level=nation", "/targets?year=2019", "/targets?year=2027", "/targets?year=x",
		"/targets?level=city", "/benchmark?industry=3120", "/benchmark?industry=3120&product=黄金"} {
		as("admin").expect(http.StatusBadRequest, "GET", path, nil, nil)
	}
	as("admin").expect(http.StatusNotFound, "GET", "/targets?level=park&code=PZ", nil, nil)
	as("park").expect(http.StatusForbidden, "GET", "/targets?level=park&code=PA&year=2025&refresh=1", nil, nil)
	// A refresh is answered at once; polled, the new snapshot.
	as("province").computing("/targets?year=2025&refresh=1")
	as("province").settle(http.StatusOK, "/targets?year=2025", &res)
	as("admin").expect(http.StatusNotFound, "GET", "/targets?level=city&code=439900", nil, nil)

	var ev struct {
		Enterprise string
		Metered    bool
		Note       string
		Evaluation struct{ Outcome string }
	}
	as("ent").expect(http.StatusOK, "GET", "/evaluation/EA?year=2025", nil, &ev)
	if ev.Enterprise != "EA" || ev.Metered || ev.Note == "" || ev.Evaluation.Outcome != "incomplete" {
		t.Errorf("evaluation %+v", ev)
	}
	var bm struct {
		Ranked []struct {
			Enterprise, Name string
			Value            float64
			Rank             int
		}
	}
	as("ent").expect(http.StatusOK, "GET", "/benchmark?industry=3120&product=粗钢&year=2025", nil, &bm)
	// EA: 85 000 m³ / 40 000 t; EB twice the intake.
	if len(bm.Ranked) != 2 || bm.Ranked[0].Enterprise != "EA" || bm.Ranked[0].Value != 2.125 || bm.Ranked[1].Enterprise != "" || bm.Ranked[1].Name != "" {
		t.Errorf("benchmark as EA %+v", bm)
	}
	as("admin").expect(http.StatusOK, "GET", "/benchmark?industry=3120&product=粗钢&year=2025", nil, &bm)
	if bm.Ranked[1].Enterprise != "EB" {
		t.Errorf("benchmark as admin %+v", bm)
	}
	checkTargetsReport(t, as)

	// A failed computation is the poller's answer, with its cause.
	broken := httptest.NewServer(api.New(api.Options{Store: st, Logger: quiet, Now: func() time.Time { return now },
		Rollup: &rollup.Service{Src: failingRegions{st}, Now: func() time.Time { return now }}}))
	defer broken.Close()
	bc := client{t: t, base: broken.URL + "/api/v1", token: "secret-admin"}
	bc.computing("/targets?year=2025")
	var failed string
	for range 500 {
		code, body := bc.raw("GET", "/targets?year=2025", nil)
		if code != http.StatusAccepted {
			if code != http.StatusInternalServerError || !strings.Contains(body, "计算失败") || !strings.Contains(body, "regions unreadable") {
				t.Errorf("failed computation: HTTP %d %s", code, body)
			}
			failed = body
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if failed == "" {
		t.Error("the failed computation is never reported")
	}

	// The document says which answers come from the roll-up: 202 while
	// it is computed.
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Headers map[string]any `json:"headers"`
			} `json:"responses"`
		} `json:"paths"`
	}
	as("admin").expect(http.StatusOK, "GET", "/openapi.json", nil, &doc)
	for _, path := range []string{"/api/v1/targets", "/api/v1/targets/report.xlsx", "/api/v1/benchmark", "/api/v1/water-managers"} {
		r, ok := doc.Paths[path]["get"].Responses["202"]
		if !ok || r.Headers["Retry-After"] == nil || r.Headers["Location"] == nil {
			t.Errorf("OpenAPI %s: no 202 with Retry-After and Location", path)
		}
	}
}

// failingRegions is a roll-up source whose regions cannot be read.
type failingRegions struct{ *sqlite.Store }

func (failingRegions) Regions(context.Context) ([]meter.Region, error) {
	return nil, errors.New("regions unreadable")
}

// computing asks path and checks the answer of a roll-up being computed:
// 202 with Retry-After, the Location to poll (path without refresh) and
// the computation's progress in the body.
func (c client) computing(path string) {
	c.t.Helper()
	code, header, raw := c.rawHeader("GET", path, nil)
	var body struct {
		Status    string    `json:"status"`
		Message   string    `json:"message"`
		Year      int       `json:"year"`
		StartedAt time.Time `json:"started_at"`
		ElapsedMs *int64    `json:"elapsed_ms"`
	}
	if err := json.Unmarshal([]byte(raw), &body); err != nil {
		c.t.Fatalf("GET %s: %v in %s", path, err, raw)
	}
	loc := header.Get("Location")
	if code != http.StatusAccepted || header.Get("Retry-After") == "" || strings.Contains(loc, "refresh") ||
		!strings.HasPrefix(loc, "/api/v1"+strings.SplitN(path, "?", 2)[0]) || body.Status != "computing" ||
		!strings.Contains(body.Message, "计算中") || body.StartedAt.IsZero() || body.ElapsedMs == nil || body.Year == 0 {
		c.t.Fatalf("GET %s: HTTP %d, Location %q, Retry-After %q, %+v; want 202 computing", path, code, loc, header.Get("Retry-After"), body)
	}
}

// settle asks path until its roll-up is computed and expects want then.
func (c client) settle(want int, path string, out any) {
	c.t.Helper()
	for range 500 {
		if code, _ := c.raw("GET", path, nil); code != http.StatusAccepted {
			c.expect(want, "GET", path, nil, out)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("GET %s: still computing", path)
}
