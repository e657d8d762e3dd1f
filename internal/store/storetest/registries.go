package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/directory"
	"github.com/shuixiao/shuixiao/evaluate"
	"github.com/shuixiao/shuixiao/internal/store"
)

type directoryStore interface {
	store.Store
	store.Directory
}

type answersStore interface {
	store.Store
	store.EvaluationAnswers
}

// testDirectory: water managers one per enterprise, replaced, filtered by
// tenant; providers created, replaced, refused whole when an enterprise
// they served is unknown; case links checked against cases, providers and
// the catalogue.
func testDirectory(t *testing.T, st store.Store) {
	s, ok := st.(directoryStore)
	if !ok {
		t.Fatal("the store does not implement store.Directory")
	}
	ctx := context.Background()
	fixture(t, s)
	at := day(3)
	mgr := func(ent, name string) directory.Manager {
		return directory.Manager{Enterprise: ent, Name: name, Phone: "0731-1234", Appointed: day(1), UpdatedBy: "tok-r", UpdatedAt: at}
	}
	wantErr(t, "manager of unknown enterprise", s.PutWaterManager(ctx, mgr("E-NONE", "张三")), store.ErrNotFound)
	wantErr(t, "manager without name", s.PutWaterManager(ctx, mgr("E-XT-1", "")), store.ErrInvalid)
	must(t, s.PutWaterManager(ctx, mgr("E-XT-1", "张三")))
	must(t, s.PutWaterManager(ctx, mgr("E-XT-1", "李四"))) // replaces
	must(t, s.PutWaterManager(ctx, mgr("E-CS-1", "王五")))
	all, err := s.WaterManagers(ctx, store.Filter{})
	must(t, err)
	if len(all) != 2 || all[0].Enterprise != "E-CS-1" || all[1].Name != "李四" || !all[1].UpdatedAt.Equal(at) || !all[1].Appointed.Equal(day(1)) {
		t.Errorf("managers %+v", all)
	}
	for _, c := range []struct {
		f    store.Filter
		want int
	}{{store.Filter{Region: "430300"}, 1}, {store.Filter{Park: "P-CS"}, 1}, {store.Filter{Enterprise: "E-XT-2"}, 0}, {store.Filter{Region: "430000"}, 2}} {
		if ms, err := s.WaterManagers(ctx, c.f); err != nil || len(ms) != c.want {
			t.Errorf("managers of %+v: %d %v, want %d", c.f, len(ms), err, c.want)
		}
	}

	p := directory.Provider{ID: "SP-1", Name: "湖南水效服务", Region: "430100", Services: []directory.Service{directory.WaterBalanceTest, directory.ContractSaving},
		Qualifications: []string{"CMA 检验检测机构资质认定"}, Served: []directory.Served{{Enterprise: "E-XT-1", Service: directory.WaterBalanceTest, Year: 2025}},
		UpdatedBy: "tok-a", UpdatedAt: at}
	must(t, s.PutProvider(ctx, p, true))
	wantErr(t, "provider twice", s.PutProvider(ctx, p, true), store.ErrExists)
	q := p
	q.ID = "SP-2"
	wantErr(t, "update of an unknown provider", s.PutProvider(ctx, q, false), store.ErrNotFound)
	q.Served = []directory.Served{{Enterprise: "E-NONE", Service: directory.WaterBalanceTest, Year: 2025}}
	wantErr(t, "provider serving an unknown enterprise", s.PutProvider(ctx, q, true), store.ErrNotFound)
	wantErr(t, "nothing stored of it", errOf(s.Provider(ctx, "SP-2")), store.ErrNotFound)
	q.Served, q.Services = nil, []directory.Service{"cleaning"}
	wantErr(t, "provider with an unknown service", s.PutProvider(ctx, q, true), store.ErrInvalid)
	bad := p
	bad.Served = append(bad.Served, directory.Served{Enterprise: "E-NONE", Service: directory.ContractSaving, Year: 2026})
	wantErr(t, "update serving an unknown enterprise", s.PutProvider(ctx, bad, false), store.ErrNotFound)
	if got, err := s.Provider(ctx, "SP-1"); err != nil || len(got.Served) != 1 || got.Qualifications[0] != "CMA 检验检测机构资质认定" || !got.UpdatedAt.Equal(at) {
		t.Errorf("provider after a refused update: %+v %v", got, err)
	}
	p.Served = append(p.Served, directory.Served{Enterprise: "E-CS-1", Service: directory.ContractSaving, Year: 2026})
	must(t, s.PutProvider(ctx, p, false))
	ps, err := s.Providers(ctx)
	must(t, err)
	if len(ps) != 1 || len(ps[0].Served) != 2 {
		t.Errorf("providers %+v", ps)
	}

	c, err := s.OpenQuotaCase(ctx, testCase("E-XT-1", day(2)), "system", "")
	must(t, err)
	tech := directory.Catalogue()[0].ID
	link := directory.CaseLink{Case: c.ID, Provider: "SP-1", Technology: tech, Note: "合同节水", LinkedBy: "tok-e", LinkedAt: at}
	wantErr(t, "link of an unknown case", s.LinkQuotaCase(ctx, directory.CaseLink{Case: c.ID + 100, Provider: "SP-1", LinkedBy: "x", LinkedAt: at}), store.ErrNotFound)
	wantErr(t, "link to an unknown provider", s.LinkQuotaCase(ctx, directory.CaseLink{Case: c.ID, Provider: "SP-9", LinkedBy: "x", LinkedAt: at}), store.ErrNotFound)
	wantErr(t, "link to an unknown technology", s.LinkQuotaCase(ctx, directory.CaseLink{Case: c.ID, Technology: "T999", LinkedBy: "x", LinkedAt: at}), store.ErrInvalid)
	if ls, err := s.QuotaCaseLinks(ctx); err != nil || len(ls) != 0 {
		t.Fatalf("refused links stored: %+v %v", ls, err)
	}
	must(t, s.LinkQuotaCase(ctx, link))
	link.Provider = ""
	link.LinkedAt = at.Add(time.Hour)
	must(t, s.LinkQuotaCase(ctx, link)) // replaces
	ls, err := s.QuotaCaseLinks(ctx, c.ID)
	must(t, err)
	if len(ls) != 1 || ls[0].Provider != "" || ls[0].Technology != tech || !ls[0].LinkedAt.Equal(at.Add(time.Hour)) || ls[0].Note != "合同节水" {
		t.Errorf("links %+v", ls)
	}
	if ls, err := s.QuotaCaseLinks(ctx, c.ID+1); err != nil || len(ls) != 0 {
		t.Errorf("links of another case: %+v %v", ls, err)
	}
}

// testEvaluationAnswers: answers kept in order, stored all or nothing.
func testEvaluationAnswers(t *testing.T, st store.Store) {
	s, ok := st.(answersStore)
	if !ok {
		t.Fatal("the store does not implement store.EvaluationAnswers")
	}
	ctx := context.Background()
	fixture(t, s)
	ans := func(ent, req string, met bool, at time.Time) evaluate.Answer {
		return evaluate.Answer{Enterprise: ent, Requirement: req, Met: met, Note: "见台账", AnsweredBy: "tok-e", AnsweredAt: at}
	}
	for what, batch := range map[string][]evaluate.Answer{
		"unknown enterprise":  {ans("E-XT-1", "within_plan", true, day(1)), ans("E-NONE", "within_plan", true, day(1))},
		"metered requirement": {ans("E-XT-1", "within_plan", true, day(1)), ans("E-XT-1", "metering", true, day(1))},
		"unknown requirement": {ans("E-XT-1", "no_such", true, day(1))},
		"no one answered":     {{Enterprise: "E-XT-1", Requirement: "within_plan", AnsweredAt: day(1)}},
	} {
		if _, err := s.AddEvaluationAnswers(ctx, batch); err == nil {
			t.Errorf("%s: stored", what)
		}
	}
	if as, err := s.EvaluationAnswers(ctx, "E-XT-1"); err != nil || len(as) != 0 {
		t.Fatalf("refused batches stored: %+v %v", as, err)
	}
	ids, err := s.AddEvaluationAnswers(ctx, []evaluate.Answer{ans("E-XT-1", "within_plan", true, day(1)), ans("E-XT-1", "within_plan", false, day(2)), ans("E-XT-2", "no_obsolete", true, day(1))})
	must(t, err)
	if len(ids) != 3 || ids[0] >= ids[1] {
		t.Fatalf("ids %v", ids)
	}
	as, err := s.EvaluationAnswers(ctx, "E-XT-1")
	must(t, err)
	if len(as) != 2 || as[0].ID != ids[0] || !as[0].Met || as[1].Met || !as[1].AnsweredAt.Equal(day(2)) || as[1].AnsweredBy != "tok-e" || as[1].Note != "见台账" {
		t.Errorf("answers %+v", as)
	}
	if d := evaluate.Declared(as); d["within_plan"] {
		t.Error("the later answer is the one that counts")
	}
}
