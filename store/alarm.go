package store

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

// AlarmState is where an alarm is in its life: active → acked → cleared, or
// active → cleared.
type AlarmState string

// Alarm states.
const (
	AlarmActive  AlarmState = "active"
	AlarmAcked   AlarmState = "acked"
	AlarmCleared AlarmState = "cleared"
)

// Open reports whether the alarm still needs attention (active or acked).
func (s AlarmState) Open() bool { return s == AlarmActive || s == AlarmAcked }

// Alarm is one alarm record. Its subject is an enterprise, a point or a meter
// (more specific ones imply the less specific: set all that apply, so that
// tenant filters by enterprise find meter alarms).
type Alarm struct {
	ID         int64      `json:"id"`
	Kind       string     `json:"kind"` // e.g. "offline", "leak", "balance-gap"
	Severity   Severity   `json:"severity"`
	Enterprise string     `json:"enterprise,omitempty"`
	Point      string     `json:"point,omitempty"`
	Meter      string     `json:"meter,omitempty"`
	Message    string     `json:"message"`
	State      AlarmState `json:"state"`
	Raised     time.Time  `json:"raised"`      // first raised
	LastRaised time.Time  `json:"last_raised"` // last repeat
	Count      int        `json:"count"`       // times raised while open
	Acked      time.Time  `json:"acked,omitempty"`
	AckedBy    string     `json:"acked_by,omitempty"`
	Cleared    time.Time  `json:"cleared,omitempty"`
	ClearedBy  string     `json:"cleared_by,omitempty"`
}

// Validate checks the fields RaiseAlarm needs.
func (a *Alarm) Validate() error {
	if a.Kind == "" || len(a.Kind) > 64 {
		return fmt.Errorf("alarm: %w: kind must be 1-64 bytes", ErrInvalid)
	}
	if !a.Severity.Valid() {
		return fmt.Errorf("alarm %s: %w: severity %q", a.Kind, ErrInvalid, a.Severity)
	}
	if a.Raised.IsZero() {
		return fmt.Errorf("alarm %s: %w: no raise time", a.Kind, ErrInvalid)
	}
	return nil
}

// AlarmEvent is one step in an alarm's history.
type AlarmEvent struct {
	Alarm  int64     `json:"alarm"`
	Time   time.Time `json:"time"`
	Action string    `json:"action"` // "raise", "repeat", "ack", "clear"
	By     string    `json:"by,omitempty"`
	Note   string    `json:"note,omitempty"`
}

// AlarmFilter selects alarms; empty fields do not filter.
type AlarmFilter struct {
	State      AlarmState
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
