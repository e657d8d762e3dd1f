package dosing

import (
	"fmt"
	"math"
)

// BiocideMode selects how oxidising biocide is fed.
type BiocideMode int

const (
	// BiocideORP feeds on/off with hysteresis on the oxidation-reduction potential.
	BiocideORP BiocideMode = iota
	// BiocideSchedule feeds slugs in daily time windows.
	BiocideSchedule
)

// Window is a daily feed window, seconds after local midnight.
type Window struct {
	StartS, DurationS float64
}

// BiocideConfig configures oxidising-biocide feed (hypochlorite, chlorine dioxide, bromine).
type BiocideConfig struct {
	Mode           BiocideMode
	ORPOnMV        float64 // start feeding at or below this ORP
	ORPOffMV       float64 // stop at or above this ORP
	PumpLh         float64 // feed rate while on; also the interlock maximum
	MaxOnSPerDay   float64 // cap on feed time per day (0 = none)
	Schedule       []Window
	PlausibleMinMV float64
	PlausibleMaxMV float64
	StaleAfterS    float64
	// ScheduleOnFault falls back to the schedule while the ORP cannot be used; otherwise the
	// feed stops.
	ScheduleOnFault bool
}

// Validate checks the configuration.
func (c BiocideConfig) Validate() error {
	if !(c.PumpLh > 0) || c.MaxOnSPerDay < 0 {
		return fmt.Errorf("biocide: pump rate must be positive")
	}
	if c.Mode == BiocideORP && (!(c.ORPOnMV < c.ORPOffMV) || !(c.PlausibleMinMV < c.PlausibleMaxMV) || c.StaleAfterS <= 0) {
		return fmt.Errorf("biocide: ORP mode needs On < Off, a plausible range and a staleness limit")
	}
	for _, w := range c.Schedule {
		if w.StartS < 0 || w.StartS >= 86400 || !(w.DurationS > 0) || w.DurationS > 86400 {
			return fmt.Errorf("biocide: window %+v outside one day", w)
		}
	}
	if (c.Mode == BiocideSchedule || c.ScheduleOnFault) && len(c.Schedule) == 0 {
		return fmt.Errorf("biocide: schedule required")
	}
	return nil
}

// BiocideState is the controller memory.
type BiocideState struct {
	On          bool
	OnTodayS    float64
	LastTimeS   float64 // time of day of the previous step, to detect midnight
	FailSafe    bool
	Initialised bool
}

// BiocideInput is read each step.
type BiocideInput struct {
	ORP        Reading // mV
	TimeOfDayS float64 // local time, seconds after midnight (from the caller's clock)
}

// BiocideOutput is the pump command.
type BiocideOutput struct {
	PumpLh float64
}

func (c BiocideConfig) inWindow(t float64) bool {
	for _, w := range c.Schedule {
		end := w.StartS + w.DurationS
		if (t >= w.StartS && t < end) || (end > 86400 && t < end-86400) {
			return true
		}
	}
	return false
}

// Step advances the biocide controller by dt seconds.
func (c BiocideConfig) Step(s BiocideState, in BiocideInput, dt float64) (BiocideState, BiocideOutput, []Alarm) {
	var alarms []Alarm
	t := in.TimeOfDayS
	if math.IsNaN(t) || t < 0 || t >= 86400 {
		s.On = false
		return s, BiocideOutput{}, []Alarm{{Code: "clock", Severity: Critical, Message: fmt.Sprintf("time of day %g s invalid; biocide stopped", t)}}
	}
	if s.Initialised && t < s.LastTimeS {
		s.OnTodayS = 0 // a new day
	}
	s.LastTimeS, s.Initialised = t, true
	want := false
	switch c.Mode {
	case BiocideSchedule:
		want = c.inWindow(t)
	default:
		if why := in.ORP.Problem(c.PlausibleMinMV, c.PlausibleMaxMV, c.StaleAfterS); why != "" {
			s.FailSafe = true
			msg := "ORP " + why + "; biocide stopped"
			if c.ScheduleOnFault {
				want = c.inWindow(t)
				msg = "ORP " + why + "; biocide on the fallback schedule"
			}
			alarms = append(alarms, Alarm{Code: "orp_sensor", Severity: Critical, Message: msg})
		} else {
			s.FailSafe = false
			switch {
			case in.ORP.Value <= c.ORPOnMV:
				want = true
			case in.ORP.Value >= c.ORPOffMV:
				want = false
			default:
				want = s.On
			}
		}
	}
	if want && c.MaxOnSPerDay > 0 && s.OnTodayS >= c.MaxOnSPerDay {
		want = false
		alarms = append(alarms, Alarm{Code: "biocide_daily_limit", Severity: Warning, Message: fmt.Sprintf("biocide feed time limit %.0f s/day reached", c.MaxOnSPerDay)})
	}
	s.On = want
	var out BiocideOutput
	if want {
		out.PumpLh = c.PumpLh
		if dt > 0 && !math.IsInf(dt, 0) {
			on := dt
			if c.MaxOnSPerDay > 0 && s.OnTodayS+dt > c.MaxOnSPerDay {
				// Average the pump over the step so the day's feed time ends exactly at the cap.
				on = c.MaxOnSPerDay - s.OnTodayS
				out.PumpLh = c.PumpLh * on / dt
			}
			s.OnTodayS += on
		}
	}
	return s, out, alarms
}
