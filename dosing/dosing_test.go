package dosing

import (
	"math"
	"math/rand"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func inhibitorConfig(t testing.TB) InhibitorConfig {
	cal, err := TwoPoint(0, 2, 100, 102) // blank reads 2, 100 µg/L reads 102
	if err != nil {
		t.Fatal(err)
	}
	c := InhibitorConfig{SetpointMgL: 5, Kp: 0.02, TiS: 4 * 3600, ProductDensity: 1.2, PumpMinLh: 0, PumpMaxLh: 0.2,
		Meter: Fluorometer{Cal: cal, Ratio: 10, RefTempC: 25}, MaxPlausible: 25, StaleAfterS: 300, FailSafeLh: 0.01,
		ConsumptionAlarmPct: 20, TaggedRatio: 1, DeviationAlarmPct: 10}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTracerWorkedVectors reproduces chemistry.md §5.
func TestTracerWorkedVectors(t *testing.T) {
	c := inhibitorConfig(t)
	// 45 µg/L PTSA at r = 10 → 4.5 mg/L product; error −0.5 mg/L against 5.0.
	f := c.Meter.Cal.Slope*45 + c.Meter.Cal.Offset
	_, out, alarms := c.Step(InhibitorState{}, InhibitorInput{Fluorescence: Reading{Value: f, AgeS: 0, Valid: true}, TempC: 25,
		Purge: Reading{Value: 3.825, AgeS: 0, Valid: true}}, 60)
	if !near(out.TracerUgL, 45, 1e-9) || !near(out.ProductMgL, 4.5, 1e-9) || !near(out.ErrorMgL, -0.5, 1e-9) {
		t.Errorf("tracer %g product %g error %g", out.TracerUgL, out.ProductMgL, out.ErrorMgL)
	}
	// Feed-forward (B + D)·C_set with B + D = 3.825 m³/h: 0.01912 kg/h.
	if ff := c.FeedForwardKgH(3.825); !near(ff, 0.01912, 5e-6) || !near(out.FeedForwardLh, ff/1.2, 1e-12) {
		t.Errorf("feed-forward %g kg/h, %g L/h", ff, out.FeedForwardLh)
	}
	if out.PumpLh <= out.FeedForwardLh {
		t.Errorf("product below set-point must feed above the feed-forward: %g ≤ %g", out.PumpLh, out.FeedForwardLh)
	}
	if len(alarms) != 0 {
		t.Errorf("unexpected alarms %v", alarms) // −10 % exactly is not beyond the 10 % band
	}
	// Slug: 1 g PTSA raising the reading by 2 µg/L → 500 m³; HTI 90.6 h, τ 130.7 h, 95 % in ≈ 3τ = 392 h.
	v, err := SystemVolume(1, 2)
	if err != nil || !near(v, 500, 1e-9) {
		t.Fatalf("volume %g %v", v, err)
	}
	if h := HoldingTimeIndex(v, 3.825); !near(h, 90.6, 0.05) {
		t.Errorf("HTI %g", h)
	}
	if tt := TimeToFraction(v, 3.825, 0.95); !near(tt, 392, 1) {
		t.Errorf("95 %% time %g h", tt)
	}
	// Tagged polymer at 80 % of the tracer-expected value: 20 % consumption.
	if p, err := ConsumptionPercent(0.8*4.5, 4.5, 1); err != nil || !near(p, 20, 1e-9) {
		t.Errorf("consumption %g %v", p, err)
	}
	if q, err := TruePurge(19.125, 5); err != nil || !near(q, 3.825, 1e-12) {
		t.Errorf("true purge %g %v", q, err)
	}
}

func TestTwoPointCalibrationAndCompensation(t *testing.T) {
	cal, err := TwoPoint(10, 25, 60, 125)
	if err != nil || !near(cal.Slope, 2, 1e-12) || !near(cal.Offset, 5, 1e-12) || !near(cal.Tracer(105), 50, 1e-12) {
		t.Errorf("calibration %+v %v", cal, err)
	}
	if _, err := TwoPoint(10, 25, 10, 30); err == nil {
		t.Error("equal standards accepted")
	}
	if _, err := TwoPoint(10, 25, 60, 20); err == nil {
		t.Error("negative slope accepted")
	}
	m := Fluorometer{Cal: Calibration{Slope: 1}, TempCoeff: -0.01, RefTempC: 25, Ratio: 10}
	tr, p := m.Product(45*(1-0.01*10), 35) // 10 °C warmer reads 10 % low
	if !near(tr, 45, 1e-9) || !near(p, 4.5, 1e-9) {
		t.Errorf("compensated %g µg/L %g mg/L", tr, p)
	}
}

func TestInhibitorFailSafeAndConsumptionAlarm(t *testing.T) {
	c := inhibitorConfig(t)
	f := c.Meter.Cal.Slope*50 + c.Meter.Cal.Offset
	for _, fl := range []Reading{{Value: f, AgeS: 1000, Valid: true}, {Value: f}, {Value: 1e6, Valid: true}, {Value: math.NaN(), Valid: true}} {
		s, out, alarms := c.Step(InhibitorState{Integral: 100}, InhibitorInput{Fluorescence: fl, TempC: 25, Purge: Reading{Value: 3.825, AgeS: 0, Valid: true}}, 60)
		if !s.FailSafe || !near(out.PumpLh, 3.825*5/1000/1.2, 1e-12) || len(alarms) != 1 || alarms[0].Code != "tracer_sensor" {
			t.Errorf("reading %+v: state %+v out %+v alarms %v", fl, s, out, alarms)
		}
		_, out, _ = c.Step(InhibitorState{}, InhibitorInput{Fluorescence: fl, TempC: 25}, 60)
		if out.PumpLh != c.FailSafeLh {
			t.Errorf("no purge: pump %g, want fail-safe %g", out.PumpLh, c.FailSafeLh)
		}
	}
	_, out, alarms := c.Step(InhibitorState{}, InhibitorInput{Fluorescence: Reading{Value: f, AgeS: 0, Valid: true}, TempC: 25,
		Purge: Reading{Value: 3.825, AgeS: 0, Valid: true}, Tagged: Reading{Value: 3.5, AgeS: 0, Valid: true}}, 60)
	if !near(out.ConsumptionPct, 30, 1e-9) || len(alarms) != 1 || alarms[0].Code != "polymer_consumption" {
		t.Errorf("consumption %g alarms %v", out.ConsumptionPct, alarms)
	}
}

// TestInhibitorHoldsProduct closes the loop on a mixed tank V·dC/dt = 1000·ρ·feed − (B+D)·C
// (C mg/L, feed L/h) through a blowdown step, with the purge measurement off by 15 %.
func TestInhibitorHoldsProduct(t *testing.T) {
	c := inhibitorConfig(t)
	const V, dt = 500.0, 60.0
	C, purge := 5.0, 3.825
	var s InhibitorState
	worst := 0.0
	for k := 0; k < 20*24*60; k++ {
		if k == 10*24*60 {
			purge = 6
		}
		f := c.Meter.Cal.Slope*C*c.Meter.Ratio + c.Meter.Cal.Offset
		var out InhibitorOutput
		s, out, _ = c.Step(s, InhibitorInput{Fluorescence: Reading{Value: f, AgeS: 0, Valid: true}, TempC: 25, Purge: Reading{Value: purge * 0.85, AgeS: 0, Valid: true}}, dt)
		C += (1000*c.ProductDensity*out.PumpLh - purge*C) / V * dt / 3600
		if k > 2*24*60 {
			worst = math.Max(worst, math.Abs(C-c.SetpointMgL)/c.SetpointMgL)
		}
	}
	t.Logf("worst product deviation %.1f %%", 100*worst)
	if worst > 0.10 {
		t.Errorf("product deviates %.1f %% from the set-point", 100*worst)
	}
}

// TestPumpLimitsNeverExceeded is the interlock property: for arbitrary (also absurd) inputs,
// states and step lengths, no controller commands more than its pump limit or less than zero.
func TestPumpLimitsNeverExceeded(t *testing.T) {
	inh := inhibitorConfig(t)
	acid := AcidConfig{SetpointPH: 7.8, DeadbandPH: 0.05, Kp: 2, TiS: 1800, PumpMaxLh: 5, PlausibleMin: 2, PlausibleMax: 12,
		StaleAfterS: 120, LowLowPH: 6.5, HighAlarmPH: 8.8, ProductPerDay: 50}
	bio := BiocideConfig{Mode: BiocideORP, ORPOnMV: 550, ORPOffMV: 650, PumpLh: 3, MaxOnSPerDay: 7200,
		Schedule: []Window{{StartS: 3600, DurationS: 1800}}, PlausibleMinMV: -500, PlausibleMaxMV: 1200, StaleAfterS: 120, ScheduleOnFault: true}
	for _, err := range []error{acid.Validate(), bio.Validate()} {
		if err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewSource(7))
	odd := []float64{math.NaN(), math.Inf(1), math.Inf(-1), -1e300, 0, 1e300, -3}
	val := func(scale float64) float64 {
		if rng.Intn(6) == 0 {
			return odd[rng.Intn(len(odd))]
		}
		return (rng.Float64()*2 - 0.2) * scale
	}
	rd := func(scale float64) Reading {
		return Reading{Value: val(scale), AgeS: math.Abs(val(400)), Valid: rng.Intn(8) > 0}
	}
	var is InhibitorState
	var as AcidState
	var bs BiocideState
	acidVol, bioOn := 0.0, 0.0
	tod := 0.0
	for i := 0; i < 100000; i++ {
		dt := math.Abs(val(600))
		if rng.Intn(50) == 0 {
			is.Integral = val(1e9)
			as.Integral = val(1e9)
		}
		var io InhibitorOutput
		is, io, _ = inh.Step(is, InhibitorInput{Fluorescence: rd(600), TempC: val(60), Purge: rd(20), Tagged: rd(10)}, dt)
		if !(io.PumpLh >= inh.PumpMinLh && io.PumpLh <= inh.PumpMaxLh) {
			t.Fatalf("step %d: inhibitor pump %g outside [%g, %g]", i, io.PumpLh, inh.PumpMinLh, inh.PumpMaxLh)
		}
		var ao AcidOutput
		as, ao, _ = acid.Step(as, rd(14), dt)
		if !(ao.PumpLh >= 0 && ao.PumpLh <= acid.PumpMaxLh) {
			t.Fatalf("step %d: acid pump %g", i, ao.PumpLh)
		}
		step := 60.0
		tod += step
		if tod >= 86400 {
			tod -= 86400
			as = as.ResetDay()
			acidVol, bioOn = 0, 0
		}
		var bo BiocideOutput
		bs, bo, _ = bio.Step(bs, BiocideInput{ORP: rd(1500), TimeOfDayS: tod}, step)
		if !(bo.PumpLh >= 0 && bo.PumpLh <= bio.PumpLh) {
			t.Fatalf("step %d: biocide pump %g", i, bo.PumpLh)
		}
		bioOn += bo.PumpLh / bio.PumpLh * step
		if bioOn > bio.MaxOnSPerDay+1e-6 {
			t.Fatalf("step %d: biocide fed %g s today, cap %g", i, bioOn, bio.MaxOnSPerDay)
		}
		if dt > 0 && !math.IsInf(dt, 0) {
			acidVol += ao.PumpLh * dt / 3600
		}
		if acidVol > acid.ProductPerDay+1e-6 {
			t.Fatalf("step %d: acid fed %g L today, cap %g", i, acidVol, acid.ProductPerDay)
		}
	}
}

func TestAcidControl(t *testing.T) {
	c := AcidConfig{SetpointPH: 7.8, DeadbandPH: 0.05, Kp: 2, TiS: 0, PumpMaxLh: 5, PlausibleMin: 2, PlausibleMax: 12,
		StaleAfterS: 120, LowLowPH: 6.5, HighAlarmPH: 8.8}
	cases := []struct {
		ph   Reading
		pump float64
		code string
	}{
		{Reading{Value: 7.82, AgeS: 0, Valid: true}, 0, ""},       // inside the deadband
		{Reading{Value: 8.3, AgeS: 0, Valid: true}, 2 * 0.45, ""}, // P action on (0.5 − 0.05)
		{Reading{Value: 9.0, AgeS: 0, Valid: true}, 2 * 1.15, "ph_high"},
		{Reading{Value: 6.4, AgeS: 0, Valid: true}, 0, "ph_low_low"},  // stop acid
		{Reading{Value: 8.3, AgeS: 500, Valid: true}, 0, "ph_sensor"}, // stale → off
		{Reading{Value: 13, AgeS: 0, Valid: true}, 0, "ph_sensor"},    // implausible → off
	}
	for i, tc := range cases {
		_, out, alarms := c.Step(AcidState{}, tc.ph, 60)
		if !near(out.PumpLh, tc.pump, 1e-9) {
			t.Errorf("case %d: pump %g, want %g", i, out.PumpLh, tc.pump)
		}
		if (tc.code == "") != (len(alarms) == 0) || (tc.code != "" && alarms[0].Code != tc.code) {
			t.Errorf("case %d: alarms %v, want %q", i, alarms, tc.code)
		}
	}
}

func TestBiocideORPAndSchedule(t *testing.T) {
	c := BiocideConfig{Mode: BiocideORP, ORPOnMV: 550, ORPOffMV: 650, PumpLh: 3, PlausibleMinMV: -500, PlausibleMaxMV: 1200,
		StaleAfterS: 120, Schedule: []Window{{StartS: 23 * 3600, DurationS: 2 * 3600}}, ScheduleOnFault: true}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	var s BiocideState
	seq := []struct {
		orp float64
		on  bool
	}{{600, false}, {540, true}, {600, true}, {660, false}, {600, false}}
	for i, q := range seq {
		var out BiocideOutput
		s, out, _ = c.Step(s, BiocideInput{ORP: Reading{Value: q.orp, AgeS: 0, Valid: true}, TimeOfDayS: 3600 + float64(i)}, 1)
		if (out.PumpLh > 0) != q.on {
			t.Errorf("step %d ORP %g: pump %g", i, q.orp, out.PumpLh)
		}
	}
	// Faulted ORP falls back to the window that wraps midnight (23:00-01:00).
	for _, tc := range []struct {
		tod float64
		on  bool
	}{{23.5 * 3600, true}, {0.5 * 3600, true}, {2 * 3600, false}} {
		_, out, alarms := c.Step(BiocideState{}, BiocideInput{ORP: Reading{Value: 600, AgeS: 0, Valid: false}, TimeOfDayS: tc.tod}, 1)
		if (out.PumpLh > 0) != tc.on || len(alarms) != 1 {
			t.Errorf("fallback at %g h: pump %g alarms %v", tc.tod/3600, out.PumpLh, alarms)
		}
	}
	bad := c
	bad.ORPOnMV = 700
	if bad.Validate() == nil {
		t.Error("On above Off accepted")
	}
}

func BenchmarkInhibitorStep(b *testing.B) {
	c := inhibitorConfig(b)
	in := InhibitorInput{Fluorescence: Reading{Value: 47, AgeS: 0, Valid: true}, TempC: 30, Purge: Reading{Value: 3.8, AgeS: 0, Valid: true}, Tagged: Reading{Value: 4, AgeS: 0, Valid: true}}
	var s InhibitorState
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s, _, _ = c.Step(s, in, 1)
	}
}
