package alarm

import (
	"fmt"
	"math"
	"time"
)

// Leak is what a leak alarm found: when the leak began, how large it
// is and where it may be. It is kept beside the alarm record, keyed by the
// alarm's ID.
type Leak struct {
	Alarm   int64  `json:"alarm"`
	Network string `json:"network"`
	// Start is the estimated onset, Detected when a chart first crossed
	// its limit, Raised when the alarm was raised.
	Start    time.Time `json:"start"`
	Detected time.Time `json:"detected,omitzero"`
	Raised   time.Time `json:"raised"`
	// FlowM3H is the estimated leak outflow (the rank-1 candidate's).
	FlowM3H    float64         `json:"flow_m3h"`
	Candidates []LeakCandidate `json:"candidates"`
}

// LeakCandidate is one ranked possible location of a leak.
type LeakCandidate struct {
	Rank    int     `json:"rank"`
	Link    string  `json:"link"`
	Node    string  `json:"node"`
	FlowM3H float64 `json:"flow_m3h"`
	Misfit  float64 `json:"misfit"`
}

// Validate checks a leak event before it is recorded.
func (e *Leak) Validate() error {
	if e.Alarm <= 0 || e.Network == "" {
		return fmt.Errorf("leak event: alarm and network are required")
	}
	if e.Raised.IsZero() || e.Start.IsZero() {
		return fmt.Errorf("leak event of alarm %d: start and raise times are required", e.Alarm)
	}
	if math.IsNaN(e.FlowM3H) || math.IsInf(e.FlowM3H, 0) {
		return fmt.Errorf("leak event of alarm %d: flow %v", e.Alarm, e.FlowM3H)
	}
	return nil
}
