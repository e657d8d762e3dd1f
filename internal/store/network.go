package store

import (
	"context"
	"encoding/json"
	"fmt"

	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/workorder"
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
	if err := reading.ValidID(n.ID); err != nil {
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
	RecordLeak(ctx context.Context, e alarm.Leak) error
	// LeakEvent returns the details of a leak alarm.
	LeakEvent(ctx context.Context, alarm int64) (alarm.Leak, error)
	// LeakEvents lists a network's leak events, newest raised first, at
	// most limit (0: 1000).
	LeakEvents(ctx context.Context, network string, limit int) ([]alarm.Leak, error)

	// CreateWorkOrder stores a new order (state open, ID assigned) and its
	// "create" event. An alarm can have one order that is not closed
	// (ErrExists otherwise).
	CreateWorkOrder(ctx context.Context, w workorder.Order) (workorder.Order, error)
	WorkOrder(ctx context.Context, id int64) (workorder.Order, error)
	// WorkOrders lists orders matching f, newest first.
	WorkOrders(ctx context.Context, f workorder.Filter) ([]workorder.Order, error)
	// AssignWorkOrder gives an open or assigned order to assignee
	// (ErrConflict if closed).
	AssignWorkOrder(ctx context.Context, id int64, assignee, by string, at time.Time, note string) (workorder.Order, error)
	// CloseWorkOrder closes an order that is not closed (ErrConflict
	// otherwise), recording the repaired link and the water lost.
	CloseWorkOrder(ctx context.Context, id int64, by string, at time.Time, link, note string, waterLostM3 float64) (workorder.Order, error)
	// WorkOrderHistory lists an order's events, oldest first.
	WorkOrderHistory(ctx context.Context, id int64) ([]workorder.Event, error)
}
