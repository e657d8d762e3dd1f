package cooling

import (
	"math"
	"math/rand"
	"testing"
)

func levelConfig() LevelConfig {
	return LevelConfig{StartPct: 60, StopPct: 70, LowAlarmPct: 40, HighAlarmPct: 90, PlausibleMin: -5, PlausibleMax: 105, StaleAfterS: 30}
}

func TestLevelHysteresisAndFailSafe(t *testing.T) {
	c := levelConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	var s LevelState
	steps := []struct {
		level    float64
		wantOpen bool
	}{{65, false}, {59, true}, {65, true}, {71, false}, {65, false}, {30, true}}
	for i, st := range steps {
		var out LevelOutput
		var alarms []Alarm
		s, out, alarms = c.Step(s, Reading{Value: st.level, Valid: true}, 1)
		if out.MakeupValveOpen != st.wantOpen {
			t.Errorf("step %d level %g: valve %v, want %v", i, st.level, out.MakeupValveOpen, st.wantOpen)
		}
		if st.level == 30 && (len(alarms) != 1 || alarms[0].Code != "level_low") {
			t.Errorf("low level alarms %v", alarms)
		}
	}
	for _, r := range []Reading{{Value: 65, AgeS: 31, Valid: true}, {Value: 65, Valid: false}, {Value: 150, Valid: true}, {Value: math.NaN(), Valid: true}} {
		s2, out, alarms := c.Step(LevelState{ValveOpen: true}, r, 1)
		if !s2.FailSafe || out.MakeupValveOpen != c.FailSafeOpen || len(alarms) == 0 || alarms[0].Severity != Critical {
			t.Errorf("reading %+v: state %+v out %+v alarms %v", r, s2, out, alarms)
		}
	}
	bad := c
	bad.StartPct = 80
	if bad.Validate() == nil {
		t.Error("start above stop accepted")
	}
}

func blowdownConfig() BlowdownConfig {
	return BlowdownConfig{CyclesSetpoint: 5, Kp: 0.5, TiS: 1800, ValveCapacity: 10, ValveMin: 0, ValveMax: 1,
		DriftFlow: 0.1, ECMin: 10, ECMax: 20000, StaleAfterS: 120, FailSafeValve: 0.5, CyclesAlarmDev: 0.5}
}

// TestBlowdownHoldsCycles closes the loop on a basin conductivity balance
// V·dC/dt = M·C_m − (B + D)·C with M = E + B + D (level held), through a heat-load step.
func TestBlowdownHoldsCycles(t *testing.T) {
	c := blowdownConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	const V, cm, dt = 500.0, 400.0, 60.0 // m³, µS/cm, s
	C := 4.6 * cm
	E := 15.3
	var s BlowdownState
	worstLate := 0.0
	for k := 0; k < 24*60*6; k++ { // six days of minutes
		if k == 24*60*3 {
			E = 22 // heat-load step
		}
		in := BlowdownInput{BasinEC: Reading{Value: C, AgeS: 0, Valid: true}, MakeupEC: Reading{Value: cm, AgeS: 0, Valid: true}, Evaporation: Reading{Value: E, AgeS: 0, Valid: true}}
		var out BlowdownOutput
		s, out, _ = c.Step(s, in, dt)
		purge := out.BlowdownFlow + c.DriftFlow
		M := E + purge
		C += (M*cm - purge*C) / V * dt / 3600
		if k > 24*60 {
			worstLate = math.Max(worstLate, math.Abs(C/cm-c.CyclesSetpoint))
		}
	}
	t.Logf("worst |N - N_set| after day 1, through the heat-load step: %.3f", worstLate)
	if worstLate > 0.2 {
		t.Errorf("cycles deviate %.3f from the set-point after settling", worstLate)
	}
}

func TestBlowdownFailSafe(t *testing.T) {
	c := blowdownConfig()
	stale := Reading{Value: 2000, AgeS: 600, Valid: true}
	_, out, alarms := c.Step(BlowdownState{}, BlowdownInput{BasinEC: stale, MakeupEC: Reading{Value: 400, AgeS: 0, Valid: true}, Evaporation: Reading{Value: 15.3, AgeS: 0, Valid: true}}, 60)
	// Feed-forward: E/(N−1) − D = 15.3/4 − 0.1 = 3.725 m³/h → 0.3725 of a 10 m³/h valve.
	if !near(out.Valve, 0.3725, 1e-9) || !math.IsNaN(out.Cycles) || len(alarms) != 1 {
		t.Errorf("fail-safe with estimate: %+v %v", out, alarms)
	}
	_, out, _ = c.Step(BlowdownState{}, BlowdownInput{BasinEC: stale, MakeupEC: Reading{Value: 400, AgeS: 0, Valid: true}}, 60)
	if out.Valve != c.FailSafeValve {
		t.Errorf("fail-safe without estimate: valve %g", out.Valve)
	}
}

// TestBlowdownValveAlwaysWithinLimits is a property test over random inputs and states.
func TestBlowdownValveAlwaysWithinLimits(t *testing.T) {
	c := blowdownConfig()
	c.ValveMin, c.ValveMax = 0.05, 0.8
	rng := rand.New(rand.NewSource(1))
	vals := []float64{math.NaN(), math.Inf(1), math.Inf(-1), -1e9, 0, 1e-300, 1e12}
	pick := func() float64 {
		if rng.Intn(5) == 0 {
			return vals[rng.Intn(len(vals))]
		}
		return rng.Float64() * 25000
	}
	s := BlowdownState{}
	for i := 0; i < 200000; i++ {
		in := BlowdownInput{BasinEC: Reading{Value: pick(), AgeS: rng.Float64() * 300, Valid: rng.Intn(10) > 0},
			MakeupEC: Reading{Value: pick(), AgeS: rng.Float64() * 300, Valid: rng.Intn(10) > 0}, Evaporation: Reading{Value: pick(), AgeS: 0, Valid: rng.Intn(2) == 0}}
		var out BlowdownOutput
		s, out, _ = c.Step(s, in, rng.Float64()*600)
		if !(out.Valve >= c.ValveMin && out.Valve <= c.ValveMax) {
			t.Fatalf("step %d: valve %g outside [%g, %g] for %+v", i, out.Valve, c.ValveMin, c.ValveMax, in)
		}
		if math.IsNaN(s.Integral) || math.IsInf(s.Integral, 0) {
			t.Fatalf("step %d: integral %g", i, s.Integral)
		}
	}
}
