package registries

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/directory"
	"github.com/shuixiao/shuixiao/internal/rollup"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/quotacase"
)

var now = time.Date(2026, 6, 1, 10, 0, 0, 0, production.Zone)

// province: three enterprises of Changsha; E1 declared 150,000 m³ for 2025,
// E2 60,000 m³, E3 nothing.
func province(t *testing.T) (*sqlite.Store, *Service) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"), sqlite.Options{ManualCompaction: true, Location: production.Zone})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}))
	must(st.CreateRegion(ctx, meter.Region{Code: "430100", Name: "长沙市", Parent: "430000"}))
	must(st.CreatePark(ctx, meter.Park{ID: "PK", Name: "园区", Region: "430100"}))
	for _, id := range []string{"E1", "E2", "E3"} {
		must(st.CreateEnterprise(ctx, meter.Enterprise{ID: id, Name: "企业" + id, Park: "PK", Region: "430100", Industry: "3120", Products: []string{"粗钢"}}))
	}
	y := func(ent string, m3 float64) production.Record {
		return production.Record{Enterprise: ent, Kind: production.Intake, Quantity: m3, Unit: production.UnitVolume,
			From: time.Date(2025, 1, 1, 0, 0, 0, 0, production.Zone), To: time.Date(2026, 1, 1, 0, 0, 0, 0, production.Zone), ReportedBy: "tok", ReportedAt: now}
	}
	if _, err := st.AddProduction(ctx, []production.Record{y("E1", 150_000), y("E2", 60_000)}); err != nil {
		t.Fatal(err)
	}
	ru := &rollup.Service{Src: st, Now: func() time.Time { return now }}
	// Managers answers from the roll-up as it is (a computation under way
	// is an error): computed first.
	if _, err := ru.Snapshot(ctx, 2025); err != nil {
		t.Fatal(err)
	}
	return st, &Service{Store: st, Rollup: ru, Invalidate: ru.Invalidate, Now: func() time.Time { return now }}
}

func TestManagersFlagged(t *testing.T) {
	ctx := context.Background()
	_, svc := province(t)
	ms, err := svc.Managers(ctx, store.Filter{}, 2025)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[0].Enterprise != "E1" || !ms[0].Flagged || !ms[0].Required || *ms[0].AnnualIntakeM3 != 150_000 || ms[0].Basis != "declared" {
		t.Fatalf("E1 above 100,000 m³ without a manager is flagged first: %+v", ms)
	}
	for _, m := range ms[1:] {
		if m.Flagged || m.Required {
			t.Errorf("%s is not above the threshold: %+v", m.Enterprise, m)
		}
	}
	if ms[2].AnnualIntakeM3 != nil {
		t.Errorf("E3 has no figure: %+v", ms[2])
	}
	m, err := svc.AppointManager(ctx, directory.Manager{Enterprise: "E1", Name: "赵水务", Appointed: now}, "tok-e1")
	if err != nil || m.UpdatedBy != "tok-e1" || !m.UpdatedAt.Equal(now) {
		t.Fatalf("appoint: %+v %v", m, err)
	}
	if ms, err = svc.Managers(ctx, store.Filter{Enterprise: "E1"}, 2025); err != nil || len(ms) != 1 || ms[0].Flagged || ms[0].Manager == nil || ms[0].Manager.Name != "赵水务" {
		t.Errorf("E1 with a manager: %+v %v", ms, err)
	}
	// A refused appointment names the field and stores nothing.
	_, err = svc.AppointManager(ctx, directory.Manager{Enterprise: "E2", Name: "钱", Email: "not an address", Appointed: now}, "tok")
	if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "field email") {
		t.Errorf("bad e-mail: %v", err)
	}
	if ms, _ := svc.Managers(ctx, store.Filter{Enterprise: "E2"}, 2025); ms[0].Manager != nil {
		t.Error("refused manager stored")
	}
}

func TestAboveScaleInvalidates(t *testing.T) {
	ctx := context.Background()
	st, svc := province(t)
	n := 0
	svc.Invalidate = func() { n++ }
	e, err := svc.SetAboveScale(ctx, "E2", true)
	if err != nil || !e.AboveScale || n != 1 {
		t.Fatalf("set: %+v %v, %d invalidations", e, err, n)
	}
	if e, _ := st.Enterprise(ctx, "E2"); !e.AboveScale {
		t.Error("flag not stored")
	}
	if _, err := svc.SetAboveScale(ctx, "E2", true); err != nil || n != 1 {
		t.Errorf("no change, no invalidation: %v %d", err, n)
	}
	if _, err := svc.SetAboveScale(ctx, "E9", true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown enterprise: %v", err)
	}
}

func TestProvidersCasesAndSearch(t *testing.T) {
	ctx := context.Background()
	st, svc := province(t)
	p, err := svc.PutProvider(ctx, directory.Provider{ID: "SP-1", Name: "湘水节水服务公司", Region: "430100",
		Services: []directory.Service{directory.WaterBalanceTest, directory.Diagnosis}, Qualifications: []string{"CMA"},
		Served: []directory.Served{{Enterprise: "E1", Service: directory.WaterBalanceTest, Year: 2025}}}, true, "tok-a")
	if err != nil || p.UpdatedBy != "tok-a" {
		t.Fatalf("provider: %+v %v", p, err)
	}
	if ps, err := svc.Providers(ctx, directory.ContractSaving, ""); err != nil || len(ps) != 0 {
		t.Errorf("contract-saving providers: %+v %v", ps, err)
	}
	if _, err := svc.Providers(ctx, "cleaning", ""); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("unknown service: %v", err)
	}
	c, err := st.OpenQuotaCase(ctx, quotacase.Case{Enterprise: "E1", EnterpriseName: "企业E1", Park: "PK", Region: "430100", Product: "粗钢", Unit: "m3/t",
		Value: 5, Limit: 4, Grade: "over", Standard: "GB/T 18916.2", PeriodFrom: now.AddDate(0, -1, 0), PeriodTo: now,
		OpenedAt: now, Deadline: now.AddDate(0, 6, 0), Owner: "E1", EvidenceMonths: 3}, "system", "")
	if err != nil {
		t.Fatal(err)
	}
	var steel string
	for _, tc := range directory.Catalogue() {
		if tc.NameZH == "大型高炉密闭循环冷却水" {
			steel = tc.ID
		}
	}
	l, err := svc.LinkCase(ctx, directory.CaseLink{Case: c.ID, Provider: "SP-1", Technology: steel}, "tok-e1")
	if err != nil || l.LinkedBy != "tok-e1" {
		t.Fatalf("link: %+v %v", l, err)
	}
	ts, err := svc.Technologies(ctx, "高炉 密闭", "3120", nil)
	if err != nil || len(ts) != 1 || ts[0].ID != steel || len(ts[0].Cases) != 1 || ts[0].Cases[0] != c.ID {
		t.Errorf("technologies for 高炉 密闭 in steel: %+v %v", ts, err)
	}
	if ts, _ := svc.Technologies(ctx, "高炉 密闭", "1513", nil); len(ts) != 0 {
		t.Errorf("a steel technology offered to a brewery: %+v", ts)
	}
	if ts, _ := svc.Technologies(ctx, "高炉 密闭", "", func(quotacase.Case) bool { return false }); len(ts) != 1 || len(ts[0].Cases) != 0 {
		t.Errorf("a case the caller cannot see is listed: %+v", ts)
	}
	if _, err := svc.AppointManager(ctx, directory.Manager{Enterprise: "E1", Name: "赵水务", Appointed: now}, "tok"); err != nil {
		t.Fatal(err)
	}
	hits, err := svc.Search(ctx, "水", store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, h := range hits {
		kinds[h.Kind]++
	}
	if kinds["technology"] < 10 || kinds["provider"] != 1 || kinds["manager"] != 1 {
		t.Errorf("search 水: %v", kinds)
	}
	if hits, _ := svc.Search(ctx, "赵水务", store.Filter{Enterprise: "E2"}); len(hits) != 0 {
		t.Errorf("a manager outside the caller's scope found: %+v", hits)
	}
	if _, err := svc.Search(ctx, strings.Repeat("x", MaxQuery+1), store.Filter{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("long query: %v", err)
	}
}

func TestAnswers(t *testing.T) {
	ctx := context.Background()
	_, svc := province(t)
	if _, err := svc.Answer(ctx, "E1", nil, "tok"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("no answers: %v", err)
	}
	_, err := svc.Answer(ctx, "E1", []AnswerInput{{Requirement: "within_plan", Met: true}, {Requirement: "metering", Met: true}}, "tok")
	if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "answer 2") || !strings.Contains(err.Error(), "field requirement") {
		t.Errorf("a metered requirement answered: %v", err)
	}
	got, err := svc.Answers(ctx, "E1")
	if err != nil || len(got.History) != 0 || len(got.Requirements) != 8 {
		t.Fatalf("after a refused batch: %+v %v", got, err)
	}
	as, err := svc.Answer(ctx, "E1", []AnswerInput{{Requirement: "within_plan", Met: true, Note: "计划用水台账"}}, "tok-e1")
	if err != nil || as[0].ID == 0 || as[0].AnsweredBy != "tok-e1" {
		t.Fatalf("answer: %+v %v", as, err)
	}
	if got, _ = svc.Answers(ctx, "E1"); got.Latest["within_plan"].Note != "计划用水台账" {
		t.Errorf("latest %+v", got.Latest)
	}
}

// ManagerList counts the flagged enterprises and lists only them when
// asked; Providers matches every word of the query; View names only the
// served enterprises the caller sees and counts the others.
func TestManagerListProvidersAndView(t *testing.T) {
	ctx := context.Background()
	_, svc := province(t)
	all, err := svc.ManagerList(ctx, store.Filter{}, 2025, false)
	if err != nil || all.Year != 2025 || all.ThresholdM3 != 100_000 || all.Flagged != 1 || len(all.Enterprises) != 3 {
		t.Fatalf("all: %+v %v", all, err)
	}
	flagged, err := svc.ManagerList(ctx, store.Filter{}, 2025, true)
	if err != nil || flagged.Flagged != 1 || len(flagged.Enterprises) != 1 || flagged.Enterprises[0].Enterprise != "E1" {
		t.Fatalf("flagged only: %+v %v", flagged, err)
	}
	if none, _ := svc.ManagerList(ctx, store.Filter{Enterprise: "E2"}, 2025, true); none.Enterprises == nil || len(none.Enterprises) != 0 || none.Flagged != 0 {
		t.Errorf("E2 flagged only: %+v", none)
	}

	p := directory.Provider{ID: "SP-1", Name: "湘水节水服务公司", Region: "430100", Services: []directory.Service{directory.Diagnosis}, Qualifications: []string{"CMA"},
		Served: []directory.Served{{Enterprise: "E1", Service: directory.Diagnosis, Year: 2025}, {Enterprise: "E2", Service: directory.Diagnosis, Year: 2024}}}
	if _, err := svc.PutProvider(ctx, p, true, "tok"); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int{"": 1, "湘水": 1, "湘水 CMA": 1, "湘水 ISO": 0} {
		if ps, err := svc.Providers(ctx, "", q); err != nil || len(ps) != want {
			t.Errorf("query %q: %d providers (%v), want %d", q, len(ps), err, want)
		}
	}
	if v := View(ctx, p, nil); len(v.Served) != 2 || v.HiddenServed != 0 {
		t.Errorf("seeing all: %+v", v)
	}
	onlyE1 := func(_ context.Context, id string) bool { return id == "E1" }
	if v := View(ctx, p, onlyE1); len(v.Served) != 1 || v.Served[0].Enterprise != "E1" || v.HiddenServed != 1 || len(p.Served) != 2 {
		t.Errorf("seeing E1: %+v (the provider itself %+v)", v, p.Served)
	}
	if v := View(ctx, p, func(context.Context, string) bool { return false }); v.Served == nil || len(v.Served) != 0 || v.HiddenServed != 2 {
		t.Errorf("seeing none: %+v", v)
	}
}
