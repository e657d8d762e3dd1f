// Package dispatch turns leak alarms into repair work orders and follows
// them to their end (the plan's 24/7 detection, location and dispatch):
// an order made from a leak alarm takes the alarm's network, estimated
// start and flow and names the first candidate pipe; making it acknowledges
// the alarm; closing it computes the water the leak lost (netmon.WaterLost,
// in the network's own clock) and clears the alarm, which re-arms the
// detector. The HTTP API decides who may do this (roles, tenant scope);
// this package does it, for any entry point.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/netmon"
	"github.com/shuixiao/shuixiao/internal/netreg"
	"github.com/shuixiao/shuixiao/internal/refusal"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/workorder"
)

// Store is what dispatch needs of the store: networks and work orders, and
// the alarms the orders handle.
type Store interface {
	store.Networks
	AckAlarm(ctx context.Context, id int64, by string, at time.Time, note string) (alarm.Alarm, error)
	ClearAlarm(ctx context.Context, id int64, by string, at time.Time, note string) (alarm.Alarm, error)
}

// Dispatch makes and changes work orders.
type Dispatch struct {
	Store Store
	// Nets serves the registered networks' parsed models (their pipes and
	// clock).
	Nets *netreg.Registry
	Now  func() time.Time
	// Notify is told of an alarm an order acknowledged or cleared (the live
	// stream); may be nil.
	Notify func(alarm.Alarm)
}

// Request is a work order asked for: from a leak alarm (Alarm), or by hand
// for a network (Network, with the leak's start and flow if known).
type Request struct {
	Alarm       int64
	Network     string
	Title, Note string
	LeakStart   time.Time
	LeakFlowM3H float64
	By          string // who asks, as histories name them
}

// Prepare resolves a request into the order it would make: a leak alarm
// gives the network, start, flow and a title naming its first candidate
// pipe. Nothing is stored; the caller checks that the requester may see the
// alarm and the order's network, then calls Create.
func (d *Dispatch) Prepare(ctx context.Context, req Request) (workorder.Order, error) {
	wo := workorder.Order{Network: req.Network, Alarm: req.Alarm, Title: req.Title, Note: req.Note,
		Created: d.Now(), CreatedBy: req.By, LeakStart: req.LeakStart, LeakFlowM3H: req.LeakFlowM3H}
	if req.Alarm != 0 {
		ev, err := d.Store.LeakEvent(ctx, req.Alarm)
		if errors.Is(err, store.ErrNotFound) {
			return wo, refusal.New(store.ErrInvalid, "alarm %d is not a leak alarm of a network", req.Alarm)
		}
		if err != nil {
			return wo, err
		}
		if wo.Network != "" && wo.Network != ev.Network {
			return wo, refusal.New(store.ErrInvalid, "alarm %d belongs to network %s, not %s", req.Alarm, ev.Network, wo.Network)
		}
		wo.Network, wo.LeakStart, wo.LeakFlowM3H = ev.Network, ev.Start, ev.FlowM3H
		if wo.Title == "" {
			wo.Title = fmt.Sprintf("漏损抢修 / Leak repair: alarm %d", req.Alarm)
			if len(ev.Candidates) > 0 {
				wo.Title = fmt.Sprintf("漏损抢修 %s 附近 / Leak repair near pipe %s", ev.Candidates[0].Link, ev.Candidates[0].Link)
			}
		}
	}
	if wo.Network == "" {
		return wo, refusal.New(store.ErrInvalid, "give the leak alarm (alarm) or the network (network) of the work order")
	}
	return wo, nil
}

// Create stores a prepared order under its network's park and enterprise
// and acknowledges its alarm: the leak is being handled.
func (d *Dispatch) Create(ctx context.Context, wo workorder.Order) (workorder.Order, error) {
	n, err := d.Store.Network(ctx, wo.Network)
	if err != nil {
		return wo, err
	}
	wo.Park, wo.Enterprise = n.Park, n.Enterprise
	if err := wo.Validate(); err != nil {
		return wo, refusal.New(store.ErrInvalid, "%v", err)
	}
	wo, err = d.Store.CreateWorkOrder(ctx, wo)
	if err != nil {
		return wo, err
	}
	if wo.Alarm != 0 {
		if a, err := d.Store.AckAlarm(ctx, wo.Alarm, wo.CreatedBy, wo.Created, fmt.Sprintf("work order %d / 已派工单 %d", wo.ID, wo.ID)); err == nil {
			d.notify(a)
		}
	}
	return wo, nil
}

// Assign gives an open or assigned order to a crew or person.
func (d *Dispatch) Assign(ctx context.Context, id int64, assignee, by, note string) (workorder.Order, error) {
	if assignee == "" {
		return workorder.Order{ID: id}, refusal.New(store.ErrInvalid, "assignee (crew or person) is required")
	}
	return d.Store.AssignWorkOrder(ctx, id, assignee, by, d.Now(), note)
}

// Close closes an order with the pipe found leaking (optional, checked
// against the network model) and the water lost since the leak's start. An
// order stored with leak inputs outside the bounds (workorder.LeakInvalid)
// is closed all the same, its note saying that no water lost was computed.
// Closing clears the order's alarm, which re-arms the network's detector.
func (d *Dispatch) Close(ctx context.Context, wo workorder.Order, by, repairedLink, note string) (workorder.Order, error) {
	n, err := d.Store.Network(ctx, wo.Network)
	if err != nil {
		return wo, err
	}
	m := d.Nets.Model(n)
	if repairedLink != "" {
		if m.NetErr != nil {
			return wo, m.NetErr
		}
		if _, ok := m.Net.LinkIndex(repairedLink); !ok {
			return wo, refusal.New(store.ErrInvalid, "network %s has no pipe %s", wo.Network, repairedLink)
		}
	}
	now := d.Now()
	lost := netmon.WaterLost(wo.LeakStart, now, wo.LeakFlowM3H, m.Clock())
	if why := wo.LeakInvalid(); why != "" || math.IsNaN(lost) || math.IsInf(lost, 0) {
		if why == "" {
			why = "not finite"
		}
		lost = 0
		note = strings.TrimSpace(note + " (水量损失无法计算 / water lost not computed: " + why + ")")
	}
	closed, err := d.Store.CloseWorkOrder(ctx, wo.ID, by, now, repairedLink, note, lost)
	if err != nil {
		return closed, err
	}
	if closed.Alarm != 0 {
		msg := fmt.Sprintf("work order %d closed / 工单 %d 已完成", closed.ID, closed.ID)
		if closed.RepairedLink != "" {
			msg += ": " + closed.RepairedLink
		}
		if a, err := d.Store.ClearAlarm(ctx, closed.Alarm, by, now, msg); err == nil {
			d.notify(a)
		} else if !errors.Is(err, store.ErrConflict) {
			return closed, err
		}
	}
	return closed, nil
}

// WaterLost is the water an order's leak has lost: so far for an open
// order, as computed at its closing for a closed one. invalid says why there
// is no figure (nil lost) when the order's leak inputs cannot give one.
func (d *Dispatch) WaterLost(ctx context.Context, wo workorder.Order) (lost *float64, invalid string) {
	if invalid = wo.LeakInvalid(); invalid != "" {
		return nil, invalid
	}
	v := wo.WaterLostM3
	if wo.State != workorder.Closed {
		clock := netmon.Clock{Speed: 1}
		if n, err := d.Store.Network(ctx, wo.Network); err == nil {
			clock = d.Nets.Model(n).Clock()
		}
		v = netmon.WaterLost(wo.LeakStart, d.Now(), wo.LeakFlowM3H, clock)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, "water lost is not finite"
	}
	return &v, ""
}

// LeakLost is the water a leak without a work order has lost until end (now
// while its alarm is open, its clearing otherwise); nil when its start or
// flow cannot give a figure.
func (d *Dispatch) LeakLost(n store.Network, ev alarm.Leak, end time.Time) *float64 {
	if (workorder.Order{LeakStart: ev.Start, LeakFlowM3H: ev.FlowM3H}).LeakInvalid() != "" {
		return nil
	}
	v := netmon.WaterLost(ev.Start, end, ev.FlowM3H, d.Nets.Model(n).Clock())
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func (d *Dispatch) notify(a alarm.Alarm) {
	if d.Notify != nil {
		d.Notify(a)
	}
}
