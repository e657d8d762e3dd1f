// Package workorder defines repair work orders: an order made from a leak
// alarm of a pipe network (or by hand), its state (open → assigned →
// closed), the steps of its history and the filter orders are listed by.
// It imports nothing of the server: package store keeps orders
// (store.Networks), the API makes and changes them.
package workorder

import (
	"fmt"
	"math"
	"time"
)

// State is where a repair work order is in its life:
// open → assigned → closed (open → closed is allowed; closed is final).
type State string

// Work order states.
const (
	Open     State = "open"
	Assigned State = "assigned"
	Closed   State = "closed"
)

// Order is a repair work order, usually made from a leak alarm.
type Order struct {
	ID      int64  `json:"id"`
	Network string `json:"network"`
	// Alarm is the leak alarm the order was made from (0: none).
	Alarm int64 `json:"alarm,omitempty"`
	// Park and Enterprise are the network's, copied for tenant scope.
	Park       string    `json:"park,omitempty"`
	Enterprise string    `json:"enterprise,omitempty"`
	Title      string    `json:"title"`
	State      State     `json:"state"`
	Created    time.Time `json:"created"`
	CreatedBy  string    `json:"created_by,omitempty"`
	Assignee   string    `json:"assignee,omitempty"`
	Assigned   time.Time `json:"assigned,omitzero"`
	Closed     time.Time `json:"closed,omitzero"`
	ClosedBy   string    `json:"closed_by,omitempty"`
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

// Validate checks the fields a store needs to create an order.
func (w *Order) Validate() error {
	if w.Network == "" {
		return fmt.Errorf("work order: no network")
	}
	if w.Title == "" || len(w.Title) > 200 {
		return fmt.Errorf("work order: title must have 1-200 bytes")
	}
	if w.Created.IsZero() {
		return fmt.Errorf("work order: no creation time")
	}
	if w.LeakFlowM3H < 0 || math.IsNaN(w.LeakFlowM3H) || math.IsInf(w.LeakFlowM3H, 0) {
		return fmt.Errorf("work order: leak flow %v", w.LeakFlowM3H)
	}
	return nil
}

// Event is one step in a work order's history.
type Event struct {
	WorkOrder int64     `json:"work_order"`
	Time      time.Time `json:"time"`
	Action    string    `json:"action"` // "create", "assign", "close"
	By        string    `json:"by,omitempty"`
	Assignee  string    `json:"assignee,omitempty"`
	Link      string    `json:"link,omitempty"`
	Note      string    `json:"note,omitempty"`
}

// Filter selects work orders; empty fields do not filter.
type Filter struct {
	Network    string
	Park       string
	Enterprise string
	State      State
	Open       bool // open or assigned
	Alarm      int64
	Limit      int // 0: 1000
}
