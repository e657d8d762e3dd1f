package reuse

import (
	"math"
	"math/rand"
	"testing"
)

func ufConfig(t testing.TB) UFConfig {
	th, err := LoadThresholds()
	if err != nil {
		t.Fatal(err)
	}
	c, err := UFConfigFrom(th)
	if err != nil {
		t.Fatal(err)
	}
	c.BackwashDurationS, c.CEBDurationS, c.CIPDurationS = 60, 900, 4*3600
	c.BaselineL20, c.SettleS, c.StaleAfterS, c.PlausibleTMPMax = 150, 30, 120, 5
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func ok(v float64) Reading { return Reading{Value: v, Valid: true} }

// TestUFSequence walks backwash on timer and on ΔTMP, CEB on count and on permeability (with
// hysteresis), CIP after failed CEBs and the TMP-maximum stop.
func TestUFSequence(t *testing.T) {
	c := ufConfig(t)
	var s UFState
	var out UFOutput
	run := func(seconds float64, tmp, l20 float64) {
		for k := 0.0; k < seconds; k += 10 {
			s, out, _ = c.Step(s, UFInput{TMP: ok(tmp), L20: ok(l20)}, 10)
		}
	}
	run(c.BackwashIntervalS-10, 0.5, 140)
	if out.Mode != UFFiltering {
		t.Fatalf("mode %v before the interval", out.Mode)
	}
	run(10, 0.5, 140)
	if out.Mode != UFBackwash || !out.BackwashPump || out.Filtrate {
		t.Fatalf("timer backwash: %+v", out)
	}
	run(60, 0.5, 140) // backwash ends
	run(100, 0.5, 140)
	if out.Mode != UFFiltering || s.Backwashes != 1 {
		t.Fatalf("after backwash: %+v %+v", out, s)
	}
	run(10, 0.5+c.BackwashDTMP, 140) // ΔTMP trigger
	if out.Mode != UFBackwash {
		t.Fatalf("ΔTMP backwash not triggered: %+v", out)
	}
	run(200, 0.5, 140)
	// Permeability drop below 70 % → CEB, once (hysteresis) until L20 recovers above 75 %.
	run(10, 0.5, 0.69*c.BaselineL20)
	if out.Mode != UFCEB || !out.ChemicalDose {
		t.Fatalf("L20 CEB not triggered: %+v", out)
	}
	run(c.CEBDurationS+100, 0.5, 0.72*c.BaselineL20) // CEB ends, L20 72 %: not re-armed
	run(10, 0.5, 0.69*c.BaselineL20)
	if out.Mode != UFFiltering || s.CEBArmed {
		t.Fatalf("CEB re-fired without recovery (hysteresis): %+v %+v", out, s)
	}
	run(10, 0.5, 0.80*c.BaselineL20)
	if !s.CEBArmed {
		t.Fatal("trigger not re-armed above 75 %")
	}
	// Two CEBs that leave L20 below 55 % → CIP.
	for i := 0; i < 2; i++ {
		run(10, 0.5, 0.5*c.BaselineL20)
		if i == 0 && out.Mode != UFCEB {
			t.Fatalf("CEB %d not triggered: %+v", i, out)
		}
		run(c.CEBDurationS+40, 0.5, 0.5*c.BaselineL20)
		if i == 0 {
			s.CEBArmed = true // the count trigger would do the same, just later
		}
	}
	if out.Mode != UFCIP || !out.CIP {
		t.Fatalf("CIP not started after failed CEBs: %+v %+v", out, s)
	}
	run(c.CIPDurationS+40, 0.5, 0.95*c.BaselineL20)
	if out.Mode != UFFiltering || s.FailedCEBs != 0 {
		t.Fatalf("after CIP: %+v %+v", out, s)
	}
	_, out, alarms := c.Step(s, UFInput{TMP: ok(c.TMPMax + 0.1), L20: ok(140)}, 10)
	if out.Mode != UFStopped || out.Filtrate || len(alarms) == 0 || alarms[0].Code != "uf_tmp_max" {
		t.Fatalf("TMP max: %+v %v", out, alarms)
	}
}

// TestUFFailSafeSensors: with TMP and permeability unusable the rack still backwashes on the
// timer and never enters CEB/CIP on missing data.
func TestUFFailSafeSensors(t *testing.T) {
	c := ufConfig(t)
	var s UFState
	var out UFOutput
	bw := 0
	rng := rand.New(rand.NewSource(3))
	for k := 0; k < 5000; k++ {
		in := UFInput{TMP: Reading{Value: rng.NormFloat64() * 100, AgeS: 1000, Valid: true}, L20: Reading{Value: math.NaN(), AgeS: 0, Valid: false}}
		var alarms []Alarm
		prev := out.Mode
		s, out, alarms = c.Step(s, in, 10)
		if out.Mode == UFBackwash && prev != UFBackwash {
			bw++
		}
		if out.Mode == UFCIP || out.Mode == UFStopped {
			t.Fatalf("step %d: %v on unusable sensors", k, out.Mode)
		}
		if out.Mode == UFFiltering && s.InModeS > c.SettleS && len(alarms) == 0 {
			t.Fatalf("step %d: no alarm for unusable sensors", k)
		}
	}
	if want := int(5000 * 10 / (c.BackwashIntervalS + c.BackwashDurationS)); bw < want-2 {
		t.Errorf("%d backwashes on the timer, want about %d", bw, want)
	}
}

func TestMMFTriggers(t *testing.T) {
	th, err := LoadThresholds()
	if err != nil {
		t.Fatal(err)
	}
	c, err := MMFConfigFrom(th)
	if err != nil {
		t.Fatal(err)
	}
	c.ConfirmS, c.BackwashDurationS, c.RinseDurationS, c.StaleAfterS = 120, 600, 300, 120
	cases := []struct {
		name   string
		in     MMFInput
		after  float64
		reason string
	}{
		{"headloss", MMFInput{ok(0.65), ok(0.2)}, 10, "headloss 0.65 bar"},
		{"turbidity confirmed", MMFInput{ok(0.3), ok(1.5)}, 130, "turbidity 1.50 NTU"},
		{"timer", MMFInput{ok(0.3), ok(0.2)}, c.MaxRunS, "run timer"},
		{"timer with dead sensors", MMFInput{Reading{}, Reading{}}, c.MaxRunS, "run timer"},
	}
	for _, tc := range cases {
		var s MMFState
		var out MMFOutput
		for k := 0.0; k < tc.after; k += 10 {
			s, out, _ = c.Step(s, tc.in, 10)
		}
		if out.Mode != MMFBackwash || s.LastReason != tc.reason {
			t.Errorf("%s: mode %v reason %q", tc.name, out.Mode, s.LastReason)
		}
		for k := 0.0; k < c.BackwashDurationS+c.RinseDurationS; k += 10 {
			s, out, _ = c.Step(s, MMFInput{ok(0.1), ok(0.1)}, 10)
		}
		if !out.InService {
			t.Errorf("%s: not back in service after backwash and rinse: %+v", tc.name, out)
		}
	}
	// A short turbidity spike below the confirmation time does not backwash.
	var s MMFState
	s, out, _ := c.Step(s, MMFInput{ok(0.3), ok(2)}, 60)
	s, out, _ = c.Step(s, MMFInput{ok(0.3), ok(0.2)}, 60)
	if out.Mode != MMFFiltering || s.TurbHighS != 0 {
		t.Errorf("spike backwashed: %+v", out)
	}
}

func TestRouteByClass(t *testing.T) {
	cl, err := LoadClasses()
	if err != nil {
		t.Fatal(err)
	}
	ro := Stream{"ro_permeate", 40, map[string]float64{"conductivity_us_cm": 30, "turbidity_ntu": 0.05, "ph": 6.8,
		"tds_mgl": 20, "hardness_mgl_caco3": 2, "cl_mgl": 3, "alk_mgl_caco3": 5, "cod_mgl": 1, "nh3n_mgl": 0.1, "sio2_mgl": 0.5}}
	uf := Stream{"uf_filtrate", 100, map[string]float64{"conductivity_us_cm": 1400, "turbidity_ntu": 0.2, "ph": 7.4,
		"tds_mgl": 900, "hardness_mgl_caco3": 300, "cl_mgl": 180, "alk_mgl_caco3": 200, "cod_mgl": 30, "nh3n_mgl": 2, "sio2_mgl": 20}}
	if got := cl.Classify(ro.Quality); len(got) != 4 {
		t.Errorf("RO permeate classes %v, want all four", got)
	}
	if got := cl.Classify(uf.Quality); len(got) != 3 || got[0] != "boiler_makeup" {
		t.Errorf("UF filtrate classes %v", got)
	}
	maxCl := 150.0
	uses := []Use{
		{Name: "cooling_tower", Demand: 90, Priority: 2, Class: "cooling_makeup"},
		{Name: "boiler", Demand: 30, Priority: 1, Class: "ro_permeate"},
		{Name: "floor_wash", Demand: 30, Priority: 3, Class: "washing"},
		{Name: "sensitive_rinse", Demand: 5, Priority: 4, Class: "washing", Limits: map[string]Range{"cl_mgl": {Max: &maxCl}}},
	}
	r, err := cl.Route([]Stream{uf, ro}, uses)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, a := range r.Allocations {
		got[a.Stream+"→"+a.Use] += a.Flow
	}
	want := map[string]float64{"ro_permeate→boiler": 30, "uf_filtrate→cooling_tower": 90, "uf_filtrate→floor_wash": 10,
		"ro_permeate→floor_wash": 10, "ro_permeate→sensitive_rinse": 0}
	for k, v := range want {
		if math.Abs(got[k]-v) > 1e-9 {
			t.Errorf("%s = %g, want %g (all: %v)", k, got[k], v, got)
		}
	}
	if math.Abs(r.Unmet["floor_wash"]-10) > 1e-9 || math.Abs(r.Unmet["sensitive_rinse"]-5) > 1e-9 || len(r.Surplus) != 0 {
		t.Errorf("unmet %v surplus %v", r.Unmet, r.Surplus)
	}
	if len(r.Ineligible["sensitive_rinse"]) != 1 {
		t.Errorf("ineligible %v", r.Ineligible)
	}
	if _, err := cl.Route([]Stream{uf}, []Use{{Name: "x", Demand: 1, Class: "nope"}}); err == nil {
		t.Error("unknown class accepted")
	}
}
