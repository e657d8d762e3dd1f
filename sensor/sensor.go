// Package sensor holds what the control packages (cooling, dosing, reuse)
// share: a sensor value as a controller receives it, the test that decides
// whether it can be used (fault, not a number, stale, implausible), and the
// alarms a controller step raises. A controller that cannot use its sensor
// goes to its fail-safe output and raises an alarm; the caller deduplicates
// and latches alarms.
package sensor

import (
	"fmt"
	"math"
)

// Reading is one sensor value as a controller receives it.
type Reading struct {
	Value float64
	AgeS  float64 // seconds since the value was measured
	Valid bool    // false when the instrument or its gateway flags a fault
}

// Problem reports why the reading cannot be used, or "" when it can: a
// flagged fault, a value that is not a number, a value older than
// staleAfterS seconds (0: never stale), or one outside [min, max].
func (r Reading) Problem(min, max, staleAfterS float64) string {
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

// Severity ranks an alarm.
type Severity int

const (
	// Warning asks an operator to look.
	Warning Severity = iota + 1
	// Critical means a controller is in its fail-safe state or a limit is broken.
	Critical
)

// Alarm is raised by a controller step.
type Alarm struct {
	Code     string
	Severity Severity
	Message  string
}
