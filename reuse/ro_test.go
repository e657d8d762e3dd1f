package reuse

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func membranes(t testing.TB) *Membranes {
	m, err := LoadMembranes()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRONormalizationVector reproduces chemistry.md §6 to its printed digits.
func TestRONormalizationVector(t *testing.T) {
	m := membranes(t)
	ref := ROData{FeedPressure: 12, DiffPressure: 2, PermeatePressure: 0.5, FeedTDS: 1500, PermeateTDS: 15, Recovery: 0.75, TempC: 25, PermeateFlow: 100}
	act := ROData{FeedPressure: 13.5, DiffPressure: 1.2, PermeatePressure: 0.5, FeedTDS: 1700, PermeateTDS: 22, Recovery: 0.75, TempC: 15, PermeateFlow: 70}
	n, err := m.NormalizeRO(ref, act)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"C_fb ref", n.Ref.FeedBrineTDS, 2772.6, 0.05}, {"π_fb ref", n.Ref.PiFeedBrine, 2.1834, 5e-5}, {"π_p ref", n.Ref.PiPermeate, 0.0118, 5e-5},
		{"NDP ref", n.Ref.NDP, 8.3284, 5e-5}, {"TCF ref", n.Ref.TCF, 1.0000, 5e-5},
		{"C_fb act", n.Act.FeedBrineTDS, 3142.3, 0.05}, {"π_fb act", n.Act.PiFeedBrine, 2.3915, 5e-5}, {"π_p act", n.Act.PiPermeate, 0.0167, 5e-5},
		{"NDP act", n.Act.NDP, 10.0252, 5e-5}, {"TCF act", n.Act.TCF, 0.7034, 5e-5},
		{"NPF", n.PermeateFlow, 82.68, 0.005}, {"NPF change %", n.FlowChangePct, -17.3, 0.05},
		{"SP actual %", n.Act.SaltPassage, 1.294, 5e-4}, {"NSP %", n.SaltPassage, 1.096, 5e-4}, {"NSP change %", n.SaltPassageChgPct, 9.6, 0.05},
		{"ΔP norm", n.DiffPressure, 2.049, 5e-4}, {"ΔP change %", n.DiffPressureChgPct, 2.4, 0.05},
	}
	for _, c := range checks {
		if !near(c.got, c.want, c.tol) {
			t.Errorf("%s = %.5f, want %.5f", c.name, c.got, c.want)
		}
	}
	th, err := LoadThresholds()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := ROThresholdsFrom(th)
	if err != nil {
		t.Fatal(err)
	}
	rec := rt.Recommend(n)
	if len(rec) != 2 || rec[0].Trigger != "permeate_flow" || rec[1].Trigger != "salt_passage" {
		t.Errorf("recommendations %v, want flow (CIP) and salt passage, not ΔP", rec)
	}
	if r := rt.Recommend(RONormalized{FlowChangePct: -5, SaltPassageChgPct: 2, DiffPressureChgPct: 16}); len(r) != 1 || r[0].Trigger != "differential_pressure" {
		t.Errorf("ΔP trigger: %v", r)
	}
}

func TestTCFTable(t *testing.T) {
	m := membranes(t)
	for _, c := range []struct{ t, tcf float64 }{{5, 0.4824}, {10, 0.5844}, {15, 0.7034}, {20, 0.8412}, {25, 1}, {30, 1.1574}, {35, 1.3333}, {40, 1.5289}} {
		if got := m.TCF(c.t); !near(got, c.tcf, 5e-5) {
			t.Errorf("TCF(%g) = %.5f, want %.4f", c.t, got, c.tcf)
		}
	}
	if _, err := m.NormalizeRO(ROData{}, ROData{}); err == nil {
		t.Error("empty data accepted")
	}
}

// TestUFVector reproduces chemistry.md §7: 40 × 50 m², 120 m³/h, TMP 0.60 bar, 12 °C.
func TestUFVector(t *testing.T) {
	m := membranes(t)
	p, err := m.UF(UFReading{FiltrateFlow: 120, Area: 40 * 50, FeedIn: 0.6, FeedOut: 0.6, Filtrate: 0, TempC: 12})
	if err != nil {
		t.Fatal(err)
	}
	if !near(p.Flux, 60.0, 1e-9) || !near(p.Perm, 100.0, 1e-9) || !near(p.Perm20, 122.8, 0.05) {
		t.Errorf("UF %+v", p)
	}
	for _, c := range []struct{ t, mu float64 }{{20, 1.0017e-3}, {10, 1.2995e-3}, {30, 7.972e-4}} {
		if got := m.Viscosity(c.t); !near(got, c.mu, 5e-7) {
			t.Errorf("μ(%g) = %.6g, want %.5g", c.t, got, c.mu)
		}
	}
	if !near(m.Viscosity(12)/m.Viscosity(20), 1.2279, 5e-5) {
		t.Errorf("μ12/μ20 = %.5f", m.Viscosity(12)/m.Viscosity(20))
	}
}

func BenchmarkNormalizeRO(b *testing.B) {
	m := membranes(b)
	ref := ROData{FeedPressure: 12, DiffPressure: 2, PermeatePressure: 0.5, FeedTDS: 1500, PermeateTDS: 15, Recovery: 0.75, TempC: 25, PermeateFlow: 100}
	act := ROData{FeedPressure: 13.5, DiffPressure: 1.2, PermeatePressure: 0.5, FeedTDS: 1700, PermeateTDS: 22, Recovery: 0.75, TempC: 15, PermeateFlow: 70}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := m.NormalizeRO(ref, act); err != nil {
			b.Fatal(err)
		}
	}
}
