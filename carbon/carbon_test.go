package carbon

import (
	"math"
	"strings"
	"testing"
)

func factors(t *testing.T, region string, year int) Factors {
	t.Helper()
	tb, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	f, err := tb.For(region, year)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFactorsByRegionAndYear(t *testing.T) {
	for _, c := range []struct {
		region string
		year   int
		want   float64
		reg    string
	}{
		{"430000", 2026, 0.5395, "central"}, // Hunan: Central China grid, latest data year
		{"430300", 2021, 0.5395, "central"}, // no 2021 regional row: the earliest there is
		{"110000", 2022, 0.5366, "CN"},      // Beijing: no region mapped, national
		{"110000", 2021, 0.5568, "CN"},
		{"", 2030, 0.5366, "CN"},
	} {
		f := factors(t, c.region, c.year)
		if f.Grid.KgCO2PerKWh != c.want || f.Grid.Region != c.reg || f.Grid.Source == "" || f.Grid.Verified {
			t.Errorf("%s %d: %+v, want %g from %s (unverified)", c.region, c.year, f.Grid, c.want, c.reg)
		}
	}
}

// A worked account: 1,000 m³ taken, 600 m³ discharged, pumping metered at
// 250 kWh; supply treatment is in the pumping factor (0); wastewater
// 600 × 0.27 = 162 kWh; 412 kWh × 0.5395 = 222.274 kg CO₂.
func TestComputeWorked(t *testing.T) {
	f := factors(t, "430000", 2025)
	a, err := Compute(Use{IntakeM3: 1000, DischargeM3: 600, MeteredKWh: map[Stage]float64{Pumping: 250}}, f)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(a.KWh-412) > 1e-9 || math.Abs(a.KgCO2-222.274) > 1e-9 || a.Verified {
		t.Errorf("%+v", a)
	}
	basis := ""
	for _, s := range a.Stages {
		basis += string(s.Stage) + "=" + s.Basis + " "
	}
	if basis != "pumping=metered supply_treatment=none wastewater_treatment=factor heating=none " {
		t.Errorf("bases %q", basis)
	}
	// Heating by factor: 10 m³ raised 40 K at 1.163 kWh/(m³·K) = 465.2 kWh.
	a, err = Compute(Use{HeatedM3: 10, HeatingRiseK: 40}, f)
	if err != nil || math.Abs(a.KWh-465.2) > 1e-9 {
		t.Errorf("heating %+v %v", a, err)
	}
	for _, u := range []Use{{IntakeM3: -1}, {DischargeM3: math.NaN()}, {MeteredKWh: map[Stage]float64{"boiling": 1}}, {MeteredKWh: map[Stage]float64{Pumping: -2}}} {
		if _, err := Compute(u, f); err == nil {
			t.Errorf("%+v accepted", u)
		}
	}
}

// Avoided: 100 m³ saved, 60 % of it discharged: (100 × 0.29 + 60 × 0.27)
// kWh × 0.5395 = 24.3854 kg CO₂.
func TestAvoided(t *testing.T) {
	f := factors(t, "430000", 2025)
	kg, kwh, err := Avoided(100, 0.6, f)
	if err != nil || math.Abs(kwh-45.2) > 1e-9 || math.Abs(kg-24.3854) > 1e-9 {
		t.Errorf("%g kg, %g kWh, %v", kg, kwh, err)
	}
	if _, _, err := Avoided(100, 1.5, f); err == nil || !strings.Contains(err.Error(), "share") {
		t.Errorf("share 1.5: %v", err)
	}
}
