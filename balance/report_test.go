package balance

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/shuixiao/shuixiao/meter"
)

// with sets the optional balance fields of a point.
func with(p meter.Point, f func(p *meter.Point)) meter.Point { f(&p); return p }

// workedExample is the worked example of reference/standards.md §1.4 as a
// metered enterprise: Vi = 1000 (900 ground, 100 reclaimed), Vr = 19000
// (18800 recirculated cooling water, 100 cascaded from unit A to unit B, 100
// treated wastewater reused), Vd = 300, Vw = 100, Vl = 20 (level 1 − level
// 2), Vco = 680 metered at the units.
func workedExample() ([]meter.Point, Volumes) {
	purpose := func(u meter.Purpose) func(*meter.Point) { return func(p *meter.Point) { p.Purpose = u } }
	points := []meter.Point{
		pt("IN-GW", 1, meter.StageIntake, meter.SourceGround, ""),
		pt("IN-RC", 1, meter.StageIntake, meter.SourceReclaimed, ""),
		with(pt("U-A", 2, meter.StageUse, "", "IN-GW"), purpose(meter.PurposeIndirectCooling)),
		with(pt("U-B", 2, meter.StageUse, "", "IN-GW"), purpose(meter.PurposeProcess)),
		pt("A-RECIRC", 3, meter.StageRecirculation, "", "U-A"),
		with(pt("A-TO-B", 3, meter.StageCascade, "", "U-B"), func(p *meter.Point) { p.From = "U-A" }),
		with(pt("B-WW", 3, meter.StageCascade, "", "U-B"), func(p *meter.Point) { p.Reuse = meter.ReuseWastewater }),
		with(pt("A-EVAP", 3, meter.StageDischarge, "", "U-A"), func(p *meter.Point) { p.Outflow = meter.OutflowConsumption }),
		pt("A-DRAIN", 3, meter.StageDischarge, "", "U-A"),
		with(pt("B-PROD", 3, meter.StageDischarge, "", "U-B"), func(p *meter.Point) { p.Outflow = meter.OutflowConsumption }),
		pt("B-DRAIN", 3, meter.StageDischarge, "", "U-B"),
		pt("OUTFALL", 1, meter.StageDischarge, "", ""),
	}
	vol := Volumes{"IN-GW": 900, "IN-RC": 100, "U-A": 700, "U-B": 280, "A-RECIRC": 18800, "A-TO-B": 100,
		"B-WW": 100, "A-EVAP": 500, "A-DRAIN": 100, "B-PROD": 180, "B-DRAIN": 300, "OUTFALL": 300}
	return points, vol
}

func check(t *testing.T, name string, f Figure, want float64) {
	t.Helper()
	if !f.OK || math.Abs(f.Value-want) > 1e-12*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %v (ok %v, %s), want %v", name, f.Value, f.OK, f.Note, want)
	}
}

func checkAbsent(t *testing.T, name string, f Figure, noteHas string) {
	t.Helper()
	if f.OK || !strings.Contains(f.Note, noteHas) {
		t.Errorf("%s = %v (ok %v, note %q), want absent naming %q", name, f.Value, f.OK, f.Note, noteHas)
	}
}

func TestEvaluateWorkedExample(t *testing.T) {
	points, vol := workedExample()
	for _, p := range points {
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	r := Evaluate(points, vol, Options{Settings: DefaultSettings(), ValueAdded: 50})
	for _, c := range []struct {
		name string
		f    Figure
		want float64
	}{
		{"Vi", r.Intake, 1000}, {"Vi ground", r.IntakeBySource[meter.SourceGround], 900},
		{"Vi reclaimed", r.IntakeBySource[meter.SourceReclaimed], 100}, {"Vn", r.NonConventional, 100},
		{"recirculated", r.Recirculated, 18800}, {"cascaded", r.Cascaded, 200}, {"Vw", r.WastewaterReuse, 100},
		{"Vr", r.Reuse, 19000}, {"Vt", r.TotalUse, 20000}, {"Vd", r.Discharge, 300}, {"Vco", r.Consumption, 680},
		{"Vco+Vl", r.ConsumptionAndLoss, 700}, {"Vl", r.Leakage, 20}, {"level 2", r.Level2, 980},
		{"R", r.ReuseRate, 0.95}, {"Kw", r.WastewaterReuseRate, 0.25}, {"Kl", r.LeakageRate, 0.02},
		{"Kd", r.DischargeRate, 0.3}, {"Kc", r.ConsumptionRate, 0.68}, {"Kn", r.NonConventionalRate, 0.1},
		{"metering ratio", r.MeteringRatio, 0.98}, {"e", r.BalanceError, 0},
		{"Rc", r.IndirectCoolingRate, 18800.0 / 19500}, {"Rg", r.ProcessReuseRate, 0},
		{"per 10k CNY", r.IntakePer10kCNY, 20},
		{"fresh cooling", r.ByPurpose[meter.PurposeIndirectCooling], 700},
	} {
		check(t, c.name, c.f, c.want)
	}
	if r.Within == nil || !*r.Within || len(r.Missing) != 0 {
		t.Errorf("within %v, missing %v", r.Within, r.Missing)
	}
	checkAbsent(t, "Rb", r.CondensateReuseRate, "no boiler unit")
	checkAbsent(t, "direct cooling", r.DirectCoolingRate, "no unit has purpose direct_cooling")
	// Unit A: 700 in; 100 to B, 500 evaporated, 100 drained. Unit B: 280 +
	// 100 from A + 100 reused wastewater in; 180 in product, 300 drained.
	if len(r.Units) != 2 {
		t.Fatalf("units %+v", r.Units)
	}
	for i, want := range [][2]float64{{700, 700}, {480, 480}} {
		u := r.Units[i]
		check(t, u.Unit+" in", u.In, want[0])
		check(t, u.Unit+" out", u.Out, want[1])
		check(t, u.Unit+" e", u.Error, 0)
		if u.Within == nil || !*u.Within {
			t.Errorf("%s not within", u.Unit)
		}
	}
	if got := r.Recirculated.Points; len(got) != 1 || got[0] != "A-RECIRC" {
		t.Errorf("recirculated coverage %v", got)
	}
	// A unit that loses 10 % unmetered breaks its tolerance and the whole's.
	vol["A-EVAP"] = 430
	r = Evaluate(points, vol, Options{Settings: DefaultSettings()})
	check(t, "A e", r.Units[0].Error, 0.1)
	check(t, "e", r.BalanceError, 0.07)
	if *r.Units[0].Within || *r.Within || !*r.Units[1].Within {
		t.Errorf("within: unit A %v, whole %v, unit B %v", *r.Units[0].Within, *r.Within, *r.Units[1].Within)
	}
	checkAbsent(t, "per 10k CNY", r.IntakePer10kCNY, "no value added")
	// Consumption metered in unit A only: a sum over some units must not
	// pass for the whole.
	points = points[:len(points)-3]
	points = append(points, pt("B-DRAIN", 3, meter.StageDischarge, "", "U-B"), pt("OUTFALL", 1, meter.StageDischarge, "", ""))
	r = Evaluate(points, vol, Options{Settings: DefaultSettings()})
	checkAbsent(t, "e", r.BalanceError, "units U-B have no consumption point")
	check(t, "Vco derived", r.Consumption, 680)
	if !strings.Contains(r.Consumption.Note, "U-B") {
		t.Errorf("consumption note %q", r.Consumption.Note)
	}
}

// Missing volumes make exactly the figures that need them absent.
func TestEvaluateMissingPoint(t *testing.T) {
	points, vol := workedExample()
	delete(vol, "U-B")
	delete(vol, "IN-RC")
	r := Evaluate(points, vol, Options{Settings: DefaultSettings()})
	if strings.Join(r.Missing, ",") != "IN-RC,U-B" {
		t.Errorf("missing %v", r.Missing)
	}
	for name, f := range map[string]Figure{"Vi": r.Intake, "Vn": r.NonConventional, "level 2": r.Level2, "Vl": r.Leakage,
		"R": r.ReuseRate, "Kl": r.LeakageRate, "e": r.BalanceError, "metering ratio": r.MeteringRatio, "Vt": r.TotalUse} {
		if f.OK {
			t.Errorf("%s = %v with points missing", name, f.Value)
		}
	}
	checkAbsent(t, "Vi", r.Intake, "IN-RC")
	checkAbsent(t, "level 2", r.Level2, "U-B")
	checkAbsent(t, "U-B in", r.Units[1].In, "U-B")
	if r.Units[1].Within != nil {
		t.Error("U-B judged without its inflow")
	}
	check(t, "Vi ground", r.IntakeBySource[meter.SourceGround], 900)
	checkAbsent(t, "Vi reclaimed", r.IntakeBySource[meter.SourceReclaimed], "IN-RC")
	check(t, "Vr", r.Reuse, 19000)
	check(t, "Vd", r.Discharge, 300)
	check(t, "A e", r.Units[0].Error, 0)
	if m := r.Leakage.Missing; strings.Join(m, ",") != "IN-RC,U-B" {
		t.Errorf("leakage coverage missing %v", m)
	}

	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if v, ok := out["intake_m3"]; !ok || v != nil {
		t.Errorf("intake_m3 = %v (present %v), want null", v, ok)
	}
	if v := out["reuse_m3"]; v != 19000.0 {
		t.Errorf("reuse_m3 = %v", v)
	}
	cov := out["coverage"].(map[string]any)["intake_m3"].(map[string]any)
	if !strings.Contains(cov["note"].(string), "IN-RC") || cov["missing"].([]any)[0] != "IN-RC" {
		t.Errorf("intake coverage %v", cov)
	}
}

// An enterprise of several sources with purchased steam, a boiler and
// condensate return, a cascade across units, no consumption meters, and a
// quality-only point that measures no water.
func TestEvaluateSteamAndCascades(t *testing.T) {
	ph, _ := meter.StandardChannel("ph")
	purpose := func(u meter.Purpose) func(*meter.Point) { return func(p *meter.Point) { p.Purpose = u } }
	points := []meter.Point{
		pt("IN-MUNI", 1, meter.StageIntake, meter.SourceMunicipal, ""),
		pt("IN-SURF", 1, meter.StageIntake, meter.SourceSurface, ""),
		pt("IN-STEAM", 1, meter.StageIntake, meter.SourceSteam, ""),
		pt("IN-RAIN", 1, meter.StageIntake, meter.SourceRain, ""),
		pt("IN-MINE", 1, meter.StageIntake, meter.SourceMine, ""),
		with(pt("BOILER", 2, meter.StageUse, "", ""), purpose(meter.PurposeBoiler)),
		with(pt("PROC", 2, meter.StageUse, "", ""), purpose(meter.PurposeProcess)),
		with(pt("DC", 2, meter.StageUse, "", ""), purpose(meter.PurposeDirectCooling)),
		with(pt("DOM", 2, meter.StageUse, "", ""), purpose(meter.PurposeDomestic)),
		pt("DC-RECIRC", 3, meter.StageRecirculation, "", "DC"),
		with(pt("COND", 3, meter.StageCascade, "", "BOILER"), func(p *meter.Point) { p.Reuse = meter.ReuseCondensate; p.From = "PROC" }),
		with(pt("DC-TO-PROC", 3, meter.StageCascade, "", "PROC"), func(p *meter.Point) { p.From = "DC" }),
		pt("PROC-RECIRC", 3, meter.StageRecirculation, "", "PROC"),
		pt("OUT", 1, meter.StageDischarge, "", ""),
		{ID: "OUT-PH", Enterprise: "E", Name: "pH", Level: 1, Stage: meter.StageDischarge, Channels: []meter.Channel{ph}},
	}
	vol := Volumes{"IN-MUNI": 500, "IN-SURF": 2000, "IN-STEAM": 300, "IN-RAIN": 150, "IN-MINE": 50,
		"BOILER": 400, "PROC": 1500, "DC": 900, "DOM": 100, "DC-RECIRC": 8100, "COND": 600, "DC-TO-PROC": 200,
		"PROC-RECIRC": 500, "OUT": 1200}
	r := Evaluate(points, vol, Options{Settings: DefaultSettings()})
	check(t, "Vi", r.Intake, 3000)
	check(t, "Vi steam", r.IntakeBySource[meter.SourceSteam], 300)
	check(t, "Vn", r.NonConventional, 200)
	check(t, "Kn", r.NonConventionalRate, 200.0/3000)
	check(t, "recirculated", r.Recirculated, 8600)
	check(t, "cascaded", r.Cascaded, 800)
	check(t, "condensate", r.CondensateReuse, 600)
	check(t, "Vr", r.Reuse, 9400)
	check(t, "R", r.ReuseRate, 9400.0/12400)
	check(t, "Rb", r.CondensateReuseRate, 600.0/(600+400+300))
	check(t, "direct cooling", r.DirectCoolingRate, 0.9)
	check(t, "Rg", r.ProcessReuseRate, 500.0/2000)
	check(t, "level 2", r.Level2, 2900)
	check(t, "Vl", r.Leakage, 100)
	check(t, "Vco derived", r.Consumption, 3000-1200-100)
	if !strings.Contains(r.Consumption.Note, "derived") {
		t.Errorf("consumption note %q", r.Consumption.Note)
	}
	check(t, "Kw", r.WastewaterReuseRate, 0)
	checkAbsent(t, "e", r.BalanceError, "consumption is not metered")
	if r.Within != nil {
		t.Error("judged a balance that closes by construction")
	}
	check(t, "fresh domestic", r.ByPurpose[meter.PurposeDomestic], 100)
	// Units in point order: the boiler receives the condensate, the process
	// sends it and receives the cooling blow-down.
	byUnit := map[string]UnitBalance{}
	for _, u := range r.Units {
		byUnit[u.Unit] = u
	}
	check(t, "BOILER in", byUnit["BOILER"].In, 1000)
	check(t, "PROC in", byUnit["PROC"].In, 1700)
	check(t, "PROC out", byUnit["PROC"].Out, 600)
	check(t, "DC out", byUnit["DC"].Out, 200)
	checkAbsent(t, "PROC e", byUnit["PROC"].Error, "consumption not metered")
	if len(r.Missing) != 0 {
		t.Errorf("quality point counted as missing: %v", r.Missing)
	}
	// Without level-2 units leakage cannot be told from consumption.
	r = Evaluate(points[:5], vol, Options{Settings: DefaultSettings()})
	checkAbsent(t, "Vl", r.Leakage, "no level-2 unit")
	checkAbsent(t, "Vco", r.Consumption, "no level-2 unit")
	checkAbsent(t, "Vd", r.Discharge, "no level-1 discharge point")
	// Purchased steam and no condensate point: nothing metered returns, and
	// the coverage says so.
	check(t, "Rb", r.CondensateReuseRate, 0)
	if !strings.Contains(r.CondensateReuse.Note, "no such points") {
		t.Errorf("condensate note %q", r.CondensateReuse.Note)
	}
}

// Compute, the summary the alarms and overview use, agrees with Evaluate.
func TestComputeAgreesWithEvaluate(t *testing.T) {
	points, vol := workedExample()
	in := Compute(points, vol, DefaultSettings())
	r := Evaluate(points, vol, Options{Settings: DefaultSettings()})
	for _, c := range []struct {
		name string
		a    float64
		b    Figure
	}{{"Vi", in.Intake, r.Intake}, {"Vr", in.Reuse, r.Reuse}, {"Vd", in.Discharge, r.Discharge},
		{"level 2", in.Level2, r.Level2}, {"Vl", in.Unaccounted, r.Leakage}, {"R", in.ReuseRate, r.ReuseRate}} {
		check(t, c.name, c.b, c.a)
	}
}

// The headline report carries the full report's headline figures, coverage
// and notes included, whatever is missing, and nothing else.
func TestEvaluateHeadline(t *testing.T) {
	cases := map[string]func(Volumes){
		"complete":       func(Volumes) {},
		"intake missing": func(v Volumes) { delete(v, "IN-RC") },
		"reuse missing":  func(v Volumes) { delete(v, "A-RECIRC"); delete(v, "B-WW") },
		"all missing":    func(v Volumes) { clear(v) },
	}
	for name, change := range cases {
		points, vol := workedExample()
		change(vol)
		full := Evaluate(points, vol, Options{Settings: DefaultSettings(), ValueAdded: 10})
		head := Evaluate(points, vol, Options{Settings: DefaultSettings(), ValueAdded: 10, Headline: true})
		if !reflect.DeepEqual(head.Missing, full.Missing) {
			t.Errorf("%s: missing %v, full %v", name, head.Missing, full.Missing)
		}
		for fig, pair := range map[string][2]Figure{"Vi": {head.Intake, full.Intake}, "Vn": {head.NonConventional, full.NonConventional},
			"Vcr": {head.Recirculated, full.Recirculated}, "cascaded": {head.Cascaded, full.Cascaded}, "Vr": {head.Reuse, full.Reuse}} {
			if !reflect.DeepEqual(pair[0], pair[1]) {
				t.Errorf("%s: %s headline %+v, full %+v", name, fig, pair[0], pair[1])
			}
		}
		if head.Discharge.OK || head.Units != nil || head.IntakePer10kCNY.OK || head.ValueAddedGiven {
			t.Errorf("%s: headline report has more than its figures: %+v", name, head)
		}
	}
}
