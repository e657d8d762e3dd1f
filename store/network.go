package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/shuixiao/shuixiao/meter"
)

// Network is a park's or plant's pipe network registered for leak
// monitoring: its EPANET model and the monitoring configuration (which
// metering point measures which node or link, the district metered areas,
// the detector's settings) that package netmon reads. The store keeps the
// configuration as opaque JSON.
type Network struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	NameEN string `json:"name_en,omitempty"`
	// Park is the park the network supplies; Enterprise the operator (the
	// park's water utility, or the plant whose internal network it is).
	// At least one is set; tenant scope follows them.
	Park       string `json:"park,omitempty"`
	Enterprise string `json:"enterprise,omitempty"`
	// INP is the EPANET input file's text.
	INP     string          `json:"-"`
	Config  json.RawMessage `json:"config"`
	Created time.Time       `json:"created"`
	Updated time.Time       `json:"updated"`
}

// MaxINPBytes bounds a network's input file (L-Town, 782 junctions, is
// 0.3 MB; a park network is far smaller).
const MaxINPBytes = 8 << 20

// Validate checks the fields PutNetwork needs.
func (n *Network) Validate() error {
	if err := meter.ValidID(n.ID); err != nil {
		return fmt.Errorf("network: %w: %v", ErrInvalid, err)
	}
	if n.Name == "" {
		return fmt.Errorf("network %s: %w: no name", n.ID, ErrInvalid)
	}
	if n.Park == "" && n.Enterprise == "" {
		return fmt.Errorf("network %s: %w: set the park or the operating enterprise", n.ID, ErrInvalid)
	}
	if n.INP == "" || len(n.INP) > MaxINPBytes {
		return fmt.Errorf("network %s: %w: the .inp text must have 1 to %d bytes", n.ID, ErrInvalid, MaxINPBytes)
	}
	if !json.Valid(n.Config) {
		return fmt.Errorf("network %s: %w: configuration is not JSON", n.ID, ErrInvalid)
	}
	return nil
}

// NetworkFilter selects networks; empty fields do not filter.
type NetworkFilter struct {
	Park       string
	Enterprise string
}

// LeakEvent is what a leak alarm found: when the leak began, how large it
// is and where it may be. It is kept beside the alarm record, keyed by the
// alarm's ID.
type LeakEvent struct {
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
func (e *LeakEvent) Validate() error {
	if e.Alarm <= 0 || e.Network == "" {
		return fmt.Errorf("leak event: %w: alarm and network are required", ErrInvalid)
	}
	if e.Raised.IsZero() || e.Start.IsZero() {
		return fmt.Errorf("leak event of alarm %d: %w: start and raise times are required", e.Alarm, ErrInvalid)
	}
	if math.IsNaN(e.FlowM3H) || math.IsInf(e.FlowM3H, 0) {
		return fmt.Errorf("leak event of alarm %d: %w: flow %v", e.Alarm, ErrInvalid, e.FlowM3H)
	}
	return nil
}

// WorkOrderState is where a repair work order is in its life:
// open → assigned → closed (open → closed is allowed; closed is final).
type WorkOrderState string

// Work order states.
const (
	WorkOrderOpen     WorkOrderState = "open"
	WorkOrderAssigned WorkOrderState = "assigned"
	WorkOrderClosed   WorkOrderState = "closed"
)

// WorkOrder is a repair work order, usually made from a leak alarm.
type WorkOrder struct {
	ID      int64  `json:"id"`
	Network string `json:"network"`
	// Alarm is the leak alarm the order was made from (0: none).
	Alarm int64 `json:"alarm,omitempty"`
	// Park and Enterprise are the network's, copied for tenant scope.
	Park       string         `json:"park,omitempty"`
	Enterprise string         `json:"enterprise,omitempty"`
	Title      string         `json:"title"`
	State      WorkOrderState `json:"state"`
	Created    time.Time      `json:"created"`
	CreatedBy  string         `json:"created_by,omitempty"`
	Assignee   string         `json:"assignee,omitempty"`
	Assigned   time.Time      `json:"assigned,omitzero"`
	Closed     time.Time      `json:"closed,omitzero"`
	ClosedBy   string         `json:"closed_by,omitempty"`
	// RepairedLink is the pipe the crew repaired; Note the closing note.
	RepairedLink string `json:"repaired_link,omitempty"`
	Note         string `json:"note,omitempty"`
	// LeakStart and LeakFlowM3H are the leak's estimated onset and outflow
	// (from the alarm, or given when the order is made by hand).
	LeakStart   time.Time `json:"leak_start,omitzero"`
	LeakFlowM3H float64   `json:"leak_flow_m3h"`
	// WaterLostM3 is the water lost from LeakStart to the closing, set
	// when the order is closed.
	WaterLostM3 float64 `json:"water_lost_m3"`
}

// Validate checks the fields CreateWorkOrder needs.
func (w *WorkOrder) Validate() error {
	if w.Network == "" {
		return fmt.Errorf("work order: %w: no network", ErrInvalid)
	}
	if w.Title == "" || len(w.Title) > 200 {
		return fmt.Errorf("work order: %w: title must have 1-200 bytes", ErrInvalid)
	}
	if w.Created.IsZero() {
		return fmt.Errorf("work order: %w: no creation time", ErrInvalid)
	}
	if w.LeakFlowM3H < 0 || math.IsNaN(w.LeakFlowM3H) || math.IsInf(w.LeakFlowM3H, 0) {
		return fmt.Errorf("work order: %w: leak flow %v", ErrInvalid, w.LeakFlowM3H)
	}
	return nil
}

// WorkOrderEvent is one step in a work order's history.
type WorkOrderEvent struct {
	WorkOrder int64     `json:"work_order"`
	Time      time.Time `json:"time"`
	Action    string    `json:"action"` // "create", "assign", "close"
	By        string    `json:"by,omitempty"`
	Assignee  string    `json:"assignee,omitempty"`
	Link      string    `json:"link,omitempty"`
	Note      string    `json:"note,omitempty"`
}

// WorkOrderFilter selects work orders; empty fields do not filter.
type WorkOrderFilter struct {
	Network    string
	Park       string
	Enterprise string
	State      WorkOrderState
	Open       bool // open or assigned
	Alarm      int64
	Limit      int // 0: 1000
}

// Networks keeps pipe networks, the details of their leak alarms and the
// repair work orders.
type Networks interface {
	// PutNetwork stores a network, replacing one with the same ID (its
	// Created time is kept). The park and enterprise must exist
	// (ErrNotFound). created tells whether the ID was new.
	PutNetwork(ctx context.Context, n Network) (created bool, err error)
	Network(ctx context.Context, id string) (Network, error)
	// Networks lists networks matching f, sorted by ID.
	Networks(ctx context.Context, f NetworkFilter) ([]Network, error)

	// RecordLeak stores a leak alarm's details (replacing earlier ones of
	// the same alarm).
	RecordLeak(ctx context.Context, e LeakEvent) error
	// LeakEvent returns the details of a leak alarm.
	LeakEvent(ctx context.Context, alarm int64) (LeakEvent, error)
	// LeakEvents lists a network's leak events, newest raised first, at
	// most limit (0: 1000).
	LeakEvents(ctx context.Context, network string, limit int) ([]LeakEvent, error)

	// CreateWorkOrder stores a new order (state open, ID assigned) and its
	// "create" event. An alarm can have one order that is not closed
	// (ErrExists otherwise).
	CreateWorkOrder(ctx context.Context, w WorkOrder) (WorkOrder, error)
	WorkOrder(ctx context.Context, id int64) (WorkOrder, error)
	// WorkOrders lists orders matching f, newest first.
	WorkOrders(ctx context.Context, f WorkOrderFilter) ([]WorkOrder, error)
	// AssignWorkOrder gives an open or assigned order to assignee
	// (ErrConflict if closed).
	AssignWorkOrder(ctx context.Context, id int64, assignee, by string, at time.Time, note string) (WorkOrder, error)
	// CloseWorkOrder closes an order that is not closed (ErrConflict
	// otherwise), recording the repaired link and the water lost.
	CloseWorkOrder(ctx context.Context, id int64, by string, at time.Time, link, note string, waterLostM3 float64) (WorkOrder, error)
	// WorkOrderHistory lists an order's events, oldest first.
	WorkOrderHistory(ctx context.Context, id int64) ([]WorkOrderEvent, error)
}
