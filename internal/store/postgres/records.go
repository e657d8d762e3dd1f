package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/rejection"
)

// writeRejections counts a batch's rejections by (reason, meter) and folds
// them into the log of recent rejections, one row per (reason, meter,
// source), keeping the RecentRejections rows seen last (as store/sqlite).
func (s *Store) writeRejections(ctx context.Context, tx pgx.Tx, rejs []rejection.Rejection) error {
	if len(rejs) == 0 {
		return nil
	}
	counts, logs := store.FoldRejections(rejs)
	for _, c := range counts {
		if _, err := tx.Exec(ctx, `INSERT INTO rejection_counts(reason, meter, n, last) VALUES ($1, $2, $3, $4)
			ON CONFLICT (reason, meter) DO UPDATE SET n = rejection_counts.n + excluded.n, last = greatest(rejection_counts.last, excluded.last)`,
			[]byte(c.Reason), []byte(c.Meter), c.N, c.Last); err != nil {
			return fmt.Errorf("count rejections: %w", err)
		}
	}
	for _, l := range logs {
		if _, err := tx.Exec(ctx, `INSERT INTO rejections(reason, meter, source, n, first, t, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (reason, meter, source) DO UPDATE SET n = rejections.n + excluded.n, first = least(rejections.first, excluded.first),
				detail = CASE WHEN excluded.t >= rejections.t THEN excluded.detail ELSE rejections.detail END,
				t = greatest(rejections.t, excluded.t)`,
			[]byte(l.Reason), []byte(l.Meter), []byte(l.Source), l.N, l.First, l.Last, []byte(l.Detail)); err != nil {
			return fmt.Errorf("log rejection: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM rejections WHERE id IN
		(SELECT id FROM rejections ORDER BY t DESC, id DESC OFFSET $1)`, s.opt.RecentRejections); err != nil {
		return fmt.Errorf("trim rejection log: %w", err)
	}
	return nil
}

// RejectionCounts implements store.Rejections.
func (s *Store) RejectionCounts(ctx context.Context, f rejection.Filter) ([]rejection.Count, error) {
	w := &where{}
	w.add("meter = ?", bytesOf(f.Meter))
	w.add("reason = ?", bytesOf(f.Reason))
	if !f.Since.IsZero() {
		w.addAlways("last >= ?", ms(f.Since))
	}
	if f.AfterReason != "" {
		w.addAlways("(reason > ? OR reason = ?", []byte(f.AfterReason))
		w.conds[len(w.conds)-1] += " AND meter > " + w.next([]byte(f.AfterMeter)) + ")"
	}
	limit := ""
	if f.Limit > 0 {
		limit = " LIMIT " + w.next(f.Limit)
	}
	return list(ctx, s, "rejection counts", `SELECT reason, meter, n, last FROM rejection_counts`+w.String()+` ORDER BY reason, meter`+limit, w.args,
		func(r pgx.Rows) (rejection.Count, error) {
			var c rejection.Count
			var n, last int64
			var reason, m []byte
			err := r.Scan(&reason, &m, &n, &last)
			c.Reason, c.Meter, c.Count, c.Last = string(reason), string(m), uint64(n), utc(last)
			return c, err
		})
}

// RecentRejections implements store.Rejections.
func (s *Store) RecentRejections(ctx context.Context, f rejection.Filter, limit int) ([]rejection.Rejection, error) {
	if limit <= 0 {
		limit = 100
	}
	w := &where{}
	w.add("meter = ?", bytesOf(f.Meter))
	w.add("reason = ?", bytesOf(f.Reason))
	if !f.Since.IsZero() {
		w.addAlways("t >= ?", ms(f.Since))
	}
	return list(ctx, s, "recent rejections", `SELECT t, first, n, meter, reason, detail, source FROM rejections`+w.String()+` ORDER BY t DESC, id DESC LIMIT `+w.next(limit), w.args,
		func(r pgx.Rows) (rejection.Rejection, error) {
			var x rejection.Rejection
			var t, first, n int64
			var m, reason, detail, source []byte
			err := r.Scan(&t, &first, &n, &m, &reason, &detail, &source)
			x.Meter, x.Reason, x.Detail, x.Source = string(m), string(reason), string(detail), string(source)
			x.Time, x.First, x.Count = utc(t), utc(first), uint64(n)
			return x, err
		})
}

const alarmCols = `id, kind, severity, enterprise, point, meter, message, state, raised, last_raised, count, acked, acked_by, cleared, cleared_by`

// scanAlarm scans a row of alarmCols, and then into extra.
func scanAlarm(sc pgx.Row, extra ...any) (alarm.Alarm, error) {
	var a alarm.Alarm
	var sev, state string
	var raised, last, acked, cleared, count int64
	err := sc.Scan(append([]any{&a.ID, &a.Kind, &sev, &a.Enterprise, &a.Point, &a.Meter, &a.Message, &state, &raised, &last, &count, &acked, &a.AckedBy, &cleared, &a.ClearedBy}, extra...)...)
	a.Severity, a.State, a.Count = alarm.Severity(sev), alarm.State(state), int(count)
	a.Raised, a.LastRaised = utc(raised), utc(last)
	if acked != 0 {
		a.Acked = utc(acked)
	}
	if cleared != 0 {
		a.Cleared = utc(cleared)
	}
	return a, err
}

func alarmEvent(ctx context.Context, tx pgx.Tx, id int64, at int64, action, by, note string) error {
	_, err := tx.Exec(ctx, `INSERT INTO alarm_events(alarm, t, action, by_, note) VALUES ($1, $2, $3, $4, $5)`, id, at, action, by, note)
	return err
}

// RaiseAlarm implements store.Alarms.
func (s *Store) RaiseAlarm(ctx context.Context, a alarm.Alarm) (alarm.Alarm, bool, error) {
	if err := a.Validate(); err != nil {
		return alarm.Alarm{}, false, fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	var stored alarm.Alarm
	created := false
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		var err error
		stored, err = scanAlarm(tx.QueryRow(ctx, raiseOne, a.Kind, a.Enterprise, a.Point, a.Meter, string(a.Severity), a.Message, ms(a.Raised)), &created)
		return err
	})
	if err != nil {
		return alarm.Alarm{}, false, fmt.Errorf("raise alarm %s: %w", a.Kind, err)
	}
	return stored, created, nil
}

// raiseOne is RaiseAlarm's transaction in one statement: the open alarm of
// the kind and subject ($1–$4) counts a repeat (severity $5, message $6, at
// $7), else a new one is opened; the event is recorded; the row comes back
// with whether it was opened. The unique index alarms_open_subject makes
// the choice at the database: of two servers raising the same alarm at
// once, one inserts and the other, waiting for it, counts a repeat (a row
// it inserted has no xmax; one it updated has its own).
const raiseOne = `WITH done AS (
		INSERT INTO alarms AS a (kind, severity, enterprise, point, meter, message, state, raised, last_raised, count, acked, acked_by, cleared, cleared_by)
		VALUES ($1, $5, $2, $3, $4, $6, 'active', $7::bigint, $7::bigint, 1, 0, '', 0, '')
		ON CONFLICT (kind, enterprise, point, meter) WHERE state <> 'cleared' DO UPDATE
		SET count = a.count + 1, last_raised = greatest(a.last_raised, excluded.last_raised), severity = excluded.severity, message = excluded.message
		RETURNING ` + alarmCols + `, xmax = 0 AS created),
	ev AS (
		INSERT INTO alarm_events(alarm, t, action, by_, note)
		SELECT id, $7::bigint, CASE WHEN created THEN 'raise' ELSE 'repeat' END, '', $6 FROM done)
	SELECT ` + alarmCols + `, created FROM done`

// alarmsOpenUniqueDDL brings a store made before alarms_open_subject to
// it. Two servers could open the same alarm twice then; the oldest open
// alarm of each kind and subject stays open, counting the raises of the
// others (count and last raise), and the others are cleared by "schema"
// with an event naming the one kept, so that the store starts and their
// history stays.
const alarmsOpenUniqueDDL = `DO $$
BEGIN
	IF to_regclass('alarms_open_subject') IS NULL THEN
		WITH open AS (
			SELECT id, count, last_raised, min(id) OVER (PARTITION BY kind, enterprise, point, meter) AS keep
			FROM alarms WHERE state <> 'cleared'),
		dup AS (SELECT * FROM open WHERE id <> keep),
		folded AS (
			UPDATE alarms a SET count = a.count + d.n, last_raised = greatest(a.last_raised, d.last)
			FROM (SELECT keep, sum(count)::bigint AS n, max(last_raised) AS last FROM dup GROUP BY keep) d
			WHERE a.id = d.keep),
		cleared AS (
			UPDATE alarms a SET state = 'cleared', cleared = (extract(epoch FROM clock_timestamp()) * 1000)::bigint, cleared_by = 'schema'
			FROM dup WHERE a.id = dup.id
			RETURNING a.id, a.cleared, dup.keep)
		INSERT INTO alarm_events(alarm, t, action, by_, note)
		SELECT id, cleared, 'clear', 'schema', 'duplicate of open alarm ' || keep FROM cleared;
		CREATE UNIQUE INDEX alarms_open_subject ON alarms(kind, enterprise, point, meter) WHERE state <> 'cleared';
		DROP INDEX IF EXISTS alarms_subject;
	END IF;
END $$`

func init() { featureDDL = append(featureDDL, alarmsOpenUniqueDDL) }

// RaiseAlarms implements store.Alarms: one pipelined batch of raiseOne
// (one round trip, not three an alarm) in one transaction.
func (s *Store) RaiseAlarms(ctx context.Context, as []alarm.Alarm) ([]store.RaisedAlarm, error) {
	b := &pgx.Batch{}
	for i, a := range as {
		if err := a.Validate(); err != nil {
			return nil, fmt.Errorf("alarm %d of %d: %w: %v", i+1, len(as), store.ErrInvalid, err)
		}
		b.Queue(raiseOne, a.Kind, a.Enterprise, a.Point, a.Meter, string(a.Severity), a.Message, ms(a.Raised))
	}
	if len(as) == 0 {
		return nil, nil
	}
	out := make([]store.RaisedAlarm, len(as))
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		for i, a := range as {
			stored, err := scanAlarm(br.QueryRow(), &out[i].Created)
			if err != nil {
				return fmt.Errorf("raise alarm %s: %w", a.Kind, err)
			}
			out[i].Alarm = stored
		}
		return br.Close()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// transition moves an alarm from one of the states in from to state to,
// setting the time and actor columns named by set ("acked"/"cleared").
func (s *Store) transition(ctx context.Context, id int64, action string, to alarm.State, set, by string, at int64, note string, from ...alarm.State) (alarm.Alarm, error) {
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		var state string
		err := tx.QueryRow(ctx, `SELECT state FROM alarms WHERE id = $1 FOR UPDATE`, id).Scan(&state)
		if errors.Is(err, pgx.ErrNoRows) {
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
		if _, err := tx.Exec(ctx, `UPDATE alarms SET state = $1, `+set+` = $2, `+set+`_by = $3 WHERE id = $4`, string(to), at, by, id); err != nil {
			return err
		}
		return alarmEvent(ctx, tx, id, at, action, by, note)
	})
	if err != nil {
		return alarm.Alarm{}, fmt.Errorf("%s alarm %d: %w", action, id, err)
	}
	return s.Alarm(ctx, id)
}

// AckAlarm implements store.Alarms.
func (s *Store) AckAlarm(ctx context.Context, id int64, by string, at time.Time, note string) (alarm.Alarm, error) {
	return s.transition(ctx, id, "ack", alarm.Acked, "acked", by, ms(at), note, alarm.Active)
}

// ClearAlarm implements store.Alarms.
func (s *Store) ClearAlarm(ctx context.Context, id int64, by string, at time.Time, note string) (alarm.Alarm, error) {
	return s.transition(ctx, id, "clear", alarm.Cleared, "cleared", by, ms(at), note, alarm.Active, alarm.Acked)
}

// clearOne is ClearAlarm's transaction in one statement, for a pipelined
// batch: alarm $1, if open, is cleared at $2 by $3 and the event (note $4)
// recorded; no row comes back if it is not open or does not exist.
const clearOne = `WITH upd AS (
		UPDATE alarms SET state = 'cleared', cleared = $2, cleared_by = $3 WHERE id = $1 AND state IN ('active', 'acked')
		RETURNING ` + alarmCols + `),
	ev AS (INSERT INTO alarm_events(alarm, t, action, by_, note) SELECT id, $2, 'clear', $3, $4 FROM upd)
	SELECT ` + alarmCols + ` FROM upd`

// ClearAlarms implements store.Alarms: one pipelined batch of clearOne in
// one transaction, then one read of the states of the alarms it skipped,
// to tell which do not exist (ErrNotFound) from which were not open
// (ErrConflict).
func (s *Store) ClearAlarms(ctx context.Context, ids []int64, by string, at time.Time, note string) ([]store.ClearedAlarm, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	b := &pgx.Batch{}
	for _, id := range ids {
		b.Queue(clearOne, id, ms(at), by, note)
	}
	out := make([]store.ClearedAlarm, len(ids))
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, b)
		var skipped []int64
		for i, id := range ids {
			a, err := scanAlarm(br.QueryRow())
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				skipped = append(skipped, id)
			case err != nil:
				br.Close()
				return fmt.Errorf("clear alarm %d: %w", id, err)
			default:
				out[i].Alarm = a
			}
		}
		if err := br.Close(); err != nil {
			return err
		}
		if len(skipped) == 0 {
			return nil
		}
		state := map[int64]string{}
		rows, err := tx.Query(ctx, `SELECT id, state FROM alarms WHERE id = ANY($1)`, skipped)
		if err != nil {
			return fmt.Errorf("clear alarms: %w", err)
		}
		for rows.Next() {
			var id int64
			var st string
			if err := rows.Scan(&id, &st); err != nil {
				rows.Close()
				return fmt.Errorf("clear alarms: %w", err)
			}
			state[id] = st
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("clear alarms: %w", err)
		}
		for i, id := range ids {
			if out[i].Alarm.ID != 0 {
				continue
			}
			if st, ok := state[id]; ok {
				out[i].Err = fmt.Errorf("clear alarm %d: %w: alarm is %s", id, store.ErrConflict, st)
			} else {
				out[i].Err = fmt.Errorf("clear alarm %d: %w", id, store.ErrNotFound)
			}
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
	if s.closed.Load() {
		return alarm.Alarm{}, store.ErrClosed
	}
	a, err := scanAlarm(s.pool.QueryRow(ctx, `SELECT `+alarmCols+` FROM alarms WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
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
		w.conds = append(w.conds, "state <> 'cleared'")
	}
	w.add("severity = ?", string(f.Severity))
	w.add("kind = ?", f.Kind)
	w.add("enterprise IN (SELECT id FROM enterprises WHERE park = ?)", f.Park)
	w.add("enterprise = ?", f.Enterprise)
	w.add("point = ?", f.Point)
	w.add("meter = ?", f.Meter)
	if !f.Since.IsZero() {
		w.addAlways("raised >= ?", ms(f.Since))
	}
	if !f.Until.IsZero() {
		w.addAlways("raised < ?", ms(f.Until))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	return list(ctx, s, "alarms", `SELECT `+alarmCols+` FROM alarms`+w.String()+` ORDER BY raised DESC, id DESC LIMIT `+w.next(limit), w.args,
		func(r pgx.Rows) (alarm.Alarm, error) { return scanAlarm(r) })
}

// AlarmHistory implements store.Alarms.
func (s *Store) AlarmHistory(ctx context.Context, id int64) ([]alarm.Event, error) {
	if _, err := s.Alarm(ctx, id); err != nil {
		return nil, err
	}
	return list(ctx, s, fmt.Sprintf("alarm %d history", id), `SELECT t, action, by_, note FROM alarm_events WHERE alarm = $1 ORDER BY id`, []any{id},
		func(r pgx.Rows) (alarm.Event, error) {
			e := alarm.Event{Alarm: id}
			var t int64
			err := r.Scan(&t, &e.Action, &e.By, &e.Note)
			e.Time = utc(t)
			return e, err
		})
}

// CreateToken implements store.Tokens.
func (s *Store) CreateToken(ctx context.Context, t store.Token, hash [32]byte) error {
	if err := t.Validate(); err != nil {
		return err
	}
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		switch t.Role {
		case store.RolePark:
			if err := mustRef(ctx, tx, "parks", "scope", t.Scope); err != nil {
				return err
			}
		case store.RoleEnterprise:
			if err := mustRef(ctx, tx, "enterprises", "scope", t.Scope); err != nil {
				return err
			}
		}
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM tokens WHERE id = $1 OR hash = $2`, t.ID, hash[:]).Scan(&one)
		switch {
		case err == nil:
			return store.ErrExists
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO tokens(id, hash, name, role, scope, created, revoked) VALUES ($1, $2, $3, $4, $5, $6, 0)`,
			t.ID, hash[:], t.Name, string(t.Role), t.Scope, ms(t.Created))
		return err
	})
	if err != nil {
		return fmt.Errorf("create token %s: %w", t.ID, err)
	}
	return nil
}

const tokenCols = `id, name, role, scope, created, revoked`

func scanToken(sc pgx.Row) (store.Token, error) {
	var t store.Token
	var role string
	var created, revoked int64
	err := sc.Scan(&t.ID, &t.Name, &role, &t.Scope, &created, &revoked)
	t.Role, t.Created = store.Role(role), utc(created)
	if revoked != 0 {
		t.Revoked = utc(revoked)
	}
	return t, err
}

// TokenByHash implements store.Tokens.
func (s *Store) TokenByHash(ctx context.Context, hash [32]byte) (store.Token, error) {
	if s.closed.Load() {
		return store.Token{}, store.ErrClosed
	}
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = $1 AND revoked = 0`, hash[:]))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Token{}, fmt.Errorf("token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("token: %w", err)
	}
	return t, nil
}

// Tokens implements store.Tokens.
func (s *Store) Tokens(ctx context.Context) ([]store.Token, error) {
	return list(ctx, s, "tokens", `SELECT `+tokenCols+` FROM tokens ORDER BY id`, nil,
		func(r pgx.Rows) (store.Token, error) { return scanToken(r) })
}

// RevokeToken implements store.Tokens.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() || at.UnixMilli() == 0 {
		return fmt.Errorf("revoke token %s: %w: no time", id, store.ErrInvalid)
	}
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tokens SET revoked = $1 WHERE id = $2 AND revoked = 0`, ms(at), id)
		if err != nil || tag.RowsAffected() > 0 {
			return err
		}
		return mustRef(ctx, tx, "tokens", "token", id)
	})
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	return nil
}

// AppendAudit implements store.Audit. Appends are serialised so that IDs
// grow in commit order, which paging by ID relies on.
func (s *Store) AppendAudit(ctx context.Context, r store.AuditRecord) (int64, error) {
	if err := r.Validate(); err != nil {
		return 0, err
	}
	var id int64
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO audit(t, actor, role, action, target, status, remote, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			ms(r.Time), []byte(r.Actor), []byte(r.Role), []byte(r.Action), []byte(r.Target), r.Status, []byte(r.Remote), []byte(r.Detail)).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("append audit record: %w", err)
	}
	return id, nil
}

// AuditLog implements store.Audit.
func (s *Store) AuditLog(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, error) {
	w := &where{}
	w.addAlways("id > ?", q.After)
	if !q.From.IsZero() {
		w.addAlways("t >= ?", ms(q.From))
	}
	if !q.To.IsZero() {
		w.addAlways("t < ?", ms(q.To))
	}
	w.add("actor = ?", bytesOf(q.Actor))
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, store.MaxAuditPage)
	out, err := list(ctx, s, "audit log", `SELECT id, t, actor, role, action, target, status, remote, detail FROM audit`+w.String()+` ORDER BY id LIMIT `+w.next(limit), w.args,
		func(rows pgx.Rows) (store.AuditRecord, error) {
			var r store.AuditRecord
			var t int64
			var actor, role, action, target, remote, detail []byte
			err := rows.Scan(&r.ID, &t, &actor, &role, &action, &target, &r.Status, &remote, &detail)
			r.Time, r.Actor, r.Role, r.Action = utc(t), string(actor), store.Role(role), string(action)
			r.Target, r.Remote, r.Detail = string(target), string(remote), string(detail)
			return r, err
		})
	if out == nil && err == nil {
		out = []store.AuditRecord{}
	}
	return out, err
}

// bytesOf is a filter value for a BYTEA column: nil (no filter) for "".
func bytesOf(s string) any {
	if s == "" {
		return ""
	}
	return []byte(s)
}
