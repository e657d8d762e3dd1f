package reuse

import (
	"fmt"
	"math"
)

// UFMode is the state of a UF rack.
type UFMode int

const (
	// UFFiltering produces filtrate.
	UFFiltering UFMode = iota
	// UFBackwash reverses filtrate through the fibres (with air scour and flushes).
	UFBackwash
	// UFCEB is a chemically enhanced backwash (acid or caustic/hypochlorite soak).
	UFCEB
	// UFCIP is a clean-in-place; the rack stays out of service until it ends.
	UFCIP
	// UFStopped is the fail-safe: filtration stopped (TMP above the module maximum).
	UFStopped
)

// String names the mode for logs and the console.
func (m UFMode) String() string {
	names := [...]string{"filtering", "backwash", "ceb", "cip", "stopped"}
	if m < 0 || int(m) >= len(names) {
		return fmt.Sprintf("UFMode(%d)", int(m))
	}
	return names[m]
}

// UFConfig configures the UF sequence. Permeability is compared as L20 (LMH/bar at 20 °C)
// against BaselineL20, the clean-membrane value.
type UFConfig struct {
	BackwashIntervalS  float64 // filtration time between backwashes
	BackwashDTMP       float64 // bar rise of TMP since the last backwash that triggers one early
	BackwashDurationS  float64
	CEBEveryBackwashes int     // CEB after this many backwashes
	CEBFraction        float64 // CEB when L20 < CEBFraction·BaselineL20
	CEBRearmFraction   float64 // hysteresis: the L20 trigger re-arms above this fraction
	CEBDurationS       float64
	CIPFraction        float64 // CIP when L20 after a CEB stays below CIPFraction·BaselineL20
	CIPAfterFailedCEBs int     // … for this many consecutive CEBs
	CIPDurationS       float64
	TMPMax             float64 // bar; above it filtration stops (fail-safe) and CIP is requested
	BaselineL20        float64
	SettleS            float64 // filtration time after a backwash/CEB before readings count
	StaleAfterS        float64
	PlausibleTMPMax    float64 // bar
}

// UFConfigFrom fills the trigger defaults of data/thresholds.csv; the caller sets the
// baseline, durations and sensor limits.
func UFConfigFrom(t Thresholds) (UFConfig, error) {
	v, err := need(t, "thresholds.csv", "uf_backwash_interval_s", "uf_backwash_dtmp_bar", "uf_ceb_every_backwashes",
		"uf_ceb_l20_fraction", "uf_cip_l20_fraction", "uf_tmp_max_bar")
	if err != nil {
		return UFConfig{}, err
	}
	return UFConfig{BackwashIntervalS: v[0], BackwashDTMP: v[1], CEBEveryBackwashes: int(v[2]), CEBFraction: v[3],
		CEBRearmFraction: v[3] + 0.05, CIPFraction: v[4], CIPAfterFailedCEBs: 2, TMPMax: v[5]}, nil
}

// Validate checks the configuration.
func (c UFConfig) Validate() error {
	switch {
	case !(c.BackwashIntervalS > 0 && c.BackwashDurationS > 0 && c.CEBDurationS > 0 && c.CIPDurationS > 0):
		return fmt.Errorf("uf: interval and durations must be positive")
	case c.CEBEveryBackwashes < 1 || c.CIPAfterFailedCEBs < 1:
		return fmt.Errorf("uf: CEB and CIP counts must be at least 1")
	case !(c.CIPFraction < c.CEBFraction && c.CEBFraction < c.CEBRearmFraction && c.CEBRearmFraction <= 1):
		return fmt.Errorf("uf: need CIP < CEB < re-arm ≤ 1 fractions of the baseline")
	case !(c.BaselineL20 > 0 && c.TMPMax > 0 && c.BackwashDTMP > 0 && c.StaleAfterS > 0 && c.PlausibleTMPMax > c.TMPMax):
		return fmt.Errorf("uf: baseline, TMP limits and staleness limit required")
	}
	return nil
}

// UFState is the sequence memory.
type UFState struct {
	Mode           UFMode
	InModeS        float64 // time in the current mode
	SinceBackwashS float64 // filtration time since the last backwash
	Backwashes     int     // since the last CEB
	TMPAfterBW     float64 // TMP at the start of the filtration cycle (NaN until measured)
	CEBArmed       bool    // the L20 trigger may fire (hysteresis)
	FailedCEBs     int     // consecutive CEBs that did not recover L20 above CIPFraction
	CheckAfterCEB  bool    // the next settled reading judges the last CEB
	CIPRequested   bool
	Initialised    bool
}

// UFInput is what the sequence reads each step.
type UFInput struct {
	TMP Reading // bar
	L20 Reading // LMH/bar at 20 °C (from UF performance)
}

// UFOutput is the command to the rack.
type UFOutput struct {
	Mode         UFMode
	Filtrate     bool // filtrate valve open, feed pump on
	BackwashPump bool
	ChemicalDose bool // CEB chemical dosing
	CIP          bool // CIP skid running
}

// Step advances the UF sequence by dt seconds.
func (c UFConfig) Step(s UFState, in UFInput, dt float64) (UFState, UFOutput, []Alarm) {
	if !s.Initialised {
		s = UFState{Mode: UFFiltering, CEBArmed: true, TMPAfterBW: math.NaN(), Initialised: true}
	}
	if !(dt >= 0) || math.IsInf(dt, 0) {
		dt = 0
	}
	var alarms []Alarm
	s.InModeS += dt
	tmpWhy := in.TMP.Problem(-0.5, c.PlausibleTMPMax, c.StaleAfterS)
	l20Why := in.L20.Problem(0, 10*c.BaselineL20, c.StaleAfterS)
	switch s.Mode {
	case UFBackwash:
		if s.InModeS >= c.BackwashDurationS {
			s = c.enter(s, UFFiltering)
		}
	case UFCEB:
		if s.InModeS >= c.CEBDurationS {
			s.Backwashes, s.CheckAfterCEB = 0, true
			s = c.enter(s, UFFiltering)
		}
	case UFCIP:
		if s.InModeS >= c.CIPDurationS {
			s.FailedCEBs, s.CIPRequested, s.CEBArmed = 0, false, true
			s.Backwashes = 0
			s = c.enter(s, UFFiltering)
		}
	case UFStopped:
		// Leave only when TMP is readable and back below the maximum: the operator's CIP or
		// repair has happened.
		if tmpWhy == "" && in.TMP.Value < 0.8*c.TMPMax {
			s = c.enter(s, UFFiltering)
		}
	case UFFiltering:
		s.SinceBackwashS += dt
		settled := s.InModeS >= c.SettleS
		if tmpWhy != "" {
			alarms = append(alarms, Alarm{Code: "uf_tmp_sensor", Severity: Warning, Message: "UF TMP " + tmpWhy + "; backwash on the timer only"})
		}
		if l20Why != "" && settled {
			alarms = append(alarms, Alarm{Code: "uf_permeability", Severity: Warning, Message: "UF permeability " + l20Why + "; CEB on the count only"})
		}
		if tmpWhy == "" && in.TMP.Value >= c.TMPMax {
			s.CIPRequested = true
			s = c.enter(s, UFStopped)
			alarms = append(alarms, Alarm{Code: "uf_tmp_max", Severity: Critical, Message: fmt.Sprintf("UF TMP %.2f bar at the module maximum %.2f bar: filtration stopped, CIP required", in.TMP.Value, c.TMPMax)})
			break
		}
		if settled && tmpWhy == "" && math.IsNaN(s.TMPAfterBW) {
			s.TMPAfterBW = in.TMP.Value
		}
		if settled && l20Why == "" {
			l20 := in.L20.Value / c.BaselineL20
			if l20 >= c.CEBRearmFraction {
				s.CEBArmed = true
			}
			if s.CheckAfterCEB {
				s.CheckAfterCEB = false
				if l20 < c.CIPFraction {
					s.FailedCEBs++
				} else {
					s.FailedCEBs = 0
				}
				if s.FailedCEBs >= c.CIPAfterFailedCEBs {
					s.CIPRequested = true
					alarms = append(alarms, Alarm{Code: "uf_cip", Severity: Warning, Message: fmt.Sprintf("UF L20 %.0f %% of baseline after %d CEBs: CIP", 100*l20, s.FailedCEBs)})
					s = c.enter(s, UFCIP)
					break
				}
			}
			if s.CEBArmed && l20 < c.CEBFraction {
				s.CEBArmed = false
				s = c.enter(s, UFCEB)
				break
			}
		}
		dtmp := tmpWhy == "" && !math.IsNaN(s.TMPAfterBW) && in.TMP.Value-s.TMPAfterBW >= c.BackwashDTMP
		if s.SinceBackwashS >= c.BackwashIntervalS || dtmp {
			s.Backwashes++
			if s.Backwashes >= c.CEBEveryBackwashes {
				s = c.enter(s, UFCEB)
			} else {
				s = c.enter(s, UFBackwash)
			}
		}
	}
	out := UFOutput{Mode: s.Mode}
	switch s.Mode {
	case UFFiltering:
		out.Filtrate = true
	case UFBackwash:
		out.BackwashPump = true
	case UFCEB:
		out.BackwashPump, out.ChemicalDose = true, true
	case UFCIP:
		out.CIP = true
	}
	return s, out, alarms
}

// enter switches mode and resets the per-mode timers.
func (c UFConfig) enter(s UFState, m UFMode) UFState {
	s.Mode, s.InModeS = m, 0
	if m == UFBackwash || m == UFCEB || m == UFCIP {
		s.SinceBackwashS, s.TMPAfterBW = 0, math.NaN()
	}
	return s
}
