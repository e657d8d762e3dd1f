package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/workorder"
)

var _ store.Networks = (*Store)(nil)

// millis stores a time as Unix milliseconds, the zero time as 0.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMillis reverses millis.
func fromMillis(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return utc(v)
}

// PutNetwork implements store.Networks.
func (s *Store) PutNetwork(ctx context.Context, n store.Network) (bool, error) {
	if err := n.Validate(); err != nil {
		return false, err
	}
	if n.Updated.IsZero() {
		n.Updated = time.Now()
	}
	created := false
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		for _, ref := range []struct{ what, table, id string }{{"park", "parks", n.Park}, {"enterprise", "enterprises", n.Enterprise}} {
			if ref.id != "" {
				if err := mustRef(ctx, tx, ref.table, ref.what, ref.id); err != nil {
					return err
				}
			}
		}
		var was int64
		err := tx.QueryRow(ctx, `SELECT created FROM networks WHERE id = $1`, n.ID).Scan(&was)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			created = true
			if n.Created.IsZero() {
				n.Created = n.Updated
			}
		case err != nil:
			return err
		default:
			n.Created = fromMillis(was)
		}
		_, err = tx.Exec(ctx, `INSERT INTO networks(id, name, name_en, park, enterprise, inp, config, created, updated)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_en = excluded.name_en, park = excluded.park,
				enterprise = excluded.enterprise, inp = excluded.inp, config = excluded.config, created = excluded.created, updated = excluded.updated`,
			n.ID, n.Name, n.NameEN, n.Park, n.Enterprise, n.INP, string(n.Config), millis(n.Created), millis(n.Updated))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("put network %s: %w", n.ID, err)
	}
	return created, nil
}

const networkColumns = `id, name, name_en, park, enterprise, inp, config, created, updated`

func scanNetwork(r pgx.Row) (store.Network, error) {
	var n store.Network
	var cfg string
	var created, updated int64
	err := r.Scan(&n.ID, &n.Name, &n.NameEN, &n.Park, &n.Enterprise, &n.INP, &cfg, &created, &updated)
	n.Config = json.RawMessage(cfg)
	n.Created, n.Updated = fromMillis(created), fromMillis(updated)
	return n, err
}

// Network implements store.Networks.
func (s *Store) Network(ctx context.Context, id string) (store.Network, error) {
	return one(ctx, s, "network "+id, `SELECT `+networkColumns+` FROM networks WHERE id = $1`, []any{id}, scanNetwork)
}

// Networks implements store.Networks.
func (s *Store) Networks(ctx context.Context, f store.NetworkFilter) ([]store.Network, error) {
	w := &where{}
	w.add("park = ?", f.Park)
	w.add("enterprise = ?", f.Enterprise)
	return list(ctx, s, "networks", `SELECT `+networkColumns+` FROM networks`+w.String()+` ORDER BY id`, w.args,
		func(r pgx.Rows) (store.Network, error) { return scanNetwork(r) })
}

// RecordLeak implements store.Networks.
func (s *Store) RecordLeak(ctx context.Context, e alarm.Leak) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	cands := e.Candidates
	if cands == nil {
		cands = []alarm.LeakCandidate{}
	}
	b, err := json.Marshal(cands)
	if err != nil {
		return err
	}
	return s.withWrite(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO leak_events(alarm, network, start, detected, raised, flow, candidates) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (alarm) DO UPDATE SET network = excluded.network, start = excluded.start, detected = excluded.detected,
				raised = excluded.raised, flow = excluded.flow, candidates = excluded.candidates`,
			e.Alarm, e.Network, millis(e.Start), millis(e.Detected), millis(e.Raised), e.FlowM3H, string(b))
		if err != nil {
			return fmt.Errorf("record leak of alarm %d: %w", e.Alarm, err)
		}
		return nil
	})
}

const leakColumns = `alarm, network, start, detected, raised, flow, candidates::text`

func scanLeak(r pgx.Row) (alarm.Leak, error) {
	var e alarm.Leak
	var start, detected, raised int64
	var cands string
	if err := r.Scan(&e.Alarm, &e.Network, &start, &detected, &raised, &e.FlowM3H, &cands); err != nil {
		return e, err
	}
	e.Start, e.Detected, e.Raised = fromMillis(start), fromMillis(detected), fromMillis(raised)
	if err := json.Unmarshal([]byte(cands), &e.Candidates); err != nil {
		return e, fmt.Errorf("candidates of leak alarm %d: %w", e.Alarm, err)
	}
	return e, nil
}

// LeakEvent implements store.Networks.
func (s *Store) LeakEvent(ctx context.Context, id int64) (alarm.Leak, error) {
	return one(ctx, s, fmt.Sprintf("leak event of alarm %d", id), `SELECT `+leakColumns+` FROM leak_events WHERE alarm = $1`, []any{id}, scanLeak)
}

// LeakEvents implements store.Networks.
func (s *Store) LeakEvents(ctx context.Context, network string, limit int) ([]alarm.Leak, error) {
	if limit <= 0 {
		limit = 1000
	}
	return list(ctx, s, "leak events of "+network, `SELECT `+leakColumns+` FROM leak_events WHERE network = $1 ORDER BY raised DESC, alarm DESC LIMIT $2`,
		[]any{network, limit}, func(r pgx.Rows) (alarm.Leak, error) { return scanLeak(r) })
}

// CreateWorkOrder implements store.Networks.
func (s *Store) CreateWorkOrder(ctx context.Context, w workorder.Order) (workorder.Order, error) {
	if err := w.Validate(); err != nil {
		return workorder.Order{}, fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	var id int64
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		if err := mustRef(ctx, tx, "networks", "network", w.Network); err != nil {
			return err
		}
		if w.Alarm != 0 {
			var other int64
			err := tx.QueryRow(ctx, `SELECT id FROM work_orders WHERE alarm = $1 AND state <> 'closed'`, w.Alarm).Scan(&other)
			if err == nil {
				return fmt.Errorf("alarm %d already has work order %d: %w", w.Alarm, other, store.ErrExists)
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		err := tx.QueryRow(ctx, `INSERT INTO work_orders(network, alarm, park, enterprise, title, state, created, created_by, assignee, assigned,
				closed, closed_by, repaired_link, note, leak_start, leak_flow, water_lost)
			VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, '', 0, 0, '', '', $8, $9, $10, 0) RETURNING id`,
			w.Network, w.Alarm, w.Park, w.Enterprise, w.Title, millis(w.Created), w.CreatedBy, w.Note, millis(w.LeakStart), w.LeakFlowM3H).Scan(&id)
		if err != nil {
			return err
		}
		return workOrderEvent(ctx, tx, workorder.Event{WorkOrder: id, Time: w.Created, Action: "create", By: w.CreatedBy, Note: w.Note})
	})
	if err != nil {
		return workorder.Order{}, fmt.Errorf("create work order: %w", err)
	}
	return s.WorkOrder(ctx, id)
}

func workOrderEvent(ctx context.Context, tx pgx.Tx, e workorder.Event) error {
	_, err := tx.Exec(ctx, `INSERT INTO work_order_events(work_order, t, action, by_, assignee, link, note) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		e.WorkOrder, millis(e.Time), e.Action, e.By, e.Assignee, e.Link, e.Note)
	return err
}

const workOrderColumns = `id, network, alarm, park, enterprise, title, state, created, created_by, assignee, assigned,
	closed, closed_by, repaired_link, note, leak_start, leak_flow, water_lost`

func scanWorkOrder(r pgx.Row) (workorder.Order, error) {
	var w workorder.Order
	var state string
	var created, assigned, closed, leakStart int64
	err := r.Scan(&w.ID, &w.Network, &w.Alarm, &w.Park, &w.Enterprise, &w.Title, &state, &created, &w.CreatedBy, &w.Assignee, &assigned,
		&closed, &w.ClosedBy, &w.RepairedLink, &w.Note, &leakStart, &w.LeakFlowM3H, &w.WaterLostM3)
	w.State = workorder.State(state)
	w.Created, w.Assigned, w.Closed, w.LeakStart = fromMillis(created), fromMillis(assigned), fromMillis(closed), fromMillis(leakStart)
	return w, err
}

// WorkOrder implements store.Networks.
func (s *Store) WorkOrder(ctx context.Context, id int64) (workorder.Order, error) {
	return one(ctx, s, fmt.Sprintf("work order %d", id), `SELECT `+workOrderColumns+` FROM work_orders WHERE id = $1`, []any{id}, scanWorkOrder)
}

// WorkOrders implements store.Networks.
func (s *Store) WorkOrders(ctx context.Context, f workorder.Filter) ([]workorder.Order, error) {
	w := &where{}
	w.add("network = ?", f.Network)
	w.add("park = ?", f.Park)
	w.add("enterprise = ?", f.Enterprise)
	w.add("state = ?", string(f.State))
	if f.Alarm != 0 {
		w.addAlways("alarm = ?", f.Alarm)
	}
	if f.Open {
		w.conds = append(w.conds, "state <> 'closed'")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	return list(ctx, s, "work orders", `SELECT `+workOrderColumns+` FROM work_orders`+w.String()+` ORDER BY id DESC LIMIT `+w.next(limit), w.args,
		func(r pgx.Rows) (workorder.Order, error) { return scanWorkOrder(r) })
}

// transitionWorkOrder applies an action to an order that is not closed;
// update's parameters start at $2 ($1 is the order's ID).
func (s *Store) transitionWorkOrder(ctx context.Context, id int64, e workorder.Event, update string, args ...any) (workorder.Order, error) {
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		var state string
		err := tx.QueryRow(ctx, `SELECT state FROM work_orders WHERE id = $1 FOR UPDATE`, id).Scan(&state)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if workorder.State(state) == workorder.Closed {
			return fmt.Errorf("%w: work order is closed", store.ErrConflict)
		}
		if _, err := tx.Exec(ctx, `UPDATE work_orders SET `+update+` WHERE id = $1`, append([]any{id}, args...)...); err != nil {
			return err
		}
		e.WorkOrder = id
		return workOrderEvent(ctx, tx, e)
	})
	if err != nil {
		return workorder.Order{}, fmt.Errorf("%s work order %d: %w", e.Action, id, err)
	}
	return s.WorkOrder(ctx, id)
}

// AssignWorkOrder implements store.Networks.
func (s *Store) AssignWorkOrder(ctx context.Context, id int64, assignee, by string, at time.Time, note string) (workorder.Order, error) {
	if err := store.ValidAssignee(id, assignee); err != nil {
		return workorder.Order{}, err
	}
	return s.transitionWorkOrder(ctx, id, workorder.Event{Time: at, Action: "assign", By: by, Assignee: assignee, Note: note},
		`state = 'assigned', assignee = $2, assigned = $3`, assignee, millis(at))
}

// CloseWorkOrder implements store.Networks.
func (s *Store) CloseWorkOrder(ctx context.Context, id int64, by string, at time.Time, link, note string, waterLostM3 float64) (workorder.Order, error) {
	if err := store.ValidWaterLost(id, waterLostM3); err != nil {
		return workorder.Order{}, err
	}
	return s.transitionWorkOrder(ctx, id, workorder.Event{Time: at, Action: "close", By: by, Link: link, Note: note},
		`state = 'closed', closed = $2, closed_by = $3, repaired_link = $4, note = CASE WHEN $5 = '' THEN note ELSE $5 END, water_lost = $6`,
		millis(at), by, link, note, waterLostM3)
}

// WorkOrderHistory implements store.Networks.
func (s *Store) WorkOrderHistory(ctx context.Context, id int64) ([]workorder.Event, error) {
	return list(ctx, s, fmt.Sprintf("history of work order %d", id),
		`SELECT work_order, t, action, by_, assignee, link, note FROM work_order_events WHERE work_order = $1 ORDER BY id`, []any{id},
		func(r pgx.Rows) (workorder.Event, error) {
			var e workorder.Event
			var t int64
			err := r.Scan(&e.WorkOrder, &t, &e.Action, &e.By, &e.Assignee, &e.Link, &e.Note)
			e.Time = fromMillis(t)
			return e, err
		})
}
