package dosing

import (
	"fmt"
	"math"
)

// InhibitorConfig configures tracer-based inhibitor feed.
type InhibitorConfig struct {
	SetpointMgL    float64     // product concentration to hold in the system
	Kp             float64     // L/h of product per mg/L of error
	TiS            float64     // integral time, s (0 = no integral)
	ProductDensity float64     // kg/L of neat product, for the feed-forward
	PumpMinLh      float64     // pump limits, L/h; PumpMaxLh is the interlock maximum
	PumpMaxLh      float64     //
	Meter          Fluorometer // fluorescence → product
	MaxPlausible   float64     // product mg/L above which a reading is implausible (fouled cell, slug)
	StaleAfterS    float64
	// FailSafeLh is the feed while neither the tracer nor the purge can be used; with a usable
	// purge the controller feeds the feed-forward (B + D)·C_set instead.
	FailSafeLh float64
	// ConsumptionAlarmPct raises a stress alarm when the tagged polymer falls this far below
	// the tracer; TaggedRatio is the tagged/tracer ratio of fresh product.
	ConsumptionAlarmPct float64
	TaggedRatio         float64
	DeviationAlarmPct   float64 // alarm when |C − C_set| exceeds this percentage of C_set
}

// Validate checks the configuration.
func (c InhibitorConfig) Validate() error {
	switch {
	case !(c.SetpointMgL > 0):
		return fmt.Errorf("inhibitor: set-point must be positive")
	case !(c.PumpMinLh >= 0 && c.PumpMaxLh > c.PumpMinLh):
		return fmt.Errorf("inhibitor: need 0 ≤ PumpMinLh < PumpMaxLh")
	case !(c.FailSafeLh >= c.PumpMinLh && c.FailSafeLh <= c.PumpMaxLh):
		return fmt.Errorf("inhibitor: fail-safe rate outside the pump limits")
	case !(c.ProductDensity > 0) || !(c.Meter.Ratio > 0) || !(c.Meter.Cal.Slope > 0):
		return fmt.Errorf("inhibitor: product density, tracer ratio and calibration slope must be positive")
	case c.Kp < 0 || c.TiS < 0 || !(c.MaxPlausible > c.SetpointMgL) || c.StaleAfterS <= 0:
		return fmt.Errorf("inhibitor: gains, plausible maximum and staleness limit required")
	}
	return nil
}

// InhibitorState is the controller memory.
type InhibitorState struct {
	Integral float64 // ∫(C_set − C) dt, mg/L·s
	FailSafe bool
}

// InhibitorInput is read each step.
type InhibitorInput struct {
	Fluorescence Reading // raw fluorometer signal
	TempC        float64 // sample temperature for the fluorescence compensation
	Purge        Reading // B + D, m³/h (measured blowdown + drift estimate)
	// Tagged is the tagged-polymer channel as product mg/L; Valid=false when not fitted.
	Tagged Reading
}

// InhibitorOutput is the pump command and the signals behind it.
type InhibitorOutput struct {
	PumpLh         float64 // commanded product feed, L/h (always within the pump limits)
	ProductMgL     float64 // measured product (NaN in fail-safe)
	TracerUgL      float64
	ErrorMgL       float64 // C − C_set
	FeedForwardLh  float64
	ConsumptionPct float64 // NaN without a tagged channel
}

// FeedForwardKgH is the steady product demand (B + D)·C_set in kg/h.
func (c InhibitorConfig) FeedForwardKgH(purge float64) float64 { return purge * c.SetpointMgL / 1000 }

// Step advances the inhibitor controller by dt seconds.
func (c InhibitorConfig) Step(s InhibitorState, in InhibitorInput, dt float64) (InhibitorState, InhibitorOutput, []Alarm) {
	out := InhibitorOutput{ProductMgL: math.NaN(), TracerUgL: math.NaN(), ErrorMgL: math.NaN(), ConsumptionPct: math.NaN()}
	var alarms []Alarm
	ff, haveFF := 0.0, false
	if in.Purge.Problem(0, 1e5, c.StaleAfterS) == "" {
		ff, haveFF = c.FeedForwardKgH(in.Purge.Value)/c.ProductDensity, true
	}
	out.FeedForwardLh = ff
	why := in.Fluorescence.Problem(math.Inf(-1), math.Inf(1), c.StaleAfterS)
	if why == "" && !math.IsNaN(in.TempC) {
		out.TracerUgL, out.ProductMgL = c.Meter.Product(in.Fluorescence.Value, in.TempC)
		if !(out.ProductMgL >= -0.05*c.SetpointMgL && out.ProductMgL <= c.MaxPlausible) {
			why = fmt.Sprintf("implausible product %.3g mg/L", out.ProductMgL)
		}
	} else if why == "" {
		why = "sample temperature unknown"
	}
	if why != "" {
		s.FailSafe = true
		out.PumpLh = limit(c.FailSafeLh, c.PumpMinLh, c.PumpMaxLh)
		msg := "tracer " + why + "; inhibitor at the fail-safe rate"
		if haveFF {
			out.PumpLh = limit(ff, c.PumpMinLh, c.PumpMaxLh)
			msg = "tracer " + why + "; inhibitor on feed-forward (B + D)·C_set"
		}
		out.ProductMgL, out.TracerUgL = math.NaN(), math.NaN()
		return s, out, append(alarms, Alarm{Code: "tracer_sensor", Severity: Critical, Message: msg})
	}
	if s.FailSafe {
		s.FailSafe, s.Integral = false, 0
	}
	e := c.SetpointMgL - out.ProductMgL
	out.ErrorMgL = -e
	out.PumpLh, s.Integral = pi(ff, c.Kp, c.TiS, e, s.Integral, dt, c.PumpMinLh, c.PumpMaxLh)
	if c.DeviationAlarmPct > 0 && math.Abs(e) > c.DeviationAlarmPct/100*c.SetpointMgL {
		alarms = append(alarms, Alarm{Code: "product_deviation", Severity: Warning, Message: fmt.Sprintf("product %.2f mg/L, set-point %.2f mg/L", out.ProductMgL, c.SetpointMgL)})
	}
	if c.TaggedRatio > 0 && in.Tagged.Problem(0, c.MaxPlausible*c.TaggedRatio, c.StaleAfterS) == "" && out.ProductMgL > 0 {
		if pct, err := ConsumptionPercent(in.Tagged.Value, out.ProductMgL, c.TaggedRatio); err == nil {
			out.ConsumptionPct = pct
			if c.ConsumptionAlarmPct > 0 && pct > c.ConsumptionAlarmPct {
				alarms = append(alarms, Alarm{Code: "polymer_consumption", Severity: Warning, Message: fmt.Sprintf("%.0f %% of the polymer consumed (limit %.0f %%): scaling stress or fouled sensor", pct, c.ConsumptionAlarmPct)})
			}
		}
	}
	return s, out, alarms
}
