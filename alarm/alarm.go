// Package alarm defines the platform's alarm records: an alarm with its
// severity and state (active → acked → cleared), the steps of its history,
// and the filter alarms are listed by. It imports nothing of the server:
// package store keeps alarms (store.Alarms), internal/alarmwatch and
// netmon raise them, the API shows them.
package alarm

import (
	"fmt"
	"time"
)

// Severity ranks an alarm.
type Severity string

// Severities, most severe first.
const (
	SeverityCritical Severity = "critical"
	SeverityMajor    Severity = "major"
	SeverityMinor    Severity = "minor"
	SeverityWarning  Severity = "warning"
	SeverityInfo     Severity = "info"
)

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool {
	switch s {
	case SeverityCritical, SeverityMajor, SeverityMinor, SeverityWarning, SeverityInfo:
		return true
	}
	return false
}

// State is where an alarm is in its life: active → acked → cleared, or
// active → cleared.
type State string

// Alarm states.
const (
	Active  State = "active"
	Acked   State = "acked"
	Cleared State = "cleared"
)

// Open reports whether the alarm still needs attention (active or acked).
func (s State) Open() bool { return s == Active || s == Acked }

// Alarm is one alarm record. Its subject is an enterprise, a point or a meter
// (more specific ones imply the less specific: set all that apply, so that
// tenant filters by enterprise find meter alarms).
type Alarm struct {
	ID         int64     `json:"id"`
	Kind       string    `json:"kind"` // e.g. "offline", "leak", "balance-gap"
	Severity   Severity  `json:"severity"`
	Enterprise string    `json:"enterprise,omitempty"`
	Point      string    `json:"point,omitempty"`
	Meter      string    `json:"meter,omitempty"`
	Message    string    `json:"message"`
	State      State     `json:"state"`
	Raised     time.Time `json:"raised"`      // first raised
	LastRaised time.Time `json:"last_raised"` // last repeat
	Count      int       `json:"count"`       // times raised while open
	Acked      time.Time `json:"acked,omitempty"`
	AckedBy    string    `json:"acked_by,omitempty"`
	Cleared    time.Time `json:"cleared,omitempty"`
	ClearedBy  string    `json:"cleared_by,omitempty"`
}

// Validate checks the fields a store needs to raise an alarm.
func (a *Alarm) Validate() error {
	if a.Kind == "" || len(a.Kind) > 64 {
		return fmt.Errorf("alarm: kind must be 1-64 bytes")
	}
	if !a.Severity.Valid() {
		return fmt.Errorf("alarm %s: severity %q", a.Kind, a.Severity)
	}
	if a.Raised.IsZero() {
		return fmt.Errorf("alarm %s: no raise time", a.Kind)
	}
	return nil
}

// Event is one step in an alarm's history.
type Event struct {
	Alarm  int64     `json:"alarm"`
	Time   time.Time `json:"time"`
	Action string    `json:"action"` // "raise", "repeat", "ack", "clear"
	By     string    `json:"by,omitempty"`
	Note   string    `json:"note,omitempty"`
}

// Filter selects alarms; empty fields do not filter.
type Filter struct {
	State      State
	Open       bool // active or acked
	Severity   Severity
	Kind       string
	Park       string // alarms of the park's enterprises
	Enterprise string
	Point      string
	Meter      string
	Since      time.Time // raised at or after
	Until      time.Time // raised before
	Limit      int       // 0: 1000
}
