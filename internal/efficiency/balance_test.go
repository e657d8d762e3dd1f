package efficiency_test

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/efficiency"
	et "github.com/shuixiao/shuixiao/internal/efficiency/efficiencytest"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
)

func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"), sqlite.Options{ManualCompaction: true, Location: et.Zone})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func ids(pts []meter.Point) []string {
	out := make([]string, len(pts))
	for i, p := range pts {
		out[i] = p.ID
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func add(t *testing.T, st *sqlite.Store, recs ...production.Record) {
	t.Helper()
	for i := range recs {
		recs[i].ReportedBy, recs[i].ReportedAt = "tok", time.Now()
	}
	if _, err := st.AddProduction(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

// TestEnterpriseBalanceWorkedExample: the worked example of
// reference/standards.md §1.4 metered by real readings through the store,
// with a monthly output record prorated to the day and a day's value added:
// the same figures as balance.Evaluate on the volumes, intake per unit
// graded against the quota, and the JSON keys of RESULT.json.
func TestEnterpriseBalanceWorkedExample(t *testing.T) {
	st := openStore(t)
	pts, vol := et.WorkedExample("E")
	et.Register(t, st, meter.Enterprise{ID: "E", Name: "印染厂", Park: "PK", Region: "430302", Industry: "1713"}, pts)
	day := et.Day(2026, 11, 5)
	f := &et.Feeder{St: st}
	f.Feed(t, ids(pts), day.Add(-2*time.Hour), day.AddDate(0, 0, 1).Add(2*time.Hour), time.Hour, func(p string, _ time.Time) float64 { return vol[p] / 24 })
	// 15,000 × 100 m over November: 500 on the day, 2.0 m³/100 m (grade 3 limit 1.6: over).
	add(t, st,
		production.Record{Enterprise: "E", Kind: production.Output, Product: "机织印染布", Quantity: 15000, Unit: "100m", From: et.Day(2026, 11, 1), To: et.Day(2026, 12, 1)},
		production.Record{Enterprise: "E", Kind: production.ValueAdded, Quantity: 50, Unit: "10k CNY", From: day, To: day.AddDate(0, 0, 1)},
		production.Record{Enterprise: "E", Kind: production.Intake, Quantity: 365000, Unit: "m3", From: et.Day(2020, 1, 1), To: et.Day(2021, 1, 1)},
	)
	res, err := efficiency.EnterpriseBalance(context.Background(), st, "E", day, day.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	r := res.Report
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"Vi", r.Intake.Value, 1000}, {"Vn", r.NonConventional.Value, 100}, {"Vr", r.Reuse.Value, 19000},
		{"Vd", r.Discharge.Value, 300}, {"Vl", r.Leakage.Value, 20}, {"Vco", r.Consumption.Value, 680},
		{"R", r.ReuseRate.Value, 0.95}, {"Kn", r.NonConventionalRate.Value, 0.1}, {"e", r.BalanceError.Value, 0},
		{"per 10k CNY", r.IntakePer10kCNY.Value, 20},
	} {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	for id, c := range res.PointCoverage {
		if c != 1 {
			t.Errorf("coverage of %s = %v", id, c)
		}
	}
	out := res.Outputs["机织印染布"]
	if !near(out.Quantity, 500) || out.Coverage != 1 || !out.Prorated {
		t.Errorf("output %+v", out)
	}
	g := res.Grades()
	if len(g) != 1 || !g[0].OK || !near(g[0].Value, 2) || g[0].Grade != "over" || g[0].Limit != 1.6 || g[0].LowerBound {
		t.Errorf("grade %+v", g)
	}
	if _, ok := res.Statistics[production.Intake]; ok {
		t.Errorf("a 2020 statistic counted in 2026: %+v", res.Statistics)
	}

	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"intake_m3", "intake_by_source_m3", "non_conventional_m3", "recirculated_m3", "cascaded_m3", "reuse_m3",
		"total_use_m3", "discharge_m3", "reuse_rate", "non_conventional_rate", "discharge_rate", "intake_per_10k_cny", "products",
		"coverage", "basis", "from", "to", "ledger", "sankey", "point_coverage", "value_added"} {
		if _, ok := m[k]; !ok {
			t.Errorf("RESULT.json key %s missing", k)
		}
	}
	if m["from"] != "2026-11-05" || m["to"] != "2026-11-05" {
		t.Errorf("period %v – %v", m["from"], m["to"])
	}
	p := m["products"].(map[string]any)["机织印染布"].(map[string]any)
	if p["quota_grade"] != "over" || p["unit"] != "m3/100m" || p["baseline_2020"] != 1.6 || p["basis"] != "metered/declared" {
		t.Errorf("product entry %v", p)
	}
	if led := m["ledger"].(map[string]any); led["size"].(float64) < 1 {
		t.Errorf("ledger size %v", led)
	}
	if m["basis"].(map[string]any)["intake_m3"] != "metered" || m["value_added"].(map[string]any)["basis"] != "declared" {
		t.Errorf("basis %v / %v", m["basis"], m["value_added"])
	}
}

// TestEnterpriseBalanceGaps: output reported for part of the period gives
// no intake per unit; an intake meter without data for part of the period
// makes the figure a lower bound, graded only when already over quota.
func TestEnterpriseBalanceGaps(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	in := et.Point("P", "P-IN", 1, meter.StageIntake, meter.SourceMunicipal, "")
	et.Register(t, st, meter.Enterprise{ID: "P", Name: "纸厂", Park: "PK", Region: "430302", Industry: "2221"}, []meter.Point{in})
	d1, d3 := et.Day(2026, 11, 1), et.Day(2026, 11, 3)
	f := &et.Feeder{St: st}
	// 20 m³/h for the first day and a half, then the meter falls silent.
	f.Feed(t, []string{in.ID}, d1, d3, time.Hour, func(_ string, at time.Time) float64 {
		if at.Sub(d1) >= 36*time.Hour {
			return -1
		}
		return 20
	})
	add(t, st, production.Record{Enterprise: "P", Kind: production.Output, Product: "未涂布印刷书写纸", Quantity: 40, Unit: "t", From: d1, To: d1.AddDate(0, 0, 1)})

	// Day 1 and 2: output covers only day 1.
	res, err := efficiency.EnterpriseBalance(ctx, st, "P", d1, d3)
	if err != nil {
		t.Fatal(err)
	}
	g := res.Grades()
	if len(g) != 1 || g[0].OK || g[0].Grade != "" || !strings.Contains(g[0].Note, "50.0 %") {
		t.Errorf("half-covered output: %+v", g)
	}
	// Day 1 alone: 480 m³ / 40 t = 12 ≤ 18: grade 3.
	res, _ = efficiency.EnterpriseBalance(ctx, st, "P", d1, d1.AddDate(0, 0, 1))
	if g := res.Grades(); len(g) != 1 || !near(g[0].Value, 12) || g[0].Grade != "3" || g[0].LowerBound {
		t.Errorf("day 1: %+v", g)
	}
	// Day 2 with output 10 t: 12 h metered (240 m³): a lower bound 24 > 18, over.
	add(t, st, production.Record{Enterprise: "P", Kind: production.Output, Product: "未涂布印刷书写纸", Quantity: 10, Unit: "t", From: d1.AddDate(0, 0, 1), To: d3})
	res, _ = efficiency.EnterpriseBalance(ctx, st, "P", d1.AddDate(0, 0, 1), d3)
	if g := res.Grades(); len(g) != 1 || !g[0].LowerBound || !near(g[0].Value, 24) || g[0].Grade != "over" {
		t.Errorf("day 2, lower bound over quota: %+v (coverage %v)", g, res.PointCoverage)
	}
	if c := res.PointCoverage[in.ID]; c != 0.5 {
		t.Errorf("coverage of day 2 = %v, want 0.5", c)
	}
	// A lower bound within the quota is not conclusive: no grade.
	q := et.Point("Q", "Q-IN", 1, meter.StageIntake, meter.SourceMunicipal, "")
	et.Register(t, st, meter.Enterprise{ID: "Q", Name: "纸厂二", Park: "PK", Region: "430302", Industry: "2221"}, []meter.Point{q})
	f.Feed(t, []string{q.ID}, d1, d1.AddDate(0, 0, 1), time.Hour, func(_ string, at time.Time) float64 {
		if at.Sub(d1) >= 12*time.Hour {
			return -1
		}
		return 20
	})
	add(t, st, production.Record{Enterprise: "Q", Kind: production.Output, Product: "未涂布印刷书写纸", Quantity: 100, Unit: "t", From: d1, To: d1.AddDate(0, 0, 1)})
	res, _ = efficiency.EnterpriseBalance(ctx, st, "Q", d1, d1.AddDate(0, 0, 1))
	if g := res.Grades(); len(g) != 1 || !g[0].LowerBound || !near(g[0].Value, 2.4) || g[0].Grade != "" || !strings.Contains(g[0].Note, "lower bound") {
		t.Errorf("lower bound within the quota: %+v", g)
	}
	if _, err := efficiency.EnterpriseBalance(ctx, st, "P", d3, d1); err == nil {
		t.Error("reversed period accepted")
	}
	if _, err := efficiency.EnterpriseBalance(ctx, st, "NOPE", d1, d3); err == nil {
		t.Error("unknown enterprise accepted")
	}
}
