package dosing

import (
	"fmt"
	"math"
)

// AcidConfig configures acid feed for pH control (sulfuric or hydrochloric acid lowers the pH
// and the alkalinity, and with them the calcite saturation).
type AcidConfig struct {
	SetpointPH    float64
	DeadbandPH    float64 // no correction within ± this band
	Kp            float64 // L/h per pH unit above the set-point
	TiS           float64
	PumpMaxLh     float64 // interlock maximum
	PlausibleMin  float64 // pH
	PlausibleMax  float64
	StaleAfterS   float64
	LowLowPH      float64 // acid stops and a critical alarm is raised at or below this pH
	HighAlarmPH   float64 // warning above this pH
	ProductPerDay float64 // optional daily acid limit, L (0 = none)
}

// Validate checks the configuration.
func (c AcidConfig) Validate() error {
	switch {
	case !(c.PumpMaxLh > 0) || c.Kp < 0 || c.TiS < 0 || c.DeadbandPH < 0:
		return fmt.Errorf("acid: pump maximum, gains and deadband invalid")
	case !(c.PlausibleMin < c.LowLowPH && c.LowLowPH < c.SetpointPH && c.SetpointPH < c.PlausibleMax):
		return fmt.Errorf("acid: need PlausibleMin < LowLow < set-point < PlausibleMax")
	case c.StaleAfterS <= 0:
		return fmt.Errorf("acid: staleness limit required")
	}
	return nil
}

// AcidState is the controller memory.
type AcidState struct {
	Integral   float64
	FailSafe   bool
	DayVolumeL float64 // acid fed since the last ResetDay
}

// ResetDay starts a new daily acid tally.
func (s AcidState) ResetDay() AcidState { s.DayVolumeL = 0; return s }

// AcidOutput is the pump command.
type AcidOutput struct {
	PumpLh float64
}

// Step advances the acid controller by dt seconds with the measured pH. Acid's fail-safe is
// off: an unknown pH never gets acid.
func (c AcidConfig) Step(s AcidState, ph Reading, dt float64) (AcidState, AcidOutput, []Alarm) {
	if why := ph.Problem(c.PlausibleMin, c.PlausibleMax, c.StaleAfterS); why != "" {
		s.FailSafe = true
		return s, AcidOutput{}, []Alarm{{Code: "ph_sensor", Severity: Critical, Message: "pH " + why + "; acid feed stopped"}}
	}
	if s.FailSafe {
		s.FailSafe, s.Integral = false, 0
	}
	var alarms []Alarm
	if ph.Value <= c.LowLowPH {
		s.Integral = 0
		return s, AcidOutput{}, []Alarm{{Code: "ph_low_low", Severity: Critical, Message: fmt.Sprintf("pH %.2f at or below %.2f; acid feed stopped", ph.Value, c.LowLowPH)}}
	}
	if c.HighAlarmPH > 0 && ph.Value > c.HighAlarmPH {
		alarms = append(alarms, Alarm{Code: "ph_high", Severity: Warning, Message: fmt.Sprintf("pH %.2f above %.2f", ph.Value, c.HighAlarmPH)})
	}
	e := ph.Value - c.SetpointPH
	switch {
	case math.Abs(e) <= c.DeadbandPH:
		e = 0
	case e > 0:
		e -= c.DeadbandPH
	default:
		e += c.DeadbandPH
	}
	max := c.PumpMaxLh
	if c.ProductPerDay > 0 {
		if s.DayVolumeL >= c.ProductPerDay {
			max = 0
			alarms = append(alarms, Alarm{Code: "acid_daily_limit", Severity: Warning, Message: fmt.Sprintf("daily acid limit %.1f L reached", c.ProductPerDay)})
		} else if dt > 0 {
			max = math.Min(max, (c.ProductPerDay-s.DayVolumeL)*3600/dt)
		}
	}
	var out AcidOutput
	out.PumpLh, s.Integral = pi(0, c.Kp, c.TiS, e, s.Integral, dt, 0, max)
	if dt > 0 && !math.IsInf(dt, 0) {
		s.DayVolumeL += out.PumpLh * dt / 3600
	}
	return s, out, alarms
}
