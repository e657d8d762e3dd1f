package reuse

import (
	"fmt"
	"math"
)

// MMFMode is the state of a multimedia filter.
type MMFMode int

const (
	// MMFFiltering is in service.
	MMFFiltering MMFMode = iota
	// MMFBackwash is air scour and water backwash.
	MMFBackwash
	// MMFRinse is the forward rinse to waste before returning to service.
	MMFRinse
)

// MMFConfig configures the multimedia-filter backwash: on headloss, on effluent-turbidity
// breakthrough (confirmed for ConfirmS) or on the run timer, whichever comes first.
type MMFConfig struct {
	HeadlossBar       float64
	TurbidityNTU      float64
	ConfirmS          float64
	MaxRunS           float64
	BackwashDurationS float64
	RinseDurationS    float64
	StaleAfterS       float64
}

// MMFConfigFrom fills the trigger defaults of data/thresholds.csv.
func MMFConfigFrom(t Thresholds) (MMFConfig, error) {
	v, err := need(t, "thresholds.csv", "mmf_headloss_bar", "mmf_turbidity_ntu", "mmf_run_s")
	if err != nil {
		return MMFConfig{}, err
	}
	return MMFConfig{HeadlossBar: v[0], TurbidityNTU: v[1], MaxRunS: v[2]}, nil
}

// MMFState is the filter memory.
type MMFState struct {
	Mode       MMFMode
	InModeS    float64
	TurbHighS  float64 // time the turbidity has been above the limit
	LastReason string  // why the last backwash started
}

// MMFInput is what the filter reads each step.
type MMFInput struct {
	Headloss  Reading // bar across the bed
	Turbidity Reading // effluent NTU
}

// MMFOutput is the command to the filter.
type MMFOutput struct {
	Mode      MMFMode
	InService bool
	Backwash  bool
	Rinse     bool
}

// Step advances the filter by dt seconds.
func (c MMFConfig) Step(s MMFState, in MMFInput, dt float64) (MMFState, MMFOutput, []Alarm) {
	if !(dt >= 0) || math.IsInf(dt, 0) {
		dt = 0
	}
	var alarms []Alarm
	s.InModeS += dt
	switch s.Mode {
	case MMFBackwash:
		if s.InModeS >= c.BackwashDurationS {
			s.Mode, s.InModeS = MMFRinse, 0
		}
	case MMFRinse:
		if s.InModeS >= c.RinseDurationS {
			s.Mode, s.InModeS, s.TurbHighS = MMFFiltering, 0, 0
		}
	default:
		reason := ""
		if why := in.Headloss.Problem(-0.2, 10, c.StaleAfterS); why != "" {
			alarms = append(alarms, Alarm{Code: "mmf_headloss_sensor", Severity: Warning, Message: "filter headloss " + why + "; backwash on turbidity and timer"})
		} else if in.Headloss.Value >= c.HeadlossBar {
			reason = fmt.Sprintf("headloss %.2f bar", in.Headloss.Value)
		}
		if why := in.Turbidity.Problem(0, 1000, c.StaleAfterS); why != "" {
			alarms = append(alarms, Alarm{Code: "mmf_turbidity_sensor", Severity: Warning, Message: "filter effluent turbidity " + why + "; backwash on headloss and timer"})
			s.TurbHighS = 0
		} else if in.Turbidity.Value >= c.TurbidityNTU {
			s.TurbHighS += dt
			if s.TurbHighS >= c.ConfirmS && reason == "" {
				reason = fmt.Sprintf("turbidity %.2f NTU", in.Turbidity.Value)
			}
		} else {
			s.TurbHighS = 0
		}
		if reason == "" && s.InModeS >= c.MaxRunS {
			reason = "run timer"
		}
		if reason != "" {
			s.Mode, s.InModeS, s.LastReason = MMFBackwash, 0, reason
		}
	}
	out := MMFOutput{Mode: s.Mode, InService: s.Mode == MMFFiltering, Backwash: s.Mode == MMFBackwash, Rinse: s.Mode == MMFRinse}
	return s, out, alarms
}
