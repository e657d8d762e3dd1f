package store

import (
	"context"
	"time"
)

// Controls keeps what the control loops of cooling towers and reuse trains
// need to survive a restart and to be audited: each plant's configuration,
// the log of every command with its cause and outcome, and the operators'
// manual overrides and lock-outs.
type Controls interface {
	// SavePlant creates or replaces a plant configuration.
	SavePlant(ctx context.Context, p PlantRecord) error
	// Plant returns one plant configuration (ErrNotFound if none).
	Plant(ctx context.Context, id string) (PlantRecord, error)
	// Plants lists plant configurations, sorted by ID; enterprise "" lists all.
	Plants(ctx context.Context, enterprise string) ([]PlantRecord, error)

	// SaveCommands creates command records or replaces the records with the
	// same IDs (when their outcome is known), all in one transaction.
	SaveCommands(ctx context.Context, cs []CommandRecord) error
	// Command returns one command record (ErrNotFound if none).
	Command(ctx context.Context, id string) (CommandRecord, error)
	// Commands lists command records matching q, newest first.
	Commands(ctx context.Context, q CommandQuery) ([]CommandRecord, error)

	// SetOverride records an actuator's operating mode (auto removes the override).
	SetOverride(ctx context.Context, o Override) error
	// Overrides lists the manual overrides and lock-outs in force for a plant
	// ("" for every plant).
	Overrides(ctx context.Context, plant string) ([]Override, error)
}

// PlantRecord is a plant's control configuration. The store keeps the
// configuration as the JSON the API received; package control defines it.
type PlantRecord struct {
	ID         string
	Enterprise string
	Config     []byte // JSON
	Updated    time.Time
}

// Command record kinds and statuses.
const (
	CommandIssue    = "issue"    // a command sent to a device
	CommandSetpoint = "setpoint" // an operator changed a set-point
	CommandMode     = "mode"     // an operator changed an actuator's mode

	CommandPending = "pending" // sent, no acknowledgement yet
	CommandAcked   = "acked"
	CommandNacked  = "nacked"  // the device refused it
	CommandTimeout = "timeout" // no acknowledgement after every retry
	CommandLogged  = "logged"  // set-point and mode changes: recorded, nothing to acknowledge
)

// CommandInput is a sensor value or index behind a command. Missing marks a
// sensor that had no usable value (Value and AgeS are then zero).
type CommandInput struct {
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	AgeS    float64 `json:"age_s,omitempty"`
	Missing bool    `json:"missing,omitempty"`
}

// CommandRecord is one command as the console and auditors read it: what,
// to which device, why (source, rule, inputs), within which bounds, which
// interlocks shaped it, and what became of it. Index and OutcomeIndex are the
// ledger indices of its entries.
type CommandRecord struct {
	ID           string         `json:"id"`
	Kind         string         `json:"kind"`
	Plant        string         `json:"plant"`
	Enterprise   string         `json:"enterprise"`
	Device       string         `json:"device,omitempty"`
	Actuator     string         `json:"actuator"`
	Value        float64        `json:"value"`
	Unit         string         `json:"unit,omitempty"`
	Requested    *float64       `json:"requested,omitempty"`
	Min          float64        `json:"min"`
	Max          float64        `json:"max"`
	Interlocks   []string       `json:"interlocks,omitempty"`
	Mode         string         `json:"mode,omitempty"`
	Source       string         `json:"source"`
	By           string         `json:"by"`
	Reason       string         `json:"reason,omitempty"`
	Inputs       []CommandInput `json:"inputs,omitempty"`
	Indices      []CommandInput `json:"indices,omitempty"`
	Issued       time.Time      `json:"issued"`
	Index        uint64         `json:"index"`
	Status       string         `json:"status"`
	Attempts     int            `json:"attempts,omitempty"`
	Answered     time.Time      `json:"answered,omitzero"`
	Detail       string         `json:"detail,omitempty"`
	OutcomeIndex uint64         `json:"outcome_index,omitempty"`
}

// CommandQuery selects command records; empty fields do not filter.
type CommandQuery struct {
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
