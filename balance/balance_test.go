package balance

import (
	"math"
	"testing"

	"github.com/shuixiao/shuixiao/meter"
)

func pt(id string, level meter.Level, stage meter.Stage, src meter.Source, parent string) meter.Point {
	total, _ := meter.StandardChannel("total_m3")
	return meter.Point{ID: id, Enterprise: "E", Name: id, Level: level, Stage: stage, Source: src, Parent: parent, Channels: []meter.Channel{total}}
}

// The worked example of reference/standards.md §1.4: Vi = 1000, Vr = 19000,
// Vd = 300, leakage 20 (here: the unmetered difference between the levels).
func example() ([]meter.Point, Volumes) {
	points := []meter.Point{
		pt("IN-GW", 1, meter.StageIntake, meter.SourceGround, ""),
		pt("IN-RC", 1, meter.StageIntake, meter.SourceReclaimed, ""),
		pt("U-A", 2, meter.StageUse, "", "IN-GW"),
		pt("U-B", 2, meter.StageUse, "", "IN-GW"),
		pt("A-TOWER", 3, meter.StageUse, "", "U-A"),
		pt("A-RECIRC", 3, meter.StageRecirculation, "", "A-TOWER"),
		pt("B-CASCADE", 3, meter.StageCascade, "", "U-B"),
		pt("B-OUT", 3, meter.StageDischarge, "", "U-B"),
		pt("OUTFALL", 1, meter.StageDischarge, "", ""),
	}
	vol := Volumes{"IN-GW": 900, "IN-RC": 100, "U-A": 700, "U-B": 280, "A-TOWER": 650,
		"A-RECIRC": 18000, "B-CASCADE": 1000, "B-OUT": 120, "OUTFALL": 300}
	return points, vol
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestIndicatorsWorkedExample(t *testing.T) {
	points, vol := example()
	in := Compute(points, vol, DefaultSettings())
	checks := []struct {
		name      string
		got, want float64
	}{
		{"Vi", in.Intake, 1000}, {"Vr", in.Reuse, 19000}, {"Vt", in.Use, 20000},
		{"R", in.ReuseRate, 0.95}, {"Vd", in.Discharge, 300}, {"Kd", in.DischargeRate, 0.3},
		{"Vco+Vl", in.Consumption, 700}, {"level 2", in.Level2, 980}, {"unaccounted", in.Unaccounted, 20},
		{"metering ratio", in.MeteringRatio, 0.98}, {"e", in.BalanceError, 0.02},
		{"non-conventional", in.NonConvRate, 0.1}, {"ground", in.IntakeBySource["ground"], 900},
	}
	for _, c := range checks {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !in.Within || len(in.Missing) != 0 {
		t.Errorf("within %v missing %v", in.Within, in.Missing)
	}
	// A hidden leak of 100 m³ between the levels breaks the tolerance.
	vol["IN-GW"] += 100
	if in := Compute(points, vol, DefaultSettings()); in.Within || !near(in.Unaccounted, 120) {
		t.Errorf("leak not judged: %+v", in)
	}
	delete(vol, "U-B")
	if in := Compute(points, vol, DefaultSettings()); len(in.Missing) != 1 || in.Missing[0] != "U-B" {
		t.Errorf("missing: %v", in.Missing)
	}
	if in := Compute(points, Volumes{}, DefaultSettings()); !math.IsNaN(in.ReuseRate) || in.Within {
		t.Errorf("empty period must not look healthy: %+v", in)
	}
}

// checkNodeBalance asserts that every inner node passes on what it receives.
func checkNodeBalance(t *testing.T, sk Sankey) {
	t.Helper()
	in, out := map[string]float64{}, map[string]float64{}
	for _, l := range sk.Links {
		out[l.Source] += l.Value
		in[l.Target] += l.Value
	}
	for _, n := range sk.Nodes {
		if in[n.Name] == 0 || out[n.Name] == 0 {
			continue // a source or a sink
		}
		if math.Abs(in[n.Name]-out[n.Name]) > 1e-3*in[n.Name] {
			t.Errorf("node %s: in %v, out %v", n.Name, in[n.Name], out[n.Name])
		}
	}
}

func TestDiagram(t *testing.T) {
	points, vol := example()
	sk := Diagram(points, vol)
	if err := sk.Acyclic(); err != nil {
		t.Fatal(err)
	}
	checkNodeBalance(t, sk)
	val := func(src, dst string) float64 {
		for _, l := range sk.Links {
			if l.Source == src && l.Target == dst {
				return l.Value
			}
		}
		return 0
	}
	if v := val("boundary", "unaccounted"); !near(v, 20) {
		t.Errorf("unaccounted link %v", v)
	}
	if v := val("reuse-in:recirculated", "unit:U-A"); !near(v, 18000) {
		t.Errorf("recirculation link %v", v)
	}
	// The outfall's 300 m³: 120 metered leaving U-B, 180 attributed to the
	// units in proportion to their remaining water (700 and 160).
	if v := val("unit:U-B", "discharge"); math.Abs(v-(120+180*160.0/860)) > 1e-3 {
		t.Errorf("U-B discharge %v", v)
	}
	if v := val("unit:U-A", "consumption"); math.Abs(v-(700-180*700.0/860)) > 1e-3 {
		t.Errorf("U-A consumption %v", v)
	}
	// Level 2 reading more than level 1: the surplus enters as its own node.
	vol["U-A"] = 800
	sk = Diagram(points, vol)
	if v := val("metering-surplus", "boundary"); !near(v, 80) {
		t.Errorf("surplus %v", v)
	}
	checkNodeBalance(t, sk)
}

func TestAcyclicDetectsCycle(t *testing.T) {
	sk := Sankey{Nodes: []Node{{Name: "a"}, {Name: "b"}}, Links: []Link{{"a", "b", 1}, {"b", "a", 1}}}
	if sk.Acyclic() == nil {
		t.Fatal("cycle not found")
	}
}

func TestDiagramDropsLinksThatRoundToZero(t *testing.T) {
	points, vol := example()
	vol["B-CASCADE"] = 0.0004 // rounds to 0 at 1 L
	for _, l := range Diagram(points, vol).Links {
		if l.Value <= 0 {
			t.Fatalf("zero link %+v", l)
		}
	}
}
