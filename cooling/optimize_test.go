package cooling

import (
	"math"
	"strings"
	"testing"

	"github.com/shuixiao/shuixiao/chem"
)

// makeupW04 is the cooling make-up of testdata/chem/waters_input.csv (W04).
var makeupW04 = chem.Analysis{TempC: 20, PH: 7.9, Ca: 40, Mg: 10, Na: 20.8, K: 3, Cl: 25, SO4: 40, Alk: 110, SiO2: 8, PO4: 0.1, NO3: 4}

func TestMaxCyclesBoundedByIndexAtWall(t *testing.T) {
	o, err := NewOptimizer()
	if err != nil {
		t.Fatal(err)
	}
	idx, err := LoadIndexLimits()
	if err != nil {
		t.Fatal(err)
	}
	idx["si_calcite"] = 1.5 // a cautious program; quality limits off so the index binds
	p := &CyclesProblem{Makeup: makeupW04, BasinTempC: 32, WallTempC: 55, PHRule: chem.PHGiven, BasinPH: 8.2,
		Indices: idx}
	res, err := o.MaxCycles(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("max cycles %.2f binding %v values %v", res.Cycles, res.Binding, res.At.Values)
	if res.Cycles <= 1.5 || res.Cycles >= 15 {
		t.Fatalf("cycles %.2f not bounded inside the search range", res.Cycles)
	}
	if len(res.Binding) == 0 || !strings.HasPrefix(res.Binding[0], "si_calcite") {
		t.Errorf("binding %v, want si_calcite", res.Binding)
	}
	if len(res.At.Violations) != 0 {
		t.Errorf("result violates %v", res.At.Violations)
	}
	above, err := o.Evaluate(p, res.Cycles+0.02)
	if err != nil {
		t.Fatal(err)
	}
	if len(above.Violations) == 0 {
		t.Errorf("cycles %.2f + 0.02 still admissible: the search stopped early", res.Cycles)
	}
	if !near(res.At.Basin.Ca, res.At.Cycles*makeupW04.Ca, 1e-9) {
		t.Errorf("basin Ca %.2f is not cycles × make-up", res.At.Basin.Ca)
	}
	// The wall is hotter, so calcite is more supersaturated there than at the basin.
	basinOnly := *p
	basinOnly.WallTempC = p.BasinTempC
	cold, err := o.MaxCycles(&basinOnly)
	if err != nil {
		t.Fatal(err)
	}
	if cold.Cycles <= res.Cycles {
		t.Errorf("wall at basin temperature allows %.2f cycles, hot wall %.2f: hot wall must bind earlier", cold.Cycles, res.Cycles)
	}
}

func TestMaxCyclesBoundedByChlorideLimit(t *testing.T) {
	o, err := NewOptimizer()
	if err != nil {
		t.Fatal(err)
	}
	q, err := LoadQualityLimits("gb50050_2017")
	if err != nil {
		t.Fatal(err)
	}
	m := makeupW04
	m.Cl, m.Na = 200, 20.8+175*22.99/35.453 // chloride-rich reclaimed make-up, balanced on Na
	p := &CyclesProblem{Makeup: m, BasinTempC: 30, WallTempC: 45, PHRule: chem.PHGiven, BasinPH: 7.5,
		Quality: q, Indices: IndexLimits{"lsi": 2.5}}
	res, err := o.MaxCycles(p)
	if err != nil {
		t.Fatal(err)
	}
	// Cl ≤ 1000 mg/L with 200 mg/L make-up: 5.00 cycles.
	if !near(res.Cycles, 5.0, 0.011) || len(res.Binding) == 0 || !strings.HasPrefix(res.Binding[0], "cl ") {
		t.Errorf("cycles %.3f binding %v, want 5.00 bound by cl", res.Cycles, res.Binding)
	}
	if _, err := o.MaxCycles(&CyclesProblem{Makeup: m, BasinTempC: 30, WallTempC: 45, PHRule: chem.PHGiven,
		BasinPH: 7.5, Quality: QualityLimits{"cl": {Max: ptr(100)}}}); err == nil {
		t.Error("limit broken at minimum cycles did not error")
	}
	if math.IsNaN(res.At.WallPH) || res.At.WallPH >= 7.5 {
		t.Errorf("wall pH %.3f: heating a closed water must lower its pH", res.At.WallPH)
	}
}

func ptr(v float64) *float64 { return &v }

func TestLoadLimits(t *testing.T) {
	if _, err := LoadQualityLimits("nope"); err == nil {
		t.Error("unknown set accepted")
	}
	q, err := LoadQualityLimits("gb50050_2007")
	if err != nil || q["ph"].Min == nil || *q["ph"].Min != 7 || *q["so4_plus_cl"].Max != 1500 {
		t.Errorf("gb50050_2007: %v %v", q, err)
	}
}

// BenchmarkMaxCycles times one full cycles optimisation (scan + bisection, each point two
// concentrations and speciations at basin and wall).
func BenchmarkMaxCycles(b *testing.B) {
	o, err := NewOptimizer()
	if err != nil {
		b.Fatal(err)
	}
	idx, err := LoadIndexLimits()
	if err != nil {
		b.Fatal(err)
	}
	p := &CyclesProblem{Makeup: makeupW04, BasinTempC: 32, WallTempC: 55, PHRule: chem.PHCO2Equilibrium, LogPCO2: -3,
		Indices: idx}
	for i := 0; i < b.N; i++ {
		if _, err := o.MaxCycles(p); err != nil {
			b.Fatal(err)
		}
	}
}
