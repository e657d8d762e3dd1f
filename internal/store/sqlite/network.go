package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/workorder"
)

// networkSchema holds the pipe networks, their leak events and the repair
// work orders. Like device_secrets it is independent of the readings schema
// and applied by every write, so a data directory from before the networks
// gains it on first use; reads of a database without it see no rows.
const networkSchema = `
CREATE TABLE IF NOT EXISTS networks (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	name_en    TEXT NOT NULL,
	park       TEXT NOT NULL,
	enterprise TEXT NOT NULL,
	inp        TEXT NOT NULL,
	config     TEXT NOT NULL,
	created    INTEGER NOT NULL,
	updated    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leak_events (
	alarm      INTEGER PRIMARY KEY,
	network    TEXT NOT NULL,
	start      INTEGER NOT NULL,
	detected   INTEGER NOT NULL,
	raised     INTEGER NOT NULL,
	flow       REAL NOT NULL,
	candidates TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS leak_events_network ON leak_events(network, raised);
CREATE TABLE IF NOT EXISTS work_orders (
	id            INTEGER PRIMARY KEY,
	network       TEXT NOT NULL,
	alarm         INTEGER NOT NULL,
	park          TEXT NOT NULL,
	enterprise    TEXT NOT NULL,
	title         TEXT NOT NULL,
	state         TEXT NOT NULL,
	created       INTEGER NOT NULL,
	created_by    TEXT NOT NULL,
	assignee      TEXT NOT NULL,
	assigned      INTEGER NOT NULL,
	closed        INTEGER NOT NULL,
	closed_by     TEXT NOT NULL,
	repaired_link TEXT NOT NULL,
	note          TEXT NOT NULL,
	leak_start    INTEGER NOT NULL,
	leak_flow     REAL NOT NULL,
	water_lost    REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS work_orders_network ON work_orders(network, id);
CREATE UNIQUE INDEX IF NOT EXISTS work_orders_open_alarm ON work_orders(alarm) WHERE alarm != 0 AND state != 'closed';
CREATE TABLE IF NOT EXISTS work_order_events (
	id         INTEGER PRIMARY KEY,
	work_order INTEGER NOT NULL,
	t          INTEGER NOT NULL,
	action     TEXT NOT NULL,
	by         TEXT NOT NULL,
	assignee   TEXT NOT NULL,
	link       TEXT NOT NULL,
	note       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS work_order_events_order ON work_order_events(work_order, id);`

var _ store.Networks = (*Store)(nil)

// withNetworks runs fn in a write transaction after making sure the network
// tables exist.
func (s *Store) withNetworks(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.withWrite(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, networkSchema); err != nil {
			return fmt.Errorf("network tables: %w", err)
		}
		return fn(tx)
	})
}

// millis stores a time as Unix milliseconds, the zero time as 0.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMillis reverses millis.
func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// scanner is a row or the current row of rows.
type scanner interface{ Scan(...any) error }

// queryNetworkRows runs a query on the network tables and scans every row;
// before the tables exist it returns no rows.
func queryNetworkRows[T any](ctx context.Context, s *Store, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		if isNoSuchTable(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// queryNetworkRow scans the one row a query on the network tables selects;
// no row (or no table yet) is ErrNotFound.
func queryNetworkRow[T any](ctx context.Context, s *Store, what string, scan func(scanner) (T, error), query string, args ...any) (T, error) {
	v, err := scan(s.r.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) || (err != nil && isNoSuchTable(err)) {
		return v, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
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
	err := s.withNetworks(ctx, func(tx *sql.Tx) error {
		for _, ref := range []struct{ what, table, id string }{{"park", "parks", n.Park}, {"enterprise", "enterprises", n.Enterprise}} {
			if ref.id == "" {
				continue
			}
			ok, err := exists(ctx, tx, ref.table, "id", ref.id)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("%s %s: %w", ref.what, ref.id, store.ErrNotFound)
			}
		}
		var was int64
		err := tx.QueryRowContext(ctx, `SELECT created FROM networks WHERE id = ?`, n.ID).Scan(&was)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			created = true
			if n.Created.IsZero() {
				n.Created = n.Updated
			}
		case err != nil:
			return err
		default:
			n.Created = fromMillis(was)
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO networks(id, name, name_en, park, enterprise, inp, config, created, updated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			n.ID, n.Name, n.NameEN, n.Park, n.Enterprise, n.INP, string(n.Config), millis(n.Created), millis(n.Updated))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("put network %s: %w", n.ID, err)
	}
	return created, nil
}

const networkColumns = `id, name, name_en, park, enterprise, inp, config, created, updated`

func scanNetwork(sc scanner) (store.Network, error) {
	var n store.Network
	var cfg string
	var created, updated int64
	if err := sc.Scan(&n.ID, &n.Name, &n.NameEN, &n.Park, &n.Enterprise, &n.INP, &cfg, &created, &updated); err != nil {
		return n, err
	}
	n.Config = json.RawMessage(cfg)
	n.Created, n.Updated = fromMillis(created), fromMillis(updated)
	return n, nil
}

// Network implements store.Networks.
func (s *Store) Network(ctx context.Context, id string) (store.Network, error) {
	return queryNetworkRow(ctx, s, "network "+id, scanNetwork, `SELECT `+networkColumns+` FROM networks WHERE id = ?`, id)
}

// Networks implements store.Networks.
func (s *Store) Networks(ctx context.Context, f store.NetworkFilter) ([]store.Network, error) {
	w := &where{}
	w.add("park = ?", f.Park)
	w.add("enterprise = ?", f.Enterprise)
	return queryNetworkRows(ctx, s, "networks", scanNetwork, `SELECT `+networkColumns+` FROM networks`+w.String()+` ORDER BY id`, w.args...)
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
	return s.withNetworks(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO leak_events(alarm, network, start, detected, raised, flow, candidates) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			e.Alarm, e.Network, millis(e.Start), millis(e.Detected), millis(e.Raised), e.FlowM3H, mustJSON(cands))
		if err != nil {
			return fmt.Errorf("record leak of alarm %d: %w", e.Alarm, err)
		}
		return nil
	})
}

const leakColumns = `alarm, network, start, detected, raised, flow, candidates`

func scanLeak(sc scanner) (alarm.Leak, error) {
	var e alarm.Leak
	var start, detected, raised int64
	var cands string
	if err := sc.Scan(&e.Alarm, &e.Network, &start, &detected, &raised, &e.FlowM3H, &cands); err != nil {
		return e, err
	}
	e.Start, e.Detected, e.Raised = fromMillis(start), fromMillis(detected), fromMillis(raised)
	if err := json.Unmarshal([]byte(cands), &e.Candidates); err != nil {
		return e, fmt.Errorf("candidates of leak alarm %d: %w", e.Alarm, err)
	}
	return e, nil
}

// LeakEvent implements store.Networks.
func (s *Store) LeakEvent(ctx context.Context, alarm int64) (alarm.Leak, error) {
	return queryNetworkRow(ctx, s, fmt.Sprintf("leak event of alarm %d", alarm), scanLeak, `SELECT `+leakColumns+` FROM leak_events WHERE alarm = ?`, alarm)
}

// LeakEvents implements store.Networks.
func (s *Store) LeakEvents(ctx context.Context, network string, limit int) ([]alarm.Leak, error) {
	if limit <= 0 {
		limit = 1000
	}
	return queryNetworkRows(ctx, s, "leak events of "+network, scanLeak,
		`SELECT `+leakColumns+` FROM leak_events WHERE network = ? ORDER BY raised DESC, alarm DESC LIMIT ?`, network, limit)
}

// CreateWorkOrder implements store.Networks.
func (s *Store) CreateWorkOrder(ctx context.Context, w workorder.Order) (workorder.Order, error) {
	if err := w.Validate(); err != nil {
		return workorder.Order{}, fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	var id int64
	err := s.withNetworks(ctx, func(tx *sql.Tx) error {
		ok, err := exists(ctx, tx, "networks", "id", w.Network)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("network %s: %w", w.Network, store.ErrNotFound)
		}
		if w.Alarm != 0 {
			var other int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM work_orders WHERE alarm = ? AND state != 'closed'`, w.Alarm).Scan(&other)
			if err == nil {
				return fmt.Errorf("alarm %d already has work order %d: %w", w.Alarm, other, store.ErrExists)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO work_orders(network, alarm, park, enterprise, title, state, created, created_by, assignee, assigned,
				closed, closed_by, repaired_link, note, leak_start, leak_flow, water_lost)
			VALUES (?, ?, ?, ?, ?, 'open', ?, ?, '', 0, 0, '', '', ?, ?, ?, 0)`,
			w.Network, w.Alarm, w.Park, w.Enterprise, w.Title, millis(w.Created), w.CreatedBy, w.Note, millis(w.LeakStart), w.LeakFlowM3H)
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		return workOrderEvent(ctx, tx, workorder.Event{WorkOrder: id, Time: w.Created, Action: "create", By: w.CreatedBy, Note: w.Note})
	})
	if err != nil {
		return workorder.Order{}, fmt.Errorf("create work order: %w", err)
	}
	return s.WorkOrder(ctx, id)
}

func workOrderEvent(ctx context.Context, tx *sql.Tx, e workorder.Event) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO work_order_events(work_order, t, action, by, assignee, link, note) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.WorkOrder, millis(e.Time), e.Action, e.By, e.Assignee, e.Link, e.Note)
	return err
}

const workOrderColumns = `id, network, alarm, park, enterprise, title, state, created, created_by, assignee, assigned,
	closed, closed_by, repaired_link, note, leak_start, leak_flow, water_lost`

func scanWorkOrder(sc scanner) (workorder.Order, error) {
	var w workorder.Order
	var state string
	var created, assigned, closed, leakStart int64
	err := sc.Scan(&w.ID, &w.Network, &w.Alarm, &w.Park, &w.Enterprise, &w.Title, &state, &created, &w.CreatedBy, &w.Assignee, &assigned,
		&closed, &w.ClosedBy, &w.RepairedLink, &w.Note, &leakStart, &w.LeakFlowM3H, &w.WaterLostM3)
	w.State = workorder.State(state)
	w.Created, w.Assigned, w.Closed, w.LeakStart = fromMillis(created), fromMillis(assigned), fromMillis(closed), fromMillis(leakStart)
	return w, err
}

// WorkOrder implements store.Networks.
func (s *Store) WorkOrder(ctx context.Context, id int64) (workorder.Order, error) {
	return queryNetworkRow(ctx, s, fmt.Sprintf("work order %d", id), scanWorkOrder, `SELECT `+workOrderColumns+` FROM work_orders WHERE id = ?`, id)
}

// WorkOrders implements store.Networks.
func (s *Store) WorkOrders(ctx context.Context, f workorder.Filter) ([]workorder.Order, error) {
	w := &where{}
	w.add("network = ?", f.Network)
	w.add("park = ?", f.Park)
	w.add("enterprise = ?", f.Enterprise)
	w.add("state = ?", string(f.State))
	if f.Alarm != 0 {
		w.conds = append(w.conds, "alarm = ?")
		w.args = append(w.args, f.Alarm)
	}
	if f.Open {
		w.conds = append(w.conds, "state != 'closed'")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	return queryNetworkRows(ctx, s, "work orders", scanWorkOrder,
		`SELECT `+workOrderColumns+` FROM work_orders`+w.String()+` ORDER BY id DESC LIMIT ?`, append(w.args, limit)...)
}

// transitionWorkOrder applies an action to an order that is not closed.
func (s *Store) transitionWorkOrder(ctx context.Context, id int64, e workorder.Event, update string, args ...any) (workorder.Order, error) {
	err := s.withNetworks(ctx, func(tx *sql.Tx) error {
		var state string
		err := tx.QueryRowContext(ctx, `SELECT state FROM work_orders WHERE id = ?`, id).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if workorder.State(state) == workorder.Closed {
			return fmt.Errorf("%w: work order is closed", store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE work_orders SET `+update+` WHERE id = ?`, append(args, id)...); err != nil {
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
		`state = 'assigned', assignee = ?, assigned = ?`, assignee, millis(at))
}

// CloseWorkOrder implements store.Networks.
func (s *Store) CloseWorkOrder(ctx context.Context, id int64, by string, at time.Time, link, note string, waterLostM3 float64) (workorder.Order, error) {
	if err := store.ValidWaterLost(id, waterLostM3); err != nil {
		return workorder.Order{}, err
	}
	return s.transitionWorkOrder(ctx, id, workorder.Event{Time: at, Action: "close", By: by, Link: link, Note: note},
		`state = 'closed', closed = ?, closed_by = ?, repaired_link = ?, note = CASE WHEN ? = '' THEN note ELSE ? END, water_lost = ?`,
		millis(at), by, link, note, note, waterLostM3)
}

// WorkOrderHistory implements store.Networks.
func (s *Store) WorkOrderHistory(ctx context.Context, id int64) ([]workorder.Event, error) {
	return queryNetworkRows(ctx, s, fmt.Sprintf("history of work order %d", id), func(sc scanner) (workorder.Event, error) {
		var e workorder.Event
		var t int64
		err := sc.Scan(&e.WorkOrder, &t, &e.Action, &e.By, &e.Assignee, &e.Link, &e.Note)
		e.Time = fromMillis(t)
		return e, err
	}, `SELECT work_order, t, action, by, assignee, link, note FROM work_order_events WHERE work_order = ? ORDER BY id`, id)
}
