package cooling

import (
	"fmt"
	"math"

	"github.com/shuixiao/shuixiao/sensor"
)

// Reading, Alarm and Severity are the control packages' shared types.
type (
	Reading  = sensor.Reading
	Alarm    = sensor.Alarm
	Severity = sensor.Severity
)

// Alarm severities.
const (
	Warning  = sensor.Warning
	Critical = sensor.Critical
)

// LevelConfig configures the basin make-up controller: an on/off make-up valve with hysteresis.
type LevelConfig struct {
	StartPct, StopPct          float64 // open below StartPct, close above StopPct (StartPct < StopPct)
	LowAlarmPct, HighAlarmPct  float64
	PlausibleMin, PlausibleMax float64 // e.g. −5 and 105 % of span
	StaleAfterS                float64
	FailSafeOpen               bool // make-up valve position while the level is unknown
}

// Validate checks the configuration.
func (c LevelConfig) Validate() error {
	if !(c.StartPct < c.StopPct) || !(c.LowAlarmPct < c.StartPct) || !(c.HighAlarmPct > c.StopPct) {
		return fmt.Errorf("level: need LowAlarm < Start < Stop < HighAlarm, got %g %g %g %g",
			c.LowAlarmPct, c.StartPct, c.StopPct, c.HighAlarmPct)
	}
	if !(c.PlausibleMin < c.PlausibleMax) || c.StaleAfterS <= 0 {
		return fmt.Errorf("level: plausible range and staleness limit required")
	}
	return nil
}

// LevelState is the make-up controller state.
type LevelState struct {
	ValveOpen bool
	FailSafe  bool
}

// LevelOutput is the make-up command.
type LevelOutput struct {
	MakeupValveOpen bool
}

// Step advances the make-up controller by dt seconds.
func (c LevelConfig) Step(s LevelState, level Reading, dt float64) (LevelState, LevelOutput, []Alarm) {
	var alarms []Alarm
	if why := level.Problem(c.PlausibleMin, c.PlausibleMax, c.StaleAfterS); why != "" {
		s.FailSafe, s.ValveOpen = true, c.FailSafeOpen
		alarms = append(alarms, Alarm{Code: "level_sensor", Severity: Critical, Message: "basin level " + why + "; make-up valve to fail-safe"})
		return s, LevelOutput{MakeupValveOpen: s.ValveOpen}, alarms
	}
	s.FailSafe = false
	switch {
	case level.Value <= c.StartPct:
		s.ValveOpen = true
	case level.Value >= c.StopPct:
		s.ValveOpen = false
	}
	if level.Value <= c.LowAlarmPct {
		alarms = append(alarms, Alarm{Code: "level_low", Severity: Critical, Message: fmt.Sprintf("basin level %.1f %% below %.1f %%", level.Value, c.LowAlarmPct)})
	}
	if level.Value >= c.HighAlarmPct {
		alarms = append(alarms, Alarm{Code: "level_high", Severity: Warning, Message: fmt.Sprintf("basin level %.1f %% above %.1f %% (overflow risk)", level.Value, c.HighAlarmPct)})
	}
	return s, LevelOutput{MakeupValveOpen: s.ValveOpen}, alarms
}

// BlowdownConfig configures the conductivity-driven blowdown controller. Measured cycles are
// N = EC_basin/EC_makeup; a PI controller (with feed-forward from the evaporation estimate)
// positions a blowdown valve whose full-open flow is ValveCapacity.
type BlowdownConfig struct {
	CyclesSetpoint float64
	Kp             float64 // valve fraction per cycle of error
	TiS            float64 // integral time, s (0 = P only)
	ValveCapacity  float64 // m³/h at full opening
	ValveMin       float64 // minimum opening (0..1)
	ValveMax       float64 // maximum opening (0..1)
	DriftFlow      float64 // m³/h, purge that leaves without the valve
	ECMin, ECMax   float64 // plausible conductivity, µS/cm
	StaleAfterS    float64
	// FailSafeValve is the opening used when the conductivity is unusable and no evaporation
	// estimate is available; with an estimate the valve bleeds E/(N−1) − D instead.
	FailSafeValve  float64
	CyclesAlarmDev float64 // alarm when |N − N_set| exceeds this
	// MakeupFilterS lags the make-up conductivity by the system time constant V/(B + D) so a
	// make-up quality swing is compared with the basin water it has actually mixed into:
	// EC_basin/EC_makeup,lagged is then the mass-balance cycles M/(B + D). 0 disables it.
	MakeupFilterS float64
	// SystemVolumeM3, when set, replaces MakeupFilterS by the current time constant
	// V/(E/(N_set − 1)) whenever the evaporation estimate is usable (it changes with heat load).
	SystemVolumeM3 float64
}

// Validate checks the configuration.
func (c BlowdownConfig) Validate() error {
	switch {
	case !(c.CyclesSetpoint > 1):
		return fmt.Errorf("blowdown: cycles set-point %g must exceed 1", c.CyclesSetpoint)
	case !(c.ValveCapacity > 0):
		return fmt.Errorf("blowdown: valve capacity must be positive")
	case !(c.ValveMin >= 0 && c.ValveMin < c.ValveMax && c.ValveMax <= 1):
		return fmt.Errorf("blowdown: need 0 ≤ ValveMin < ValveMax ≤ 1")
	case !(c.FailSafeValve >= c.ValveMin && c.FailSafeValve <= c.ValveMax):
		return fmt.Errorf("blowdown: fail-safe opening outside the valve limits")
	case c.Kp < 0 || c.TiS < 0 || !(c.ECMin > 0 && c.ECMin < c.ECMax) || c.StaleAfterS <= 0 || c.CyclesAlarmDev <= 0 || c.MakeupFilterS < 0 || c.SystemVolumeM3 < 0:
		return fmt.Errorf("blowdown: gains, plausible range, staleness and alarm band required")
	}
	return nil
}

// BlowdownState is the PI controller state.
type BlowdownState struct {
	Integral float64 // ∫e dt, cycle·s
	FailSafe bool
	// MakeupLagged is the lagged make-up conductivity (µS/cm), 0 until the first reading.
	MakeupLagged float64
}

// BlowdownInput is what the controller reads each step.
type BlowdownInput struct {
	BasinEC     Reading // µS/cm
	MakeupEC    Reading // µS/cm
	Evaporation Reading // m³/h estimate (heat load); Valid=false when unknown
}

// BlowdownOutput is the valve command and what it was based on.
type BlowdownOutput struct {
	Valve        float64 // opening 0..1
	BlowdownFlow float64 // m³/h the opening stands for
	Cycles       float64 // measured cycles (NaN in fail-safe)
}

// Step advances the blowdown controller by dt seconds.
func (c BlowdownConfig) Step(s BlowdownState, in BlowdownInput, dt float64) (BlowdownState, BlowdownOutput, []Alarm) {
	var alarms []Alarm
	ff, haveFF := 0.0, false
	if in.Evaporation.Problem(0, 1e6, c.StaleAfterS) == "" {
		b := in.Evaporation.Value/(c.CyclesSetpoint-1) - c.DriftFlow
		ff, haveFF = math.Max(b, 0)/c.ValveCapacity, true
	}
	whyB := in.BasinEC.Problem(c.ECMin, c.ECMax, c.StaleAfterS)
	whyM := in.MakeupEC.Problem(c.ECMin, c.ECMax, c.StaleAfterS)
	if whyB != "" || whyM != "" {
		s.FailSafe = true
		v := c.FailSafeValve
		if haveFF {
			v = ff
		}
		v = clamp(v, c.ValveMin, c.ValveMax)
		msg := "conductivity unusable (basin: " + orOK(whyB) + ", make-up: " + orOK(whyM) + "); blowdown at "
		if haveFF {
			msg += "the mass-balance estimate E/(N−1) − D"
		} else {
			msg += "the fail-safe opening"
		}
		alarms = append(alarms, Alarm{Code: "conductivity_sensor", Severity: Critical, Message: msg})
		return s, BlowdownOutput{Valve: v, BlowdownFlow: v * c.ValveCapacity, Cycles: math.NaN()}, alarms
	}
	if s.FailSafe {
		s.FailSafe, s.Integral = false, 0 // bumpless return: restart the integral from feed-forward
	}
	mk := in.MakeupEC.Value
	tau := c.MakeupFilterS
	if c.SystemVolumeM3 > 0 && haveFF && in.Evaporation.Value > 0 {
		tau = 3600 * c.SystemVolumeM3 / (in.Evaporation.Value / (c.CyclesSetpoint - 1))
	}
	if tau > 0 {
		if s.MakeupLagged > 0 && dt > 0 && !math.IsInf(dt, 0) {
			s.MakeupLagged += dt / (tau + dt) * (mk - s.MakeupLagged)
		} else if !(s.MakeupLagged > 0) {
			s.MakeupLagged = mk
		}
		mk = s.MakeupLagged
	}
	n := in.BasinEC.Value / mk
	e := n - c.CyclesSetpoint // too many cycles → open the valve
	integral := s.Integral
	if c.TiS > 0 {
		integral += e * dt
	}
	u := ff + c.Kp*e
	if c.TiS > 0 {
		u += c.Kp * integral / c.TiS
	}
	v := clamp(u, c.ValveMin, c.ValveMax)
	// Anti-windup: integrate only while the valve is not pushed further into a limit.
	if !(v != u && (u > v) == (e > 0)) {
		s.Integral = integral
	}
	if math.Abs(e) > c.CyclesAlarmDev {
		alarms = append(alarms, Alarm{Code: "cycles_deviation", Severity: Warning, Message: fmt.Sprintf("cycles %.2f, set-point %.2f", n, c.CyclesSetpoint)})
	}
	return s, BlowdownOutput{Valve: v, BlowdownFlow: v * c.ValveCapacity, Cycles: n}, alarms
}

func orOK(s string) string {
	if s == "" {
		return "ok"
	}
	return s
}

func clamp(v, lo, hi float64) float64 {
	if math.IsNaN(v) {
		return lo
	}
	return math.Max(lo, math.Min(hi, v))
}
