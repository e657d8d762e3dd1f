package dosing

import (
	"fmt"
	"math"
)

// Reading is one sensor value as a controller receives it.
type Reading struct {
	Value float64
	AgeS  float64 // seconds since measurement
	Valid bool    // false when the instrument flags a fault
}

// Severity ranks an alarm.
type Severity int

const (
	// Warning asks an operator to look.
	Warning Severity = iota + 1
	// Critical means a controller is in its fail-safe state or a limit is broken.
	Critical
)

// Alarm is raised by a controller step; the caller deduplicates and latches alarms.
type Alarm struct {
	Code     string
	Severity Severity
	Message  string
}

// usable reports why a reading cannot be used, or "" when it can.
func (r Reading) usable(min, max, staleAfterS float64) string {
	switch {
	case !r.Valid:
		return "instrument fault"
	case math.IsNaN(r.Value) || math.IsInf(r.Value, 0):
		return "not a number"
	case staleAfterS > 0 && !(r.AgeS <= staleAfterS):
		return fmt.Sprintf("stale (%.0f s old, limit %.0f s)", r.AgeS, staleAfterS)
	case r.Value < min || r.Value > max:
		return fmt.Sprintf("implausible value %g outside [%g, %g]", r.Value, min, max)
	}
	return ""
}

// limit clamps v to [lo, hi]; NaN becomes lo (the safe side for a dosing pump).
func limit(v, lo, hi float64) float64 {
	if math.IsNaN(v) {
		return lo
	}
	return math.Max(lo, math.Min(hi, v))
}

// pi is a PI law with conditional-integration anti-windup shared by the feed controllers.
// It returns the limited output and the integral to keep.
func pi(bias, kp, tiS, e, integral, dt, lo, hi float64) (out, newIntegral float64) {
	next := integral
	if tiS > 0 && dt > 0 && !math.IsNaN(dt) && !math.IsInf(dt, 0) {
		next += e * dt
	}
	u := bias + kp*e
	if tiS > 0 {
		u += kp * next / tiS
	}
	out = limit(u, lo, hi)
	// Integrate only while the output is not pushed further into a limit.
	if out != u && (u > out) == (e > 0) {
		return out, integral
	}
	if math.IsNaN(next) || math.IsInf(next, 0) {
		return out, integral
	}
	return out, next
}
