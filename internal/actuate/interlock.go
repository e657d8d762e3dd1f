package actuate

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/reading"
)

// Limits are the interlocks of one actuator output. Bounds hold whatever the
// request, the operator or the state: no value outside [Min, Max] is ever
// decided, recorded or sent.
type Limits struct {
	// Min and Max bound every value; for a dosing pump Max is the maximum
	// dose rate (L/h), for a valve the travel (%).
	Min float64 `json:"min"`
	Max float64 `json:"max"`
	// MaxRisePerS and MaxFallPerS limit the rate of change in units per
	// second of process time (0: no limit). A move to the fail-safe or
	// lock-out value is never slowed.
	MaxRisePerS float64 `json:"max_rise_per_s,omitempty"`
	MaxFallPerS float64 `json:"max_fall_per_s,omitempty"`
	// FailSafe is the value while a controller's inputs are stale, invalid or
	// not numbers, and whenever a request is not a number.
	FailSafe float64 `json:"fail_safe"`
	// Lockout is the value held while an operator has locked the actuator out.
	Lockout float64 `json:"lockout"`
	// StaleAfterS trips the fail-safe when any input behind a request is
	// older than this many seconds of process time (0: only invalid inputs do).
	StaleAfterS float64 `json:"stale_after_s,omitempty"`
	// Values, when not empty, are the only values allowed (on/off, modes).
	Values []float64 `json:"values,omitempty"`
	// MinDwellS, for a discrete actuator, is the least time in wall-clock
	// seconds a value is held before it may change (0: none): a pump or a
	// valve sequence is not cycled faster than it is built for. A
	// controller's change is held back (interlock "dwell"); an operator's is
	// refused. A move to the fail-safe or lock-out value is never held.
	MinDwellS float64 `json:"min_dwell_s,omitempty"`
}

// Actuator is one controllable output of a device: the command name the
// device knows it by, the device's MQTT ID, and its interlocks.
type Actuator struct {
	Name   string `json:"name"`   // command on the wire, e.g. "blowdown_valve"
	Device string `json:"device"` // the device (a registered meter) that owns the output
	Unit   string `json:"unit"`   // "%", "L/h", "mode" …
	Limits
	// Deadband: a continuous value is sent again only when it moves by more
	// than this from the value last sent.
	Deadband float64 `json:"deadband,omitempty"`
	// RefreshS re-sends the held value at least this often (wall-clock
	// seconds; 0: only on change), so a device that restarted learns it.
	RefreshS float64 `json:"refresh_s,omitempty"`
}

// Discrete reports whether the actuator takes only listed values.
func (a Actuator) Discrete() bool { return len(a.Values) > 0 }

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// Validate checks that the interlocks are coherent: finite bounds, fail-safe
// and lock-out values inside them, allowed values inside them.
func (a Actuator) Validate() error {
	if !reading.ValidChannel(a.Name) {
		return fmt.Errorf("actuator %q: name must be 1-32 of [a-z0-9_]", a.Name)
	}
	if a.Device == "" {
		return fmt.Errorf("actuator %s: no device", a.Name)
	}
	if !finite(a.Min, a.Max, a.MaxRisePerS, a.MaxFallPerS, a.FailSafe, a.Lockout, a.StaleAfterS, a.Deadband, a.RefreshS, a.MinDwellS) {
		return fmt.Errorf("actuator %s: limits must be finite numbers", a.Name)
	}
	if !(a.Min <= a.Max) {
		return fmt.Errorf("actuator %s: min %g > max %g", a.Name, a.Min, a.Max)
	}
	if a.MaxRisePerS < 0 || a.MaxFallPerS < 0 || a.StaleAfterS < 0 || a.Deadband < 0 || a.RefreshS < 0 || a.MinDwellS < 0 {
		return fmt.Errorf("actuator %s: rates, staleness, deadband, refresh and dwell must not be negative", a.Name)
	}
	if a.MinDwellS > 0 && !a.Discrete() {
		return fmt.Errorf("actuator %s: a dwell applies to discrete actuators (values) only", a.Name)
	}
	for _, v := range []struct {
		name string
		v    float64
	}{{"fail-safe", a.FailSafe}, {"lock-out", a.Lockout}} {
		if v.v < a.Min || v.v > a.Max {
			return fmt.Errorf("actuator %s: %s value %g outside [%g, %g]", a.Name, v.name, v.v, a.Min, a.Max)
		}
		if a.Discrete() && !slices.Contains(a.Values, v.v) {
			return fmt.Errorf("actuator %s: %s value %g is not one of the allowed values", a.Name, v.name, v.v)
		}
	}
	for _, v := range a.Values {
		if !finite(v) || v < a.Min || v > a.Max {
			return fmt.Errorf("actuator %s: allowed value %g outside [%g, %g]", a.Name, v, a.Min, a.Max)
		}
	}
	return nil
}

// Input is a sensor value a request is based on.
type Input struct {
	Name  string
	Value float64
	AgeS  float64 // seconds of process time since it was measured
	Valid bool    // false when the instrument or the plant model flags it
}

// Request is what a controller (or the rule behind it) asks of an actuator.
type Request struct {
	Actuator string
	Value    float64
	// FailSafe says the controller is already in its own fail-safe state
	// (its value is then its fail-safe output).
	FailSafe bool
	By       string // the controller, e.g. "cooling.blowdown"
	Reason   string // one line
	Inputs   []Input
	Indices  []reading.Input
}

// State is an actuator's interlock memory: the operator's mode and the value
// last decided (what the device is driven to).
type State struct {
	Mode    string  // command.ModeAuto (or ""), command.ModeManual, command.ModeLocked
	Manual  float64 // the operator's value in manual mode
	Held    float64
	HasHeld bool
	// HeldS is how long, in wall-clock seconds, Held has been held; the
	// dwell interlock reads it.
	HeldS float64
}

// Decision is the value the interlocks let through and why.
type Decision struct {
	Value      float64
	Requested  float64  // the controller's or operator's value before the interlocks
	Interlocks []string // max, min, rate, discrete, dwell, manual, lockout, failsafe, stale:<input>, invalid:<input>, nan
	Source     string   // reading.SourceController, SourceOperator or SourceInterlock
	// Immediate is set for moves the rate limits must not slow (to the
	// fail-safe or lock-out value).
	Immediate bool
}

// ErrMode is returned for an unknown actuator mode.
var ErrMode = errors.New("mode must be auto, manual or locked")

// Decide applies the interlocks to a request, in order: lock-out; manual
// override; fail-safe on stale, invalid or non-numeric inputs (the actuator's
// own check, whatever the controller concluded); the bounds; the allowed
// values and the dwell; the rate limits over dt seconds of process time. It is pure and
// total: any request, state and dt give a value within [Min, Max].
func (a Actuator) Decide(st State, req Request, dt float64) Decision {
	d := Decision{Requested: req.Value, Source: reading.SourceController}
	v := req.Value
	switch st.Mode {
	case command.ModeLocked:
		return Decision{Value: a.Lockout, Requested: req.Value, Interlocks: []string{"lockout"}, Source: reading.SourceInterlock, Immediate: true}
	case command.ModeManual:
		v, d.Requested, d.Source = st.Manual, st.Manual, reading.SourceOperator
		d.Interlocks = append(d.Interlocks, "manual")
	default:
		for _, in := range req.Inputs {
			why := ""
			switch {
			case !in.Valid || !finite(in.Value):
				why = "invalid:" + in.Name
			case a.StaleAfterS > 0 && !(in.AgeS <= a.StaleAfterS):
				why = "stale:" + in.Name
			}
			if why != "" {
				d.Interlocks = append(d.Interlocks, "failsafe", why)
				d.Value, d.Source, d.Immediate = a.FailSafe, reading.SourceInterlock, true
				return d
			}
		}
		if req.FailSafe {
			d.Interlocks = append(d.Interlocks, "failsafe")
		}
	}
	if !finite(v) {
		d.Interlocks = append(d.Interlocks, "nan", "failsafe")
		d.Value, d.Source, d.Immediate = a.FailSafe, reading.SourceInterlock, true
		return d
	}
	if v > a.Max {
		v = a.Max
		d.Interlocks = append(d.Interlocks, "max")
	} else if v < a.Min {
		v = a.Min
		d.Interlocks = append(d.Interlocks, "min")
	}
	if a.Discrete() {
		near := a.Values[0]
		for _, x := range a.Values[1:] {
			if math.Abs(x-v) < math.Abs(near-v) {
				near = x
			}
		}
		if near != v {
			d.Interlocks = append(d.Interlocks, "discrete")
		}
		v = near
		if a.dwelling(st, v) {
			v = st.Held
			d.Interlocks = append(d.Interlocks, "dwell")
		}
	} else if st.HasHeld && finite(st.Held) && st.Held >= a.Min && st.Held <= a.Max {
		step := dt
		if !(step >= 0) || math.IsInf(step, 0) {
			step = 0 // an unknown or backward step allows no move
		}
		if a.MaxRisePerS > 0 && v > st.Held+a.MaxRisePerS*step {
			v = st.Held + a.MaxRisePerS*step
			d.Interlocks = append(d.Interlocks, "rate")
		}
		if a.MaxFallPerS > 0 && v < st.Held-a.MaxFallPerS*step {
			v = st.Held - a.MaxFallPerS*step
			d.Interlocks = append(d.Interlocks, "rate")
		}
	}
	// Belt and braces: whatever happened above, the bounds hold.
	if !(v >= a.Min && v <= a.Max) {
		v = a.FailSafe
		d.Interlocks = append(d.Interlocks, "failsafe")
		d.Source, d.Immediate = reading.SourceInterlock, true
	}
	d.Value = v
	return d
}

// dwelling reports whether moving a discrete actuator from its held value
// to v would cut its dwell short.
func (a Actuator) dwelling(st State, v float64) bool {
	return a.MinDwellS > 0 && st.HasHeld && v != st.Held && slices.Contains(a.Values, st.Held) && !(st.HeldS >= a.MinDwellS)
}

// CheckDwell refuses an operator's change of a discrete actuator to v
// sooner than its dwell allows.
func (a Actuator) CheckDwell(st State, v float64) error {
	if a.dwelling(st, v) {
		return fmt.Errorf("actuator %s: interlock dwell: %g %s has been held %.1f s, it may change after %g s", a.Name, st.Held, a.Unit, st.HeldS, a.MinDwellS)
	}
	return nil
}

// Next returns the state after a decision.
func (st State) Next(d Decision) State {
	st.Held, st.HasHeld = d.Value, true
	return st
}

// CheckManual validates an operator's manual value: manual values must lie
// within the bounds (and be allowed, for discrete actuators) — an operator
// cannot command past an interlock either.
func (a Actuator) CheckManual(v float64) error {
	if !finite(v) || v < a.Min || v > a.Max {
		return fmt.Errorf("actuator %s: manual value %g outside the interlock bounds [%g, %g] %s", a.Name, v, a.Min, a.Max, a.Unit)
	}
	if a.Discrete() && !slices.Contains(a.Values, v) {
		return fmt.Errorf("actuator %s: manual value %g is not one of %v", a.Name, v, a.Values)
	}
	return nil
}
