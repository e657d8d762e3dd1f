package rollup

import (
	"context"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/evaluate"
	"github.com/shuixiao/shuixiao/internal/efficiency"
	"github.com/shuixiao/shuixiao/internal/periodvol"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/aggregate"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/target"
)

// The test province: 8 enterprises of 6 points metered 2026-01-02 to
// 01-04 (192 steps of 15 minutes; early in the year, so that the year's
// hourly grid to now is short), declared statistics as testProvince says.
var (
	metFrom = time.Date(2026, 1, 2, 0, 0, 0, 0, production.Zone)
	metNow  = time.Date(2026, 1, 4, 0, 0, 0, 0, production.Zone)
)

func testProvince(t *testing.T, compact bool, declared ...int) *sqlite.Store {
	if declared == nil {
		declared = []int{2020, 2022, 2023, 2024, 2025}
	}
	return buildProvince(t, provinceConfig{Enterprises: 8, Points: 6, From: metFrom, Steps: 192, Step: 15 * time.Minute,
		Compact: compact, Declared: declared, ValueAdded: 10})
}

// allDeclared are the years before 2026: only 2026 is read from the meters.
var allDeclared = []int{2020, 2021, 2022, 2023, 2024, 2025}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestComputeProvince(t *testing.T) {
	ctx := context.Background()
	st := testProvince(t, false)
	snap, err := Compute(ctx, st, 2026, metNow, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// 2021 is neither declared nor metered: it is not read (its meters'
	// first readings are in 2026), only 2026 is.
	if len(snap.Enterprises) != 8 || snap.Series != 8*6 {
		t.Fatalf("%d enterprises, %d series", len(snap.Enterprises), snap.Series)
	}
	for id := range snap.Enterprises {
		f, ok := snap.Figures[2026][id]
		// The window leaves out the first hour (the data's first bucket is
		// not the year's): 188 steps of intake 3, non-conventional 2, reuse
		// 2 m³; value added 310 万元 for January counted for 47 of its 744 hours.
		if !ok || f.Basis != target.Metered || !near(f.Intake.Value, 188*intakePerStep) || !near(f.NonConventional.Value, 188*ncPerStep) ||
			!near(f.Reuse.Value, 188*reusePerStep) || !f.ValueAdded.OK || !near(f.ValueAdded.Value, 310*47.0/744) || len(f.Output) != 1 {
			t.Errorf("%s 2026: %+v", id, f)
		}
		d := snap.Figures[2020][id]
		if d.Basis != target.Declared || !d.Intake.OK || !near(d.Intake.Value/d.ValueAdded.Value, 50) {
			t.Errorf("%s 2020: %+v", id, d)
		}
		if f, ok := snap.Figures[2021][id]; ok {
			t.Errorf("%s 2021 has neither declared nor metered data: %+v", id, f)
		}
	}
	// The province: 2020 at 50 m³/万元, target 42 (−16 %), 2026 expected at
	// the target; metered 564 m³ on 19.58 万元 = 28.8.
	svc := &Service{Src: st, Now: func() time.Time { return metNow }}
	if _, err := svc.Snapshot(ctx, 2026); err != nil {
		t.Fatal(err)
	}
	tg, err := svc.Targets(target.LevelProvince, "", 2026, false)
	if err != nil {
		t.Fatal(err)
	}
	in := indicator(t, tg.Indicators, target.KeyIntensity)
	if math.Abs(*in.Value-28.8) > 1e-3 || // value added is summed to 10 CNY
		*in.Baseline2020 != 50 || *in.Target2025 != 42 || *in.Expected != 42 || !*in.OnTrack ||
		in.Basis != target.Metered || in.Coverage.WithData != 8 || in.Coverage.Enterprises != 8 {
		t.Errorf("intensity %+v", in)
	}
	// Reuse: the 6 above-scale enterprises (E00002 and E00005 are not).
	if re := indicator(t, tg.Indicators, target.KeyReuse); re.Value == nil || !near(*re.Value, 0.4) || *re.OnTrack || re.Coverage.Enterprises != 6 || re.Coverage.WithData != 6 {
		t.Errorf("reuse %+v", re)
	}
	// Non-conventional: the 6 park enterprises (E00000 and E00004 are outside).
	if nc := indicator(t, tg.Indicators, target.KeyNonConventional); !near(*nc.Value, 2.0/3) || nc.Coverage.Enterprises != 6 {
		t.Errorf("non-conventional %+v", nc)
	}
	if st := indicator(t, tg.Indicators, target.ProductKey("粗钢")); math.Abs(*st.Value-2.88) > 1e-4 || *st.Baseline2020 != 3.5 {
		t.Errorf("粗钢 %+v", st)
	}
	var years []int
	for _, p := range tg.Trajectory {
		if p.Key == target.KeyIntensity && p.Value != nil {
			years = append(years, p.Year)
		}
	}
	if len(years) != 6 || years[0] != 2020 || years[1] != 2022 || years[5] != 2026 {
		t.Errorf("years with a value: %v", years)
	}
	if _, err := svc.Targets(target.LevelPark, "PK99", 2026, false); err == nil || !strings.Contains(err.Error(), "PK99") {
		t.Errorf("unknown park: %v", err)
	}
}

func indicator(t *testing.T, inds []target.Indicator, key string) target.Indicator {
	t.Helper()
	for _, i := range inds {
		if i.Key == key {
			return i
		}
	}
	t.Fatalf("no %s", key)
	return target.Indicator{}
}

// TestSameAsSingleEnterprise: the bulk figures, in any batching and before
// or after compaction, are those of one enterprise's balance read through
// periodvol over the metered window (01-02 01:00 to 01-04: the data's first
// hour is not the year's first, so it is left out as partial).
func TestSameAsSingleEnterprise(t *testing.T) {
	ctx := context.Background()
	st := testProvince(t, false, allDeclared...)
	base, err := Compute(ctx, st, 2026, metNow, Options{})
	if err != nil {
		t.Fatal(err)
	}
	small, err := Compute(ctx, st, 2026, metNow, Options{BatchBuckets: 1, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	compacted, err := Compute(ctx, st, 2026, metNow, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for id, f := range base.Figures[2026] {
		for _, other := range []*Snapshot{small, compacted} {
			g := other.Figures[2026][id]
			if g.Intake != f.Intake || g.Reuse != f.Reuse || g.NonConventional != f.NonConventional || g.ValueAdded != f.ValueAdded {
				t.Errorf("%s: %+v vs %+v", id, g, f)
			}
		}
		pts, err := st.Points(ctx, store.Filter{Enterprise: id})
		if err != nil {
			t.Fatal(err)
		}
		vol, _, err := periodvol.Volumes(ctx, st, pts, metFrom.Add(time.Hour), metNow, production.Zone)
		if err != nil {
			t.Fatal(err)
		}
		rep := balance.Evaluate(pts, vol, balance.Options{Settings: balance.DefaultSettings()})
		if rep.Intake.Value != f.Intake.Value || rep.Reuse.Value != f.Reuse.Value || !rep.Intake.OK {
			t.Errorf("%s: periodvol intake %v reuse %v, roll-up %v %v", id, rep.Intake.Value, rep.Reuse.Value, f.Intake.Value, f.Reuse.Value)
		}
	}
	svc := &Service{Src: st, Now: func() time.Time { return metNow }}
	ev, err := svc.Evaluate(ctx, "E00000", 2026)
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Metered || !ev.From.Equal(metFrom.Add(time.Hour)) || !ev.To.Equal(metNow) || ev.Result.Industry != "3120" {
		t.Errorf("evaluation window %v–%v metered %v", ev.From, ev.To, ev.Metered)
	}
	// A stored answer decides its declared requirement.
	if it := requirement(t, ev.Result.Requirements, "within_plan"); it.Status != evaluate.Unknown || it.Answer != nil {
		t.Errorf("within_plan before an answer: %+v", it)
	}
	if _, err := st.AddEvaluationAnswers(ctx, []evaluate.Answer{{Enterprise: "E00000", Requirement: "within_plan", Met: true, AnsweredBy: "tok-e", AnsweredAt: metNow}}); err != nil {
		t.Fatal(err)
	}
	if ev, err = svc.Evaluate(ctx, "E00000", 2026); err != nil {
		t.Fatal(err)
	}
	if it := requirement(t, ev.Result.Requirements, "within_plan"); it.Status != evaluate.Pass || it.Answer == nil || it.Answer.AnsweredBy != "tok-e" {
		t.Errorf("within_plan after the answer: %+v", it)
	}
	ev, err = svc.Evaluate(ctx, "E00000", 2022)
	if err != nil || ev.Metered || !strings.Contains(ev.Note, "no metered data") || ev.Result.Outcome == "passed" {
		t.Errorf("2022: %+v %v", ev, err)
	}
	if _, err := svc.Evaluate(ctx, "nope", 2026); err == nil {
		t.Error("unknown enterprise evaluated")
	}
	if _, err := svc.Snapshot(ctx, 2026); err != nil { // Benchmark does not wait for it
		t.Fatal(err)
	}
	bm, err := svc.Benchmark(ctx, "3120", "粗钢", 2026)
	if err != nil {
		t.Fatal(err)
	}
	// Four steel works at 564 m³ / 195.8 t: all tied first, at the 50th
	// percentile; under the 2025 target 3.15 but their reuse rate (0.4) is
	// below steel's threshold, so none is a candidate.
	if len(bm.Ranked) != 4 || bm.Bar == nil || bm.Bar.Limit != 3.15 {
		t.Fatalf("benchmark %+v", bm)
	}
	for _, r := range bm.Ranked {
		if r.Rank != 1 || r.Percentile != 50 || !near(r.Value, 564/(100*47.0/24)) || r.Leader || !strings.Contains(r.Why, "evaluation") || r.Evaluation != "failed" {
			t.Errorf("ranked %+v", r)
		}
	}
	if _, err := svc.Benchmark(ctx, "3120", "黄金", 2026); err == nil {
		t.Error("unknown product benchmarked")
	}
}

// countingSource counts consumption queries.
type countingSource struct {
	*sqlite.Store
	n atomic.Int64
}

func (c *countingSource) Consumption(ctx context.Context, q store.ConsumptionQuery) ([]store.SeriesBuckets, error) {
	c.n.Add(1)
	return c.Store.Consumption(ctx, q)
}

func TestServiceCache(t *testing.T) {
	ctx := context.Background()
	src := &countingSource{Store: testProvince(t, true, allDeclared...)}
	var now atomic.Pointer[time.Time]
	at := metNow
	now.Store(&at)
	svc := &Service{Src: src, MaxAge: time.Minute, Now: func() time.Time { return *now.Load() }}
	a, err := svc.Snapshot(ctx, 2026)
	if err != nil {
		t.Fatal(err)
	}
	queries := src.n.Load()
	if b, _ := svc.Snapshot(ctx, 2026); b != a || src.n.Load() != queries {
		t.Error("a fresh snapshot is answered from the cache")
	}
	later := metNow.Add(2 * time.Minute)
	now.Store(&later)
	if b, _ := svc.Snapshot(ctx, 2026); b != a {
		t.Error("a stale snapshot is answered while the next is computed")
	}
	svc.Wait()
	c, _ := svc.Snapshot(ctx, 2026)
	if c == a || !c.Computed.Equal(later) || src.n.Load() == queries {
		t.Errorf("no new snapshot after the stale one: computed %v", c.Computed)
	}
	d, err := refresh(t, ctx, svc, 2026)
	if err != nil || d == c {
		t.Errorf("refresh: %v", err)
	}
	// Invalidated: answered stale once, then renewed.
	svc.Invalidate()
	if e, _ := svc.Snapshot(ctx, 2026); e != d {
		t.Error("an invalidated snapshot is answered while the next is computed")
	}
	svc.Wait()
	if e, _ := svc.Snapshot(ctx, 2026); e == d {
		t.Error("no new snapshot after Invalidate")
	}
}

// TestMeteredWindow: the window runs over the valid buckets less the
// partial first and last (those not at the period's edges), capped at the
// period's end, and value added counts for the hours of the window.
func TestMeteredWindow(t *testing.T) {
	pts := enterprisePoints("E", 5)
	day := time.Date(2026, 5, 4, 0, 0, 0, 0, production.Zone)
	var sbs []store.SeriesBuckets
	for _, p := range pts {
		sb := store.SeriesBuckets{Series: store.Series{Point: p.ID, Channel: "total_m3"}}
		for h := 0; h < 24; h++ {
			// Meters from noon; the last bucket (18:00) is after the end.
			sb.Buckets = append(sb.Buckets, store.Bucket{Start: day.Add(time.Duration(h) * time.Hour), Value: 1, Valid: h >= 12 && h <= 18})
		}
		sbs = append(sbs, sb)
	}
	recs := []production.Record{{Enterprise: "E", Kind: production.ValueAdded, Quantity: 24, Unit: production.UnitValueAdded, From: day, To: day.AddDate(0, 0, 1)},
		{Enterprise: "E", Kind: production.Output, Product: "粗钢", Quantity: 48, Unit: "t", From: day, To: day.AddDate(0, 0, 1)}}
	end := day.Add(18 * time.Hour)
	m, ok := EnterpriseMetered(pts, totalsOf(sbs), recs, end, Options{})
	if !ok || !m.From.Equal(day.Add(13*time.Hour)) || !m.To.Equal(end) {
		t.Fatalf("window %v–%v", m.From, m.To)
	}
	// Five hours (13:00–18:00) of 1 m³ at each of the two intake points;
	// 5/24 of the day's value added and output.
	if !m.Report.Intake.OK || m.Report.Intake.Value != 10 || m.ValueAdded.Value != 5 || m.Output["粗钢"] != 10 || m.Coverage[pts[0].ID] != 1 {
		t.Errorf("intake %+v, value added %+v, output %v, coverage %v", m.Report.Intake, m.ValueAdded, m.Output, m.Coverage)
	}
	if _, ok := EnterpriseMetered(pts, nil, recs, end, Options{}); ok {
		t.Error("no buckets, no metered figures")
	}
	// Two valid hours, both partial: nothing left.
	for i := range sbs {
		for j := range sbs[i].Buckets {
			sbs[i].Buckets[j].Valid = j == 12 || j == 13
		}
	}
	if m, ok := EnterpriseMetered(pts, totalsOf(sbs), recs, end, Options{}); ok {
		t.Errorf("two partial hours give a window %v–%v", m.From, m.To)
	}
	// Data from the period's first bucket to its last: all of it counts.
	for i := range sbs {
		for j := range sbs[i].Buckets {
			sbs[i].Buckets[j].Valid = true
		}
	}
	if m, ok := EnterpriseMetered(pts, totalsOf(sbs), recs, day.AddDate(0, 0, 1), Options{}); !ok || !m.From.Equal(day) || !m.To.Equal(day.AddDate(0, 0, 1)) || m.ValueAdded.Value != 24 {
		t.Errorf("whole day: %v–%v %+v", m.From, m.To, m.ValueAdded)
	}
}

// TestSameAsEnterpriseBalance: over the metered window, the roll-up's
// figures are those of efficiency.EnterpriseBalance, the one function that
// makes an enterprise's period balance for the balance route.
func TestSameAsEnterpriseBalance(t *testing.T) {
	ctx := context.Background()
	st := testProvince(t, true, allDeclared...)
	opts := Options{}.withDefaults()
	pts, err := st.Points(ctx, store.Filter{Enterprise: "E00003"})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := st.ProductionRecords(ctx, production.Filter{Enterprises: []string{"E00003"}})
	if err != nil {
		t.Fatal(err)
	}
	var m Metered
	from, to := yearBounds(2026, metNow, opts.Location)
	if _, err := MeteredAll(ctx, st, []string{"E00003"}, map[string][]meter.Point{"E00003": pts},
		map[string][]production.Record{"E00003": recs}, from, to, opts, func(_ string, x Metered) { m = x }); err != nil {
		t.Fatal(err)
	}
	res, err := efficiency.EnterpriseBalance(ctx, st, "E00003", m.From, m.To)
	if err != nil {
		t.Fatal(err)
	}
	for name, pair := range map[string][2]balance.Figure{"intake": {m.Report.Intake, res.Report.Intake}, "reuse": {m.Report.Reuse, res.Report.Reuse},
		"non-conventional": {m.Report.NonConventional, res.Report.NonConventional}, "discharge": {m.Report.Discharge, res.Report.Discharge}} {
		if pair[0].Value != pair[1].Value || pair[0].OK != pair[1].OK || !pair[0].OK {
			t.Errorf("%s: roll-up %v, EnterpriseBalance %v", name, pair[0].Value, pair[1].Value)
		}
	}
	if res.ValueAdded == nil || !near(res.ValueAdded.Value, m.ValueAdded.Value) || !near(res.Outputs["啤酒"].Quantity, m.Output["啤酒"]) {
		t.Errorf("value added %+v / output %+v, roll-up %+v / %v", res.ValueAdded, res.Outputs, m.ValueAdded, m.Output)
	}
}

// TestPastYearsReused: a new snapshot reads only this year's meters when a
// past year's metered figures are fresh and for the same enterprises;
// Refresh and Invalidate read them again.
func TestPastYearsReused(t *testing.T) {
	ctx := context.Background()
	// 2021 is read from the meters: the store does not say that it
	// holds no reading then.
	st := hideFirst(testProvince(t, true))
	now := metNow
	svc := &Service{Src: st, MaxAge: time.Minute, Now: func() time.Time { return now }}
	a, err := svc.Snapshot(ctx, 2026)
	if err != nil || a.Series != 2*48 {
		t.Fatalf("first snapshot: %d series, %v", a.Series, err)
	}
	now = metNow.Add(2 * time.Minute)
	svc.Snapshot(ctx, 2026) // stale: a new one in the background
	svc.Wait()
	b, _ := svc.Snapshot(ctx, 2026)
	if b == a || b.Series != 48 || len(b.Figures[2021]) != len(a.Figures[2021]) {
		t.Errorf("second snapshot: %d series (want 48, 2026 only)", b.Series)
	}
	c, err := refresh(t, ctx, svc, 2026)
	if err != nil || c.Series != 2*48 {
		t.Errorf("refresh: %d series, %v", c.Series, err)
	}
}

// refresh asks for a new snapshot of year, as GET /targets?refresh=1 does,
// and waits for it.
func refresh(t *testing.T, ctx context.Context, svc *Service, year int) (*Snapshot, error) {
	t.Helper()
	if _, _, err := svc.Current(year, true); err == nil {
		t.Error("a refresh is answered with the snapshot it replaces")
	}
	svc.Wait()
	return svc.Snapshot(ctx, year)
}

func requirement(t *testing.T, items []evaluate.Item, id string) evaluate.Item {
	t.Helper()
	for _, it := range items {
		if it.ID == id {
			return it
		}
	}
	t.Fatalf("no requirement %s", id)
	return evaluate.Item{}
}

// totalsOf turns hour buckets into the totals periodvol.Read returns
// without pre-totals.
func totalsOf(sbs []store.SeriesBuckets) []store.SeriesTotals {
	out := make([]store.SeriesTotals, len(sbs))
	for i, sb := range sbs {
		out[i].Series = sb.Series
		for _, b := range sb.Buckets {
			out[i].Totals = append(out[i].Totals, aggregate.HourTotal(b, b.Start.Add(time.Hour)))
		}
	}
	return out
}

// byEnterprise keeps each enterprise's points in list order, whether they
// come in one run or several, and leaves the list as it was.
func TestByEnterprise(t *testing.T) {
	var pts []meter.Point
	for _, s := range []string{"A1", "A2", "B1", "C1", "A3", "B2", "B3"} {
		pts = append(pts, meter.Point{ID: s, Enterprise: s[:1]})
	}
	orig := slices.Clone(pts)
	got := byEnterprise(pts, map[string]bool{"A": true, "B": true})
	ids := func(ps []meter.Point) string {
		var out []string
		for _, p := range ps {
			out = append(out, p.ID)
		}
		return strings.Join(out, ",")
	}
	if len(got) != 2 || ids(got["A"]) != "A1,A2,A3" || ids(got["B"]) != "B1,B2,B3" {
		t.Errorf("grouped %v", got)
	}
	got["A"] = append(got["A"], meter.Point{ID: "A4"})
	if !reflect.DeepEqual(pts, orig) {
		t.Errorf("list changed: %v", pts)
	}
}
