package sim

import (
	"math"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/meter"
)

// TestBalancePackageAgrees feeds a simulated day's metered volumes to
// package balance, which the server uses: the metering tree must give it
// the plant's reuse rate, a boundary within tolerance, intake by source, and
// an acyclic Sankey whose unaccounted water grows with an injected leak.
func TestBalancePackageAgrees(t *testing.T) {
	p, err := Generate(1, 16)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 4, 15, 0, 0, 0, 0, ChinaTime)
	settings := balance.DefaultSettings()
	for _, e := range p.Enterprises {
		points := make([]meter.Point, len(e.Points))
		for i, pt := range e.Points {
			points[i] = pt.Point
		}
		metered := func(leak map[meter.Source]float64) (balance.Volumes, Balance) {
			vol := e.Volumes(&p.Params, day, day.Add(24*time.Hour), 5*time.Minute, leak)
			v := balance.Volumes{}
			for _, pt := range e.Points {
				if _, ok := pt.Channel("total_m3"); ok {
					v[pt.ID] = pt.Spec.Flow(vol) * (1 + pt.Meter.Bias)
				}
			}
			return v, e.System.BalanceOf(vol)
		}
		vol, truth := metered(nil)
		in := balance.Compute(points, vol, settings)
		if len(in.Missing) != 0 {
			t.Errorf("%s: missing volumes %v", e.ID, in.Missing)
		}
		rel := func(a, b float64) float64 { return math.Abs(a-b) / b }
		// Meters err by up to 0.3·MPE each: allow 1 % on volumes.
		if rel(in.Intake, truth.Intake) > 0.01 || rel(in.Reuse, truth.Reuse) > 0.01 || rel(in.Discharge, truth.Discharge) > 0.02 {
			t.Errorf("%s: balance package Vi %.0f Vr %.0f Vd %.0f, truth %.0f %.0f %.0f", e.ID, in.Intake, in.Reuse, in.Discharge, truth.Intake, truth.Reuse, truth.Discharge)
		}
		if math.Abs(in.ReuseRate-e.Archetype.ReuseRate) > 0.02 {
			t.Errorf("%s (%s): reuse rate %.4f from the meters, design %.2f", e.ID, e.Archetype.Key, in.ReuseRate, e.Archetype.ReuseRate)
		}
		if !in.Within {
			t.Errorf("%s: balance not within tolerance without a leak: error %.3f ratio %.3f", e.ID, in.BalanceError, in.MeteringRatio)
		}
		src := 0.0
		for _, v := range in.IntakeBySource {
			src += v
		}
		if math.Abs(src-in.Intake) > 1e-6*in.Intake {
			t.Errorf("%s: intake by source sums to %.0f of %.0f", e.ID, src, in.Intake)
		}
		checkSankey(t, e.ID, balance.Diagram(points, vol))
		// A leak on every header: the boundary fails the tolerance.
		leak := map[meter.Source]float64{}
		for _, s := range e.System.Sources {
			leak[s] = p.Params.LeakInjected
		}
		lv, _ := metered(leak)
		if lin := balance.Compute(points, lv, settings); lin.Within || lin.Unaccounted < 0.08*lin.Intake {
			t.Errorf("%s: a %.0f %% leak leaves the balance within tolerance (unaccounted %.1f %%)", e.ID, 100*p.Params.LeakInjected, 100*lin.Unaccounted/lin.Intake)
		}
	}
}

// checkSankey asserts the diagram is acyclic, has positive links and
// conserves flow through every unit node.
func checkSankey(t *testing.T, id string, sk balance.Sankey) {
	t.Helper()
	out := map[string][]string{}
	through := map[string]float64{}
	kinds := map[string]string{}
	for _, n := range sk.Nodes {
		kinds[n.Name] = n.Kind
	}
	units := 0
	for _, l := range sk.Links {
		if l.Value <= 0 {
			t.Errorf("%s: link %s→%s = %v", id, l.Source, l.Target, l.Value)
		}
		out[l.Source] = append(out[l.Source], l.Target)
		through[l.Target] += l.Value
		through[l.Source] -= l.Value
	}
	for n, k := range kinds {
		if k == "unit" {
			units++
			if math.Abs(through[n]) > 1e-3*math.Max(1, math.Abs(through[n])) && math.Abs(through[n]) > 0.5 {
				t.Errorf("%s: unit node %s does not conserve flow (%.2f)", id, n, through[n])
			}
		}
	}
	if units < 3 {
		t.Errorf("%s: Sankey has %d units", id, units)
	}
	state := map[string]int{}
	var visit func(string) bool
	visit = func(n string) bool {
		switch state[n] {
		case 1:
			return false
		case 2:
			return true
		}
		state[n] = 1
		for _, m := range out[n] {
			if !visit(m) {
				return false
			}
		}
		state[n] = 2
		return true
	}
	for n := range kinds {
		if !visit(n) {
			t.Fatalf("%s: Sankey has a cycle through %s", id, n)
		}
	}
}
