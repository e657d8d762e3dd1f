// Package command defines the records of the control loops' commands:
// each command with its cause, bounds and outcome, the inputs behind it,
// the query commands are listed by, and the operators' manual overrides
// and lock-outs of actuators. It imports nothing of the server: package
// store keeps them (store.Controls), package actuate makes them, the API
// shows them.
package command

import "time"

// Command record kinds and statuses.
const (
	KindIssue    = "issue"    // a command sent to a device
	KindSetpoint = "setpoint" // an operator changed a set-point
	KindMode     = "mode"     // an operator changed an actuator's mode

	Pending = "pending" // sent, no acknowledgement yet
	Acked   = "acked"
	Nacked  = "nacked"  // the device refused it
	Timeout = "timeout" // no acknowledgement after every retry
	Logged  = "logged"  // set-point and mode changes: recorded, nothing to acknowledge
)

// Input is a sensor value or index behind a command. Missing marks a
// sensor that had no usable value (Value and AgeS are then zero).
type Input struct {
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	AgeS    float64 `json:"age_s,omitempty"`
	Missing bool    `json:"missing,omitempty"`
}

// Record is one command as the console and auditors read it: what,
// to which device, why (source, rule, inputs), within which bounds, which
// interlocks shaped it, and what became of it. Index and OutcomeIndex are the
// ledger indices of its entries.
type Record struct {
	ID           string    `json:"id"`
	Kind         string    `json:"kind"`
	Plant        string    `json:"plant"`
	Enterprise   string    `json:"enterprise"`
	Device       string    `json:"device,omitempty"`
	Actuator     string    `json:"actuator"`
	Value        float64   `json:"value"`
	Unit         string    `json:"unit,omitempty"`
	Requested    *float64  `json:"requested,omitempty"`
	Min          float64   `json:"min"`
	Max          float64   `json:"max"`
	Interlocks   []string  `json:"interlocks,omitempty"`
	Mode         string    `json:"mode,omitempty"`
	Source       string    `json:"source"`
	By           string    `json:"by"`
	Reason       string    `json:"reason,omitempty"`
	Inputs       []Input   `json:"inputs,omitempty"`
	Indices      []Input   `json:"indices,omitempty"`
	Issued       time.Time `json:"issued"`
	Index        uint64    `json:"index"`
	Status       string    `json:"status"`
	Attempts     int       `json:"attempts,omitempty"`
	Answered     time.Time `json:"answered,omitzero"`
	Detail       string    `json:"detail,omitempty"`
	OutcomeIndex uint64    `json:"outcome_index,omitempty"`
}

// Query selects command records; empty fields do not filter.
type Query struct {
	Plant      string
	Enterprise string
	Device     string
	Actuator   string
	Kind       string
	From, To   time.Time // issued in [From, To)
	Limit      int       // 0: 200
}

// Actuator modes.
const (
	ModeAuto   = "auto"   // the controller drives the actuator
	ModeManual = "manual" // an operator holds a fixed value (still within the interlock bounds)
	ModeLocked = "locked" // locked out: the actuator is held at its lock-out value
)

// Override is an operator's manual override or lock-out of one actuator.
type Override struct {
	Plant    string    `json:"plant"`
	Actuator string    `json:"actuator"`
	Mode     string    `json:"mode"`
	Value    float64   `json:"value"` // manual value
	By       string    `json:"by"`
	Reason   string    `json:"reason,omitempty"`
	Since    time.Time `json:"since"`
}
