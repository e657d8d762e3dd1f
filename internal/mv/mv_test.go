package mv_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/contract"
	et "github.com/shuixiao/shuixiao/internal/efficiency/efficiencytest"
	"github.com/shuixiao/shuixiao/internal/mv"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/savings"
)

const product = "机织印染布" // a plan product, output in 100m

// The worked example, computable by hand: twelve baseline months of 2024
// whose intake is 2000 + 3·output plus residuals ±10 orthogonal to the
// intercept and the output column, so the fit is exactly (2000, 3) with
// SSE = 800; the retrofit lowers the intake by 10 % from 2025.
var (
	baseOutput = []float64{100, 120, 140, 160, 180, 200, 100, 120, 140, 160, 180, 200}
	residual   = []float64{10, -10, -10, 10, 0, 0, -10, 10, 10, -10, 0, 0}
	repOutput  = []float64{150, 150, 150, 130, 170, 150} // 2025-01 … 2025-06
)

func month(y, m int) time.Time { return et.Day(y, time.Month(m), 1) }

// monthIntake is the metered intake of the month starting at t.
func monthIntake(t time.Time) float64 {
	l := t.In(et.Zone)
	if l.Year() == 2024 {
		i := int(l.Month()) - 1
		return 2000 + 3*baseOutput[i] + residual[i]
	}
	i := int(l.Month()) - 1
	return 0.9 * (2000 + 3*repOutput[i])
}

type fixture struct {
	st  *sqlite.Store
	svc *mv.Service
	now time.Time
}

func setup(t testing.TB, months int) fixture {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"), sqlite.Options{ManualCompaction: true, Location: et.Zone})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pts := []meter.Point{
		et.Point("E", "IN", meter.Level1, meter.StageIntake, meter.SourceGround, ""),
		et.Point("E", "USE", meter.Level2, meter.StageUse, "", "IN"),
	}
	et.Register(t, st, meter.Enterprise{ID: "E", Name: "印染厂", Park: "PK", Region: "430300", Industry: "1713"}, pts)
	f := et.Feeder{St: st}
	from, to := month(2024, 1), month(2024, 1).AddDate(0, months, 0)
	f.Feed(t, []string{"IN", "USE"}, from, to, time.Hour, func(p string, at time.Time) float64 {
		l := at.In(et.Zone)
		start := time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, et.Zone)
		v := monthIntake(start) / start.AddDate(0, 1, 0).Sub(start).Hours()
		if p == "USE" {
			return v / 2
		}
		return v
	})
	var recs []production.Record
	for i := range months {
		m := month(2024, 1).AddDate(0, i, 0)
		out := baseOutput[min(i, 11)]
		if i >= 12 {
			out = repOutput[i-12]
		}
		recs = append(recs, production.Record{Enterprise: "E", Kind: production.Output, Product: product, Quantity: out, Unit: "100m",
			From: m, To: m.AddDate(0, 1, 0), ReportedBy: "tok", ReportedAt: time.Now()})
	}
	if _, err := st.AddProduction(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	now := month(2025, 8)
	svc := &mv.Service{Store: st, Now: func() time.Time { return now },
		Checkpoint: func(ctx context.Context) (contract.Checkpoint, error) {
			n, err := st.LedgerSize(ctx)
			return contract.Checkpoint{Size: n, Root: strings.Repeat("0f", 32)}, err
		}}
	return fixture{st: st, svc: svc, now: now}
}

func wholeFacility(id string) contract.Contract {
	return contract.Contract{ID: id, Name: "印染节水改造", Enterprise: "E", ServiceCompany: "湘江节水服务公司",
		Option: contract.WholeFacility, Granularity: contract.Monthly,
		Baseline:            contract.Span{From: month(2024, 1), To: month(2025, 1)},
		Reporting:           []contract.Span{{From: month(2025, 1), To: month(2025, 4)}, {From: month(2025, 4), To: month(2025, 7)}},
		Drivers:             []contract.Driver{{Name: "production", Kind: contract.OutputDriver, Product: product, Unit: "100m"}},
		ServiceCompanyShare: 0.7}
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// TestStatementWorkedExample: the statement of the hand-computed example,
// from readings through a real store.
func TestStatementWorkedExample(t *testing.T) {
	ctx := context.Background()
	fx := setup(t, 18)
	c, err := fx.svc.CreateContract(ctx, wholeFacility("C-1"), "admin")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != contract.Active || c.CreatedBy != "admin" {
		t.Fatalf("created %+v", c)
	}
	r, err := fx.svc.Issue(ctx, "C-1", 0, nil, "admin")
	if err != nil {
		t.Fatal(err)
	}
	// By hand: ȳ = 2000 + 3·150 = 2450; CV = √(800/10)/2450; routine
	// baseline 3 × 2450 = 7350; reporting 0.9 × 7350 = 6615; savings 735;
	// U = t(0.95, 10) · 1.26 · CV · √((1 + 2/12)/3) · 7350.
	cv := math.Sqrt(80) / 2450
	u := 1.812461 * 1.26 * cv * math.Sqrt((1+2.0/12)/3) * 7350
	s := r.Statement
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"intercept", r.Model["intercept"], 2000}, {"production", r.Model["production"], 3},
		{"cv_rmse", r.CVRMSE, cv}, {"nmbe", r.NMBE, 0}, {"adjusted baseline", s.AdjustedBaselineM3, 7350},
		{"reporting", s.ReportingM3, 6615}, {"savings", s.SavingsM3, 735}, {"uncertainty", s.UncertaintyM3, u},
		{"service company", r.ServiceCompanyM3, 0.7 * 735}, {"baseline 2024-01", r.Baseline[0].IntakeM3, 2310},
		{"model 2024-01", r.Baseline[0].ModelM3, 2300},
	} {
		if !near(c.got, c.want, 1e-6) {
			t.Errorf("%s = %.9g, want %.9g", c.name, c.got, c.want)
		}
	}
	if !s.MeetsGuideline14 || !s.Verifiable() || s.Issuable() != math.Floor(735-u) {
		t.Errorf("statement %+v: want verifiable, issuable floor(735 − %.3f)", s, u)
	}
	if s.CheckpointSize != r.LedgerSize || s.CheckpointSize == 0 || s.Contract != "C-1" || !s.From.Equal(month(2025, 1)) {
		t.Errorf("statement %+v, ledger size %d", s, r.LedgerSize)
	}
	if len(r.Points) != 1 || r.Points[0] != "IN" {
		t.Errorf("option C boundary %v, want the intake point IN only", r.Points)
	}
	if err := s.CheckSeal(); err != nil || !strings.HasPrefix(s.ID, "mvs-") {
		t.Errorf("seal: %v (%s)", err, s.ID)
	}
	got, err := fx.svc.Statement(ctx, s.ID)
	if err != nil || got != s {
		t.Fatalf("stored statement %+v, %v", got, err)
	}
	// Agrees with package savings on the same table.
	b := savings.Table{Name: "b", Drivers: []string{"production"}, Granularity: savings.Monthly}
	for i, p := range r.Baseline {
		b.Periods = append(b.Periods, savings.Period{Label: p.Label, Start: time.Date(2024, time.Month(i+1), 1, 0, 0, 0, 0, time.UTC), Intake: p.IntakeM3, Drivers: []float64{baseOutput[i]}})
	}
	m, err := savings.Fit(b)
	if err != nil || !near(m.CVRMSE, r.CVRMSE, 1e-12) {
		t.Errorf("savings.Fit CV %v (%v), statement %v", m.CVRMSE, err, r.CVRMSE)
	}

	// The second period, with a non-routine adjustment and its reason.
	adj := []contract.Adjustment{{Period: "2025-05", M3: 120, Reason: "新增染色线 / new dyeing line"}}
	r2, err := fx.svc.Issue(ctx, "C-1", 1, adj, "auditor-1")
	if err != nil {
		t.Fatal(err)
	}
	routine := 3 * 2000.0
	for _, o := range repOutput[3:] {
		routine += 3 * o
	}
	if !near(r2.RoutineM3, routine, 1e-9) || !near(r2.Statement.AdjustedBaselineM3, routine+120, 1e-9) ||
		!near(r2.Statement.SavingsM3, routine+120-0.9*routine, 1e-6) {
		t.Errorf("second statement: routine %g adjusted %g savings %g; want %g, %g, %g", r2.RoutineM3, r2.Statement.AdjustedBaselineM3,
			r2.Statement.SavingsM3, routine, routine+120, routine+120-0.9*routine)
	}
	if len(r2.Adjustments) != 1 || r2.Adjustments[0].By != "auditor-1" || r2.Reporting[1].Adjusted != 120 {
		t.Errorf("adjustments %+v", r2.Adjustments)
	}
	// One statement per period.
	if _, err := fx.svc.Issue(ctx, "C-1", 0, nil, "admin"); !errors.Is(err, store.ErrExists) {
		t.Errorf("second statement of period 1: %v, want ErrExists", err)
	}
}

// TestRefusals: every refusal gives its reason and writes nothing.
func TestRefusals(t *testing.T) {
	ctx := context.Background()
	fx := setup(t, 17) // production and readings end 2025-06-01
	refused := func(name string, err error, want ...string) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: accepted", name)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v, want it to say %q", name, err, w)
			}
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := fx.svc.CreateContract(ctx, wholeFacility("C-1"), "admin")
	must(err)
	// Drivers (and data) missing in the second reporting period.
	_, err = fx.svc.Issue(ctx, "C-1", 1, nil, "admin")
	refused("drivers missing", err, "driver production missing in period 2025-06")
	if !errors.Is(err, mv.ErrRefused) {
		t.Errorf("drivers missing: %v, want mv.ErrRefused", err)
	}
	// Overlapping contracts.
	b := wholeFacility("C-2")
	b.Option, b.Points = contract.RetrofitIsolation, []string{"USE"}
	_, err = fx.svc.CreateContract(ctx, b, "admin")
	refused("overlapping contract", err, "C-2", "C-1", "option C")
	if !errors.Is(err, contract.ErrOverlap) {
		t.Errorf("overlap: %v", err)
	}
	// A retrofit point that is not the enterprise's.
	b.ID, b.Points = "C-3", []string{"NOPE"}
	b.Baseline, b.Reporting = contract.Span{From: month(2022, 1), To: month(2022, 3)}, []contract.Span{{From: month(2022, 3), To: month(2022, 4)}}
	_, err = fx.svc.CreateContract(ctx, b, "admin")
	refused("unknown point", err, "NOPE")
	// Too few periods: two baseline months for two parameters.
	short := wholeFacility("C-4")
	short.Baseline = contract.Span{From: month(2024, 1), To: month(2024, 3)}
	short.Reporting = []contract.Span{{From: month(2024, 3), To: month(2024, 4)}}
	fx4 := setup(t, 4)
	_, err = fx4.svc.CreateContract(ctx, short, "admin")
	must(err)
	_, err = fx4.svc.Issue(ctx, "C-4", 0, nil, "admin")
	refused("too few periods", err, "2 periods", "at least 3")
	// A singular design: a driver that is constant over the baseline.
	sing := wholeFacility("C-5")
	sing.Baseline = contract.Span{From: month(2024, 1), To: month(2024, 6)}
	sing.Reporting = []contract.Span{{From: month(2024, 6), To: month(2024, 7)}}
	sing.Drivers = append(sing.Drivers, contract.Driver{Name: "cdd", Kind: contract.DeclaredDriver})
	for m := 1; m <= 6; m++ { // 30 every month: constant
		sing.Declared = append(sing.Declared, contract.DeclaredValue{Driver: "cdd", From: month(2024, m), To: month(2024, m+1), Value: 30, Source: "test"})
	}
	fx5 := setup(t, 7)
	_, err = fx5.svc.CreateContract(ctx, sing, "admin")
	must(err)
	_, err = fx5.svc.Issue(ctx, "C-5", 0, nil, "admin")
	refused("singular design", err, "singular", "cdd")
	// A reporting period not over.
	fx.svc.Now = func() time.Time { return month(2025, 3) }
	_, err = fx.svc.Issue(ctx, "C-1", 0, nil, "admin")
	refused("period not over", err, "not over")
	// An adjustment without reason.
	fx.svc.Now = func() time.Time { return fx.now }
	_, err = fx.svc.Issue(ctx, "C-1", 0, []contract.Adjustment{{Period: "2025-02", M3: 5}}, "admin")
	refused("adjustment without reason", err, "reason")
	for _, x := range []struct {
		st *sqlite.Store
		id string
	}{{fx.st, "C-1"}, {fx4.st, "C-4"}, {fx5.st, "C-5"}} {
		if rs, err := x.st.StatementRecords(ctx, x.id); err != nil || len(rs) != 0 {
			t.Errorf("%s: %d statements written by refusals (%v)", x.id, len(rs), err)
		}
	}
}

// TestRetrofitIsolation: an option B contract meters its retrofit's point
// only (USE takes half of the intake in the fixture): the fit and the
// savings halve.
func TestRetrofitIsolation(t *testing.T) {
	ctx := context.Background()
	fx := setup(t, 18)
	c := wholeFacility("C-B")
	c.Option, c.Points = contract.RetrofitIsolation, []string{"USE"}
	if _, err := fx.svc.CreateContract(ctx, c, "admin"); err != nil {
		t.Fatal(err)
	}
	r, err := fx.svc.Issue(ctx, "C-B", 0, nil, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if !near(r.Model["intercept"], 1000, 1e-6) || !near(r.Model["production"], 1.5, 1e-6) || !near(r.Statement.SavingsM3, 367.5, 1e-6) ||
		len(r.Points) != 1 || r.Points[0] != "USE" {
		t.Fatalf("option B: model %v savings %g points %v; want (1000, 1.5), 367.5, [USE]", r.Model, r.Statement.SavingsM3, r.Points)
	}
	// A point of another enterprise, or without volume, is refused.
	c.ID, c.Points = "C-B2", []string{"IN", "NOPE"}
	c.Baseline, c.Reporting = contract.Span{From: month(2022, 1), To: month(2022, 4)}, []contract.Span{{From: month(2022, 4), To: month(2022, 5)}}
	if _, err := fx.svc.CreateContract(ctx, c, "admin"); err == nil || !strings.Contains(err.Error(), "NOPE") {
		t.Fatalf("unknown point: %v", err)
	}
}

// TestReads checks the reads the API serves through the service: a
// contract, the contracts of some enterprises, a contract's statements in
// period order (empty, not nil, before any) and a statement's record.
func TestReads(t *testing.T) {
	ctx := context.Background()
	fx := setup(t, 18)
	if _, err := fx.svc.CreateContract(ctx, wholeFacility("C-1"), "admin"); err != nil {
		t.Fatal(err)
	}
	if sts, err := fx.svc.Statements(ctx, "C-1"); err != nil || sts == nil || len(sts) != 0 {
		t.Fatalf("statements before any: %#v, %v", sts, err)
	}
	var ids []string
	for _, k := range []int{1, 0} {
		r, err := fx.svc.Issue(ctx, "C-1", k, nil, "admin")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.Statement.ID)
	}
	sts, err := fx.svc.Statements(ctx, "C-1")
	if err != nil || len(sts) != 2 || sts[0].ID != ids[1] || sts[1].ID != ids[0] {
		t.Fatalf("statements %+v, %v; issued %v", sts, err, ids)
	}
	rec, err := fx.svc.Record(ctx, ids[0])
	if err != nil || rec.Statement.ID != ids[0] || rec.Statement.Contract != "C-1" {
		t.Fatalf("record %+v, %v", rec.Statement, err)
	}
	if _, err := fx.svc.Record(ctx, "mvs-none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown statement: %v", err)
	}
	if c, err := fx.svc.Contract(ctx, "C-1"); err != nil || c.Enterprise != "E" {
		t.Fatalf("contract %+v, %v", c, err)
	}
	if _, err := fx.svc.Contract(ctx, "C-9"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown contract: %v", err)
	}
	for _, tc := range []struct {
		ents []string
		want int
	}{{nil, 1}, {[]string{"E"}, 1}, {[]string{"X"}, 0}} {
		if cs, err := fx.svc.Contracts(ctx, tc.ents); err != nil || len(cs) != tc.want {
			t.Fatalf("contracts of %v: %+v, %v", tc.ents, cs, err)
		}
	}
}
