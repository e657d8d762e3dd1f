package evaluate

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/meter"
)

// steelWorks is a hand-made steel enterprise: 1000 m³ of ground water, a
// direct-cooling unit (600) with 19 000 m³ recirculated, a process unit
// (380) fed 900 m³ of treated wastewater, 300 m³ discharged, 680 consumed
// (metered at the units), so the balance closes. Direct cooling
// rate 19000/19600, wastewater reuse 900/1200 = 0.75, reuse rate
// 19900/20900, leakage (1000 − 980)/1000 = 0.02, metering ratio 0.98.
func steelWorks() ([]meter.Point, balance.Volumes) {
	total, _ := meter.StandardChannel("total_m3")
	p := func(id string, l meter.Level, s meter.Stage, parent string, f func(*meter.Point)) meter.Point {
		pt := meter.Point{ID: id, Enterprise: "E", Name: id, Level: l, Stage: s, Parent: parent, Channels: []meter.Channel{total}}
		if f != nil {
			f(&pt)
		}
		return pt
	}
	points := []meter.Point{
		p("IN", 1, meter.StageIntake, "", func(p *meter.Point) { p.Source = meter.SourceGround }),
		p("U-C", 2, meter.StageUse, "IN", func(p *meter.Point) { p.Purpose = meter.PurposeDirectCooling }),
		p("U-P", 2, meter.StageUse, "IN", func(p *meter.Point) { p.Purpose = meter.PurposeProcess }),
		p("C-RECIRC", 3, meter.StageRecirculation, "U-C", nil),
		p("P-WW", 3, meter.StageCascade, "U-P", func(p *meter.Point) { p.Reuse = meter.ReuseWastewater }),
		p("C-EVAP", 3, meter.StageDischarge, "U-C", func(p *meter.Point) { p.Outflow = meter.OutflowConsumption }),
		p("P-PROD", 3, meter.StageDischarge, "U-P", func(p *meter.Point) { p.Outflow = meter.OutflowConsumption }),
		p("OUT", 1, meter.StageDischarge, "", nil),
	}
	vol := balance.Volumes{"IN": 1000, "U-C": 600, "U-P": 380, "C-RECIRC": 19000, "P-WW": 900, "C-EVAP": 500, "P-PROD": 180, "OUT": 300}
	return points, vol
}

func item(t *testing.T, items []Item, id string) Item {
	t.Helper()
	for _, it := range items {
		if it.ID == id {
			return it
		}
	}
	t.Fatalf("no item %s in %+v", id, items)
	return Item{}
}

func TestEvaluateSteel(t *testing.T) {
	points, vol := steelWorks()
	rep := balance.Evaluate(points, vol, balance.Options{Settings: balance.DefaultSettings()})
	all := map[string]bool{}
	for _, q := range Requirements() {
		if q.Check == CheckDeclared {
			all[q.ID] = true
		}
	}
	r := Evaluate(Input{Industry: "3120", Balance: rep, Declared: all})
	want := map[string]Status{"direct_cooling_rate": Pass, "wastewater_reuse_rate": Pass, "reuse_rate": Fail, "leakage_rate": Pass}
	if len(r.Indicators) != len(want) {
		t.Errorf("steel has %d indicators, want %d: %+v", len(r.Indicators), len(want), r.Indicators)
	}
	for id, st := range want {
		if it := item(t, r.Indicators, id); it.Status != st || it.Verified {
			t.Errorf("%s: %s (verified %v), want %s unverified", id, it.Status, it.Verified, st)
		}
	}
	if v := *item(t, r.Indicators, "reuse_rate").Value; math.Abs(v-19900.0/20900) > 1e-12 {
		t.Errorf("reuse rate %v", v)
	}
	if v := *item(t, r.Indicators, "wastewater_reuse_rate").Value; v != 0.75 {
		t.Errorf("wastewater reuse %v: the threshold 0.75 is met at equality", v)
	}
	if it := item(t, r.Requirements, "metering"); it.Status != Pass || *it.Value != 0.98 {
		t.Errorf("metering %+v", it)
	}
	if it := item(t, r.Requirements, "balance_test"); it.Status != Pass {
		t.Errorf("balance test %+v", it)
	}
	if r.Outcome != "failed" || r.Passed || !r.Unverified || r.DataPassed || !r.DataFailed {
		t.Errorf("outcome %s passed %v unverified %v, want failed on the reuse rate", r.Outcome, r.Passed, r.Unverified)
	}

	// More recirculation passes the reuse rate; one declared requirement
	// left open makes the result incomplete, a false one failed.
	vol["C-RECIRC"] = 40000 // (40000+900)/(40900+1000) = 0.976
	rep = balance.Evaluate(points, vol, balance.Options{Settings: balance.DefaultSettings()})
	if r := Evaluate(Input{Industry: "3120", Balance: rep, Declared: all}); r.Outcome != "passed" || !r.Passed {
		t.Errorf("outcome %s: %+v", r.Outcome, r)
	}
	delete(all, "within_plan")
	r = Evaluate(Input{Industry: "3120", Balance: rep, Declared: all})
	if r.Outcome != "incomplete" || item(t, r.Requirements, "within_plan").Status != Unknown || !r.DataPassed || r.DataFailed {
		t.Errorf("outcome %s", r.Outcome)
	}
	all["within_plan"] = false
	if r := Evaluate(Input{Industry: "3120", Balance: rep, Declared: all}); r.Outcome != "failed" {
		t.Errorf("outcome %s", r.Outcome)
	}

	// A missing level-2 volume: the metering ratio and leakage rate are
	// unknown, not failed.
	all["within_plan"] = true
	delete(vol, "U-P")
	rep = balance.Evaluate(points, vol, balance.Options{Settings: balance.DefaultSettings()})
	r = Evaluate(Input{Industry: "3120", Balance: rep, Declared: all})
	if item(t, r.Requirements, "metering").Status != Unknown || item(t, r.Indicators, "leakage_rate").Status != Unknown || r.Outcome != "incomplete" ||
		r.DataPassed || r.DataFailed {
		t.Errorf("missing U-P: %+v", r)
	}
}

func TestEvaluateProductQuota(t *testing.T) {
	points, vol := steelWorks()
	quotas, err := balance.NewQuotas([]balance.Quota{
		{Product: "未涂布印刷书写纸", Unit: "m3/t", Grade: 1, Limit: 15, Verified: true},
		{Product: "未涂布印刷书写纸", Unit: "m3/t", Grade: 2, Limit: 17, Verified: true},
		{Product: "未涂布印刷书写纸", Unit: "m3/t", Grade: 3, Limit: 18, Verified: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		qty  float64
		want Status
	}{{60, Pass}, {1000.0 / 18, Pass}, {50, Fail}} {
		rep := balance.Evaluate(points, vol, balance.Options{Settings: balance.DefaultSettings(), Quotas: quotas,
			Production: []balance.Production{{Product: "未涂布印刷书写纸", Quantity: c.qty, Unit: "t"}}})
		r := Evaluate(Input{Industry: "2221", Balance: rep})
		it := item(t, r.Products, "未涂布印刷书写纸")
		if it.Status != c.want || *it.Limit != 18 || !it.Verified {
			t.Errorf("output %v: %+v, want %s", c.qty, it, c.want)
		}
		if len(r.Indicators) != 1 || r.Indicators[0].ID != "reuse_rate" || *r.Indicators[0].Limit != 0.85 {
			t.Errorf("paper thresholds %+v", r.Indicators)
		}
	}
}

func TestThresholdsLongestPrefix(t *testing.T) {
	if ts := Thresholds("3130"); len(ts) != 4 {
		t.Errorf("steel rolling (31xx) gets the steel rows: %+v", ts)
	}
	if ts := Thresholds("1513"); len(ts) != 0 {
		t.Errorf("beer has no thresholds here: %+v", ts)
	}
	if ts := Thresholds("2211"); len(ts) != 1 || ts[0].Limit != 0.70 {
		t.Errorf("pulp %+v", ts)
	}
}

func TestBenchmark(t *testing.T) {
	quotas, err := balance.NewQuotas([]balance.Quota{
		{Product: "啤酒", Unit: "m3/kL", Grade: 1, Limit: 30, Standard: "T", Edition: "1"},
		{Product: "啤酒", Unit: "m3/kL", Grade: 2, Limit: 35},
	})
	if err != nil {
		t.Fatal(err)
	}
	var es []Entry
	// 40 enterprises at 1..40 m³/kL, but the third at 2 (a tie with the
	// second); the best 5 % is 2 places.
	for i := 1; i <= 40; i++ {
		v := float64(i)
		if i == 3 {
			v = 2
		}
		es = append(es, Entry{Enterprise: fmt.Sprintf("e%02d", i), Value: v, Evaluation: "incomplete", Evaluated: true})
	}
	es[0].DataFailed = true                                      // the best fails an item judged from data
	es = append(es, Entry{Enterprise: "bad", Value: math.NaN()}) // left out
	es = append(es, Entry{Enterprise: "zero", Value: 0})         // left out
	rs := Benchmark("啤酒", quotas, es)
	if len(rs) != 40 {
		t.Fatalf("%d ranked", len(rs))
	}
	if r := rs[0]; r.Value != 1 || r.Rank != 1 || r.Percentile != 100 || r.Leader || !strings.Contains(r.Why, "evaluation") || r.Grade != "1" {
		t.Errorf("best %+v", r)
	}
	// The two at 2 share rank 2; 37 are worse, 1 tie: (37 + 0.5)/39.
	for _, r := range rs[1:3] {
		if r.Value != 2 || r.Rank != 2 || math.Abs(r.Percentile-100*37.5/39) > 1e-12 || !r.Leader {
			t.Errorf("tied %+v", r)
		}
	}
	if r := rs[39]; r.Rank != 40 || r.Percentile != 0 || r.Leader || r.Grade != "over" || r.Why != "" {
		t.Errorf("worst %+v", r)
	}
	if rs[3].Leader || rs[3].Rank != 4 || rs[31].Grade != "2" {
		t.Errorf("rank 4 is outside the best 5 %%: %+v; 32 m³/kL is grade 2: %+v", rs[3], rs[31])
	}
	// Without a grade-1 quota the bar is the plan's 2025 target: 啤酒
	// 4.5 m³/kL less 15 % = 3.825.
	one := Benchmark("啤酒", balance.BuiltinQuotas(), []Entry{{Enterprise: "x", Value: 3.9, Evaluated: true}})
	if one[0].Percentile != 100 || one[0].Leader || !strings.Contains(one[0].Why, "2025 target") || one[0].Grade != "" {
		t.Errorf("single %+v", one[0])
	}
	if one := Benchmark("啤酒", balance.BuiltinQuotas(), []Entry{{Enterprise: "x", Value: 3.8, Evaluated: true}}); !one[0].Leader {
		t.Errorf("3.8 ≤ 3.825: %+v", one[0])
	}
	if one := Benchmark("啤酒", balance.BuiltinQuotas(), []Entry{{Enterprise: "x", Value: 3.8}}); one[0].Leader || !strings.Contains(one[0].Why, "no water-saving") {
		t.Errorf("not evaluated: %+v", one[0])
	}
	if b, ok := LeaderBar("乙烯", balance.BuiltinQuotas()); ok {
		t.Errorf("乙烯 has no 2020 figure, hence no 2025 target and no bar: %+v", b)
	}
}
