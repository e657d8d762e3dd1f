package reuse

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
	// Critical means a unit is in its fail-safe state or a limit is broken.
	Critical
)

// Alarm is raised by a controller step; the caller deduplicates and latches alarms.
type Alarm struct {
	Code     string
	Severity Severity
	Message  string
}

// problem reports why a reading cannot be used, or "" when it can.
func (r Reading) problem(min, max, staleAfterS float64) string {
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
