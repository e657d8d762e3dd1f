package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/rejection"
)

// writeRejections counts a batch's rejections by (reason, meter) and folds
// them into the log of recent rejections, one row per (reason, meter,
// source) with a count, the first and the last time: a stranger repeating a
// refused attempt moves a row's counters instead of adding rows. The log
// keeps the RecentRejections rows seen last, so whatever the keys it stays
// bounded.
func (s *Store) writeRejections(ctx context.Context, tx *sql.Tx, rejs []rejection.Rejection) error {
	counts, logs := store.FoldRejections(rejs)
	for _, c := range counts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO rejection_counts(reason, meter, n, last) VALUES (?, ?, ?, ?)
			ON CONFLICT(reason, meter) DO UPDATE SET n = n + excluded.n, last = max(last, excluded.last)`, c.Reason, c.Meter, c.N, c.Last); err != nil {
			return fmt.Errorf("count rejections: %w", err)
		}
	}
	for _, l := range logs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO rejections(reason, meter, source, n, first, t, detail) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(reason, meter, source) DO UPDATE SET n = n + excluded.n, first = min(first, excluded.first),
				detail = CASE WHEN excluded.t >= t THEN excluded.detail ELSE detail END, t = max(t, excluded.t)`,
			l.Reason, l.Meter, l.Source, l.N, l.First, l.Last, l.Detail); err != nil {
			return fmt.Errorf("log rejection: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM rejections WHERE id IN
		(SELECT id FROM rejections ORDER BY t DESC, id DESC LIMIT -1 OFFSET ?)`, s.opt.RecentRejections); err != nil {
		return fmt.Errorf("trim rejection log: %w", err)
	}
	return nil
}

// RejectionCounts implements store.Rejections.
func (s *Store) RejectionCounts(ctx context.Context, f rejection.Filter) ([]rejection.Count, error) {
	w := &where{}
	w.add("meter = ?", f.Meter)
	w.add("reason = ?", f.Reason)
	if !f.Since.IsZero() {
		w.conds = append(w.conds, "last >= ?")
		w.args = append(w.args, f.Since.UnixMilli())
	}
	if f.AfterReason != "" {
		w.conds = append(w.conds, "(reason > ? OR reason = ? AND meter > ?)")
		w.args = append(w.args, f.AfterReason, f.AfterReason, f.AfterMeter)
	}
	limit := -1 // SQLite: no limit
	if f.Limit > 0 {
		limit = f.Limit
	}
	rows, err := s.r.QueryContext(ctx, `SELECT reason, meter, n, last FROM rejection_counts`+w.String()+` ORDER BY reason, meter LIMIT ?`, append(w.args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("rejection counts: %w", err)
	}
	defer rows.Close()
	var out []rejection.Count
	for rows.Next() {
		var c rejection.Count
		var n, last int64
		if err := rows.Scan(&c.Reason, &c.Meter, &n, &last); err != nil {
			return nil, fmt.Errorf("rejection counts: %w", err)
		}
		c.Count, c.Last = uint64(n), time.UnixMilli(last).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// RecentRejections implements store.Rejections.
func (s *Store) RecentRejections(ctx context.Context, f rejection.Filter, limit int) ([]rejection.Rejection, error) {
	if limit <= 0 {
		limit = 100
	}
	w := &where{}
	w.add("meter = ?", f.Meter)
	w.add("reason = ?", f.Reason)
	if !f.Since.IsZero() {
		w.conds = append(w.conds, "t >= ?")
		w.args = append(w.args, f.Since.UnixMilli())
	}
	rows, err := s.r.QueryContext(ctx, `SELECT t, first, n, meter, reason, detail, source FROM rejections`+w.String()+` ORDER BY t DESC, id DESC LIMIT ?`, append(w.args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("recent rejections: %w", err)
	}
	defer rows.Close()
	var out []rejection.Rejection
	for rows.Next() {
		var r rejection.Rejection
		var t, first, n int64
		if err := rows.Scan(&t, &first, &n, &r.Meter, &r.Reason, &r.Detail, &r.Source); err != nil {
			return nil, fmt.Errorf("recent rejections: %w", err)
		}
		r.Time, r.First, r.Count = time.UnixMilli(t).UTC(), time.UnixMilli(first).UTC(), uint64(n)
		out = append(out, r)
	}
	return out, rows.Err()
}

const alarmCols = `id, kind, severity, enterprise, point, meter, message, state, raised, last_raised, count, acked, acked_by, cleared, cleared_by`

func scanAlarm(sc interface{ Scan(...any) error }) (alarm.Alarm, error) {
	var a alarm.Alarm
	var sev, state string
	var raised, last, acked, cleared int64
	err := sc.Scan(&a.ID, &a.Kind, &sev, &a.Enterprise, &a.Point, &a.Meter, &a.Message, &state, &raised, &last, &a.Count, &acked, &a.AckedBy, &cleared, &a.ClearedBy)
	a.Severity, a.State = alarm.Severity(sev), alarm.State(state)
	a.Raised, a.LastRaised = time.UnixMilli(raised).UTC(), time.UnixMilli(last).UTC()
	if acked != 0 {
		a.Acked = time.UnixMilli(acked).UTC()
	}
	if cleared != 0 {
		a.Cleared = time.UnixMilli(cleared).UTC()
	}
	return a, err
}

// txStmts runs a transaction's statements, each prepared once however
// many alarms of a batch run it (preparing was most of a batch's cost).
// The statements close with the transaction.
type txStmts struct {
	tx       *sql.Tx
	prepared map[string]*sql.Stmt
}

func newTxStmts(tx *sql.Tx) *txStmts { return &txStmts{tx: tx, prepared: map[string]*sql.Stmt{}} }

func (q *txStmts) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := q.prepared[query]; ok {
		return st, nil
	}
	st, err := q.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	q.prepared[query] = st
	return st, nil
}

func (q *txStmts) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := q.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// QueryRowContext returns the row, or a prepare's error at its Scan.
func (q *txStmts) QueryRowContext(ctx context.Context, query string, args ...any) interface{ Scan(...any) error } {
	st, err := q.stmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func alarmEvent(ctx context.Context, tx *txStmts, id int64, at time.Time, action, by, note string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO alarm_events(alarm, t, action, by, note) VALUES (?, ?, ?, ?, ?)`, id, at.UnixMilli(), action, by, note)
	return err
}

// RaiseAlarm implements store.Alarms.
func (s *Store) RaiseAlarm(ctx context.Context, a alarm.Alarm) (alarm.Alarm, bool, error) {
	if err := a.Validate(); err != nil {
		return alarm.Alarm{}, false, fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	var id int64
	created := false
	err := s.withWrite(ctx, func(tx *sql.Tx) (err error) {
		id, created, err = raiseTx(ctx, newTxStmts(tx), a)
		return err
	})
	if err != nil {
		return alarm.Alarm{}, false, fmt.Errorf("raise alarm %s: %w", a.Kind, err)
	}
	stored, err := s.Alarm(ctx, id)
	return stored, created, err
}

// RaiseAlarms implements store.Alarms.
func (s *Store) RaiseAlarms(ctx context.Context, as []alarm.Alarm) ([]store.RaisedAlarm, error) {
	for i, a := range as {
		if err := a.Validate(); err != nil {
			return nil, fmt.Errorf("alarm %d of %d: %w: %v", i+1, len(as), store.ErrInvalid, err)
		}
	}
	if len(as) == 0 {
		return nil, nil
	}
	out := make([]store.RaisedAlarm, len(as))
	err := s.withWrite(ctx, func(sqlTx *sql.Tx) error {
		tx := newTxStmts(sqlTx)
		for i, a := range as {
			id, created, err := raiseTx(ctx, tx, a)
			if err != nil {
				return fmt.Errorf("raise alarm %s: %w", a.Kind, err)
			}
			stored, err := scanAlarm(tx.QueryRowContext(ctx, `SELECT `+alarmCols+` FROM alarms WHERE id = ?`, id))
			if err != nil {
				return fmt.Errorf("alarm %d: %w", id, err)
			}
			out[i] = store.RaisedAlarm{Alarm: stored, Created: created}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// raiseTx opens alarm a in tx, or counts a repeat on the open alarm of its
// kind and subject, and records the event; it returns the alarm's id and
// whether it was opened.
func raiseTx(ctx context.Context, tx *txStmts, a alarm.Alarm) (id int64, created bool, err error) {
	err = tx.QueryRowContext(ctx, `SELECT id FROM alarms WHERE kind = ? AND enterprise = ? AND point = ? AND meter = ? AND state != 'cleared'`,
		a.Kind, a.Enterprise, a.Point, a.Meter).Scan(&id)
	switch {
	case err == nil:
		if _, err := tx.ExecContext(ctx, `UPDATE alarms SET count = count + 1, last_raised = max(last_raised, ?), severity = ?, message = ? WHERE id = ?`,
			a.Raised.UnixMilli(), string(a.Severity), a.Message, id); err != nil {
			return 0, false, err
		}
		return id, false, alarmEvent(ctx, tx, id, a.Raised, "repeat", "", a.Message)
	case !errors.Is(err, sql.ErrNoRows):
		return 0, false, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO alarms(kind, severity, enterprise, point, meter, message, state, raised, last_raised, count, acked, acked_by, cleared, cleared_by)
		VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?, 1, 0, '', 0, '')`,
		a.Kind, string(a.Severity), a.Enterprise, a.Point, a.Meter, a.Message, a.Raised.UnixMilli(), a.Raised.UnixMilli())
	if err != nil {
		return 0, false, err
	}
	if id, err = res.LastInsertId(); err != nil {
		return 0, false, err
	}
	return id, true, alarmEvent(ctx, tx, id, a.Raised, "raise", "", a.Message)
}

// transition moves an alarm from one of the states in from to state to.
func (s *Store) transition(ctx context.Context, id int64, action string, to alarm.State, set string, by string, at time.Time, note string, from ...alarm.State) (alarm.Alarm, error) {
	err := s.withWrite(ctx, func(tx *sql.Tx) error {
		return transitionTx(ctx, newTxStmts(tx), id, action, to, set, by, at, note, from...)
	})
	if err != nil {
		return alarm.Alarm{}, fmt.Errorf("%s alarm %d: %w", action, id, err)
	}
	return s.Alarm(ctx, id)
}

// transitionTx is transition in tx: ErrNotFound or ErrConflict before it
// writes anything.
func transitionTx(ctx context.Context, tx *txStmts, id int64, action string, to alarm.State, set string, by string, at time.Time, note string, from ...alarm.State) error {
	var state string
	err := tx.QueryRowContext(ctx, `SELECT state FROM alarms WHERE id = ?`, id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	allowed := false
	for _, f := range from {
		allowed = allowed || alarm.State(state) == f
	}
	if !allowed {
		return fmt.Errorf("%w: alarm is %s", store.ErrConflict, state)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE alarms SET state = ?, `+set+` WHERE id = ?`, string(to), at.UnixMilli(), by, id); err != nil {
		return err
	}
	return alarmEvent(ctx, tx, id, at, action, by, note)
}

// AckAlarm implements store.Alarms.
func (s *Store) AckAlarm(ctx context.Context, id int64, by string, at time.Time, note string) (alarm.Alarm, error) {
	return s.transition(ctx, id, "ack", alarm.Acked, "acked = ?, acked_by = ?", by, at, note, alarm.Active)
}

// ClearAlarm implements store.Alarms.
func (s *Store) ClearAlarm(ctx context.Context, id int64, by string, at time.Time, note string) (alarm.Alarm, error) {
	return s.transition(ctx, id, "clear", alarm.Cleared, clearSet, by, at, note, alarm.Active, alarm.Acked)
}

const clearSet = "cleared = ?, cleared_by = ?"

// ClearAlarms implements store.Alarms.
func (s *Store) ClearAlarms(ctx context.Context, ids []int64, by string, at time.Time, note string) ([]store.ClearedAlarm, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	out := make([]store.ClearedAlarm, len(ids))
	err := s.withWrite(ctx, func(sqlTx *sql.Tx) error {
		tx := newTxStmts(sqlTx)
		for i, id := range ids {
			err := transitionTx(ctx, tx, id, "clear", alarm.Cleared, clearSet, by, at, note, alarm.Active, alarm.Acked)
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
				out[i] = store.ClearedAlarm{Err: fmt.Errorf("clear alarm %d: %w", id, err)}
				continue
			}
			if err != nil {
				return fmt.Errorf("clear alarm %d: %w", id, err)
			}
			a, err := scanAlarm(tx.QueryRowContext(ctx, `SELECT `+alarmCols+` FROM alarms WHERE id = ?`, id))
			if err != nil {
				return fmt.Errorf("alarm %d: %w", id, err)
			}
			out[i] = store.ClearedAlarm{Alarm: a}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Alarm implements store.Alarms.
func (s *Store) Alarm(ctx context.Context, id int64) (alarm.Alarm, error) {
	a, err := scanAlarm(s.r.QueryRowContext(ctx, `SELECT `+alarmCols+` FROM alarms WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return alarm.Alarm{}, fmt.Errorf("alarm %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return alarm.Alarm{}, fmt.Errorf("alarm %d: %w", id, err)
	}
	return a, nil
}

// Alarms implements store.Alarms.
func (s *Store) Alarms(ctx context.Context, f alarm.Filter) ([]alarm.Alarm, error) {
	w := &where{}
	w.add("state = ?", string(f.State))
	if f.Open {
		w.conds = append(w.conds, "state != 'cleared'")
	}
	w.add("severity = ?", string(f.Severity))
	w.add("kind = ?", f.Kind)
	w.add("enterprise IN (SELECT id FROM enterprises WHERE park = ?)", f.Park)
	w.add("enterprise = ?", f.Enterprise)
	w.add("point = ?", f.Point)
	w.add("meter = ?", f.Meter)
	if !f.Since.IsZero() {
		w.conds = append(w.conds, "raised >= ?")
		w.args = append(w.args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		w.conds = append(w.conds, "raised < ?")
		w.args = append(w.args, f.Until.UnixMilli())
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+alarmCols+` FROM alarms`+w.String()+` ORDER BY raised DESC, id DESC LIMIT ?`, append(w.args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list alarms: %w", err)
	}
	defer rows.Close()
	var out []alarm.Alarm
	for rows.Next() {
		a, err := scanAlarm(rows)
		if err != nil {
			return nil, fmt.Errorf("list alarms: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// AlarmHistory implements store.Alarms.
func (s *Store) AlarmHistory(ctx context.Context, id int64) ([]alarm.Event, error) {
	if _, err := s.Alarm(ctx, id); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT t, action, by, note FROM alarm_events WHERE alarm = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("alarm %d history: %w", id, err)
	}
	defer rows.Close()
	var out []alarm.Event
	for rows.Next() {
		e := alarm.Event{Alarm: id}
		var t int64
		if err := rows.Scan(&t, &e.Action, &e.By, &e.Note); err != nil {
			return nil, fmt.Errorf("alarm %d history: %w", id, err)
		}
		e.Time = time.UnixMilli(t).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// CreateToken implements store.Tokens.
func (s *Store) CreateToken(ctx context.Context, t store.Token, hash [32]byte) error {
	if err := t.Validate(); err != nil {
		return err
	}
	err := s.withWrite(ctx, func(tx *sql.Tx) error {
		var table string
		switch t.Role {
		case store.RolePark:
			table = "parks"
		case store.RoleEnterprise:
			table = "enterprises"
		}
		if table != "" {
			ok, err := exists(ctx, tx, table, "id", t.Scope)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("scope %s: %w", t.Scope, store.ErrNotFound)
			}
		}
		ok, err := exists(ctx, tx, "tokens", "id", t.ID)
		if err != nil {
			return err
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM tokens WHERE hash = ?`, hash[:]).Scan(&one)
		switch {
		case ok || err == nil:
			return store.ErrExists
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO tokens(id, hash, name, role, scope, created, revoked) VALUES (?, ?, ?, ?, ?, ?, 0)`,
			t.ID, hash[:], t.Name, string(t.Role), t.Scope, t.Created.UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("create token %s: %w", t.ID, err)
	}
	return nil
}

const tokenCols = `id, name, role, scope, created, revoked`

func scanToken(sc interface{ Scan(...any) error }) (store.Token, error) {
	var t store.Token
	var role string
	var created, revoked int64
	err := sc.Scan(&t.ID, &t.Name, &role, &t.Scope, &created, &revoked)
	t.Role, t.Created = store.Role(role), time.UnixMilli(created).UTC()
	if revoked != 0 {
		t.Revoked = time.UnixMilli(revoked).UTC()
	}
	return t, err
}

// TokenByHash implements store.Tokens.
func (s *Store) TokenByHash(ctx context.Context, hash [32]byte) (store.Token, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ? AND revoked = 0`, hash[:]))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Token{}, fmt.Errorf("token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("token: %w", err)
	}
	return t, nil
}

// Tokens implements store.Tokens.
func (s *Store) Tokens(ctx context.Context) ([]store.Token, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken implements store.Tokens.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() || at.UnixMilli() == 0 {
		return fmt.Errorf("revoke token %s: %w: no time", id, store.ErrInvalid)
	}
	err := s.withWrite(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked = ? WHERE id = ? AND revoked = 0`, at.UnixMilli(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		ok, err := exists(ctx, tx, "tokens", "id", id)
		if err == nil && !ok {
			err = store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	return nil
}
