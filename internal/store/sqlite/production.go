package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/quotacase"
)

// managementDDL holds the production records (production.Record) and the
// retrofit cases with their events (quotacase). Times are Unix
// milliseconds; a record's period is [t_from, t_to).
const managementDDL = `
CREATE TABLE IF NOT EXISTS production (
	id          INTEGER PRIMARY KEY,
	enterprise  TEXT NOT NULL,
	kind        TEXT NOT NULL,
	product     TEXT NOT NULL,
	quantity    REAL NOT NULL,
	unit        TEXT NOT NULL,
	t_from      INTEGER NOT NULL,
	t_to        INTEGER NOT NULL,
	reported_by TEXT NOT NULL,
	reported_at INTEGER NOT NULL,
	note        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS production_series ON production(enterprise, kind, product, t_from);
CREATE INDEX IF NOT EXISTS production_period ON production(t_from, t_to);

CREATE TABLE IF NOT EXISTS quota_cases (
	id              INTEGER PRIMARY KEY,
	enterprise      TEXT NOT NULL,
	enterprise_name TEXT NOT NULL,
	park            TEXT NOT NULL,
	region          TEXT NOT NULL,
	product         TEXT NOT NULL,
	unit            TEXT NOT NULL,
	value           REAL NOT NULL,
	qlimit          REAL NOT NULL,
	grade           TEXT NOT NULL,
	standard        TEXT NOT NULL,
	verified        INTEGER NOT NULL,
	period_from     INTEGER NOT NULL,
	period_to       INTEGER NOT NULL,
	state           TEXT NOT NULL,
	opened_at       INTEGER NOT NULL,
	deadline        INTEGER NOT NULL,
	owner           TEXT NOT NULL,
	evidence_months INTEGER NOT NULL,
	closed_at       INTEGER NOT NULL
);
-- One case per enterprise and product that is not closed.
CREATE UNIQUE INDEX IF NOT EXISTS quota_cases_live ON quota_cases(enterprise, product) WHERE state != 'closed';
CREATE INDEX IF NOT EXISTS quota_cases_state ON quota_cases(state, id);

CREATE TABLE IF NOT EXISTS quota_case_events (
	id     INTEGER PRIMARY KEY,
	qcase  INTEGER NOT NULL,
	t      INTEGER NOT NULL,
	from_s TEXT NOT NULL,
	to_s   TEXT NOT NULL,
	actor  TEXT NOT NULL,
	note   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS quota_case_events_case ON quota_case_events(qcase, id);
`

var (
	_ store.Production = (*Store)(nil)
	_ store.QuotaCases = (*Store)(nil)
)

// AddProduction implements store.Production.
func (s *Store) AddProduction(ctx context.Context, recs []production.Record) ([]int64, error) {
	if err := store.CheckProductionBatch(recs); err != nil {
		return nil, err
	}
	ids := make([]int64, len(recs))
	err := s.withWrite(ctx, func(tx *sql.Tx) error {
		known := map[string]bool{}
		for i, r := range recs {
			if !known[r.Enterprise] {
				ok, err := exists(ctx, tx, "enterprises", "id", r.Enterprise)
				if err != nil {
					return err
				}
				if !ok {
					return &production.RecordError{Index: i, Err: fmt.Errorf("enterprise %s: %w", r.Enterprise, store.ErrNotFound)}
				}
				known[r.Enterprise] = true
			}
			var other int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM production WHERE enterprise = ? AND kind = ? AND product = ? AND t_from < ? AND t_to > ? LIMIT 1`,
				r.Enterprise, string(r.Kind), r.Product, r.To.UnixMilli(), r.From.UnixMilli()).Scan(&other)
			if err == nil {
				return &production.RecordError{Index: i, Err: fmt.Errorf("overlaps stored record %d of %s %s %s (this record: %s to %s, exclusive): %w: %w", other, r.Enterprise, r.Kind, r.Product,
					r.From.In(production.Zone).Format(time.DateOnly), r.To.In(production.Zone).Format(time.DateOnly), store.ErrConflict, production.ErrOverlap)}
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO production(enterprise, kind, product, quantity, unit, t_from, t_to, reported_by, reported_at, note)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Enterprise, string(r.Kind), r.Product, r.Quantity, r.Unit,
				r.From.UnixMilli(), r.To.UnixMilli(), r.ReportedBy, r.ReportedAt.UnixMilli(), r.Note)
			if err != nil {
				return err
			}
			if ids[i], err = res.LastInsertId(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("add production: %w", err)
	}
	return ids, nil
}

// ProductionRecords implements store.Production.
func (s *Store) ProductionRecords(ctx context.Context, f production.Filter) ([]production.Record, error) {
	w := &where{}
	w.add("kind = ?", string(f.Kind))
	keep := w.enterprises(f.Enterprises)
	if !f.From.IsZero() {
		w.conds = append(w.conds, "t_to > ?")
		w.args = append(w.args, f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		w.conds = append(w.conds, "t_from < ?")
		w.args = append(w.args, f.To.UnixMilli())
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, enterprise, kind, product, quantity, unit, t_from, t_to, reported_by, reported_at, note
		FROM production`+w.String()+` ORDER BY enterprise, kind, product, t_from, id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("production records: %w", err)
	}
	defer rows.Close()
	var out []production.Record
	for rows.Next() {
		var r production.Record
		var kind string
		var from, to, at int64
		if err := rows.Scan(&r.ID, &r.Enterprise, &kind, &r.Product, &r.Quantity, &r.Unit, &from, &to, &r.ReportedBy, &at, &r.Note); err != nil {
			return nil, fmt.Errorf("production records: %w", err)
		}
		if !keep(r.Enterprise) {
			continue
		}
		r.Kind = production.Kind(kind)
		r.From, r.To, r.ReportedAt = fromMillis(from).In(production.Zone), fromMillis(to).In(production.Zone), fromMillis(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

const quotaCaseColumns = `id, enterprise, enterprise_name, park, region, product, unit, value, qlimit, grade, standard, verified,
	period_from, period_to, state, opened_at, deadline, owner, evidence_months, closed_at`

func scanQuotaCase(sc scanner) (quotacase.Case, error) {
	var c quotacase.Case
	var state string
	var verified int
	var pf, pt, opened, deadline, closed int64
	err := sc.Scan(&c.ID, &c.Enterprise, &c.EnterpriseName, &c.Park, &c.Region, &c.Product, &c.Unit, &c.Value, &c.Limit, &c.Grade,
		&c.Standard, &verified, &pf, &pt, &state, &opened, &deadline, &c.Owner, &c.EvidenceMonths, &closed)
	c.State, c.Verified = quotacase.State(state), verified != 0
	c.PeriodFrom, c.PeriodTo = fromMillis(pf).In(production.Zone), fromMillis(pt).In(production.Zone)
	c.OpenedAt, c.Deadline, c.ClosedAt = fromMillis(opened), fromMillis(deadline), fromMillis(closed)
	c.History = []quotacase.Event{}
	return c, err
}

func quotaCaseEvent(ctx context.Context, tx *sql.Tx, id int64, e quotacase.Event) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO quota_case_events(qcase, t, from_s, to_s, actor, note) VALUES (?, ?, ?, ?, ?, ?)`,
		id, millis(e.At), string(e.From), string(e.To), e.Actor, e.Note)
	return err
}

// OpenQuotaCase implements store.QuotaCases.
func (s *Store) OpenQuotaCase(ctx context.Context, c quotacase.Case, actor, note string) (quotacase.Case, error) {
	if err := c.Validate(); err != nil {
		return quotacase.Case{}, fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	if actor == "" {
		return quotacase.Case{}, fmt.Errorf("%w: quota case: no actor", store.ErrInvalid)
	}
	var id int64
	err := s.withWrite(ctx, func(tx *sql.Tx) error {
		ok, err := exists(ctx, tx, "enterprises", "id", c.Enterprise)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("enterprise %s: %w", c.Enterprise, store.ErrNotFound)
		}
		var other int64
		err = tx.QueryRowContext(ctx, `SELECT id FROM quota_cases WHERE enterprise = ? AND product = ? AND state != 'closed'`, c.Enterprise, c.Product).Scan(&other)
		if err == nil {
			return fmt.Errorf("%s %s already has quota case %d: %w", c.Enterprise, c.Product, other, store.ErrExists)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		verified := 0
		if c.Verified {
			verified = 1
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO quota_cases(enterprise, enterprise_name, park, region, product, unit, value, qlimit, grade, standard,
				verified, period_from, period_to, state, opened_at, deadline, owner, evidence_months, closed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, 0)`,
			c.Enterprise, c.EnterpriseName, c.Park, c.Region, c.Product, c.Unit, c.Value, c.Limit, c.Grade, c.Standard, verified,
			millis(c.PeriodFrom), millis(c.PeriodTo), millis(c.OpenedAt), millis(c.Deadline), c.Owner, c.EvidenceMonths)
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		return quotaCaseEvent(ctx, tx, id, quotacase.Event{To: quotacase.Open, Actor: actor, At: c.OpenedAt, Note: note})
	})
	if err != nil {
		return quotacase.Case{}, fmt.Errorf("open quota case: %w", err)
	}
	return s.QuotaCase(ctx, id)
}

// QuotaCase implements store.QuotaCases.
func (s *Store) QuotaCase(ctx context.Context, id int64) (quotacase.Case, error) {
	c, err := scanQuotaCase(s.r.QueryRowContext(ctx, `SELECT `+quotaCaseColumns+` FROM quota_cases WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return quotacase.Case{}, fmt.Errorf("quota case %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return quotacase.Case{}, fmt.Errorf("quota case %d: %w", id, err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT t, from_s, to_s, actor, note FROM quota_case_events WHERE qcase = ? ORDER BY id`, id)
	if err != nil {
		return quotacase.Case{}, fmt.Errorf("history of quota case %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var e quotacase.Event
		var t int64
		var from, to string
		if err := rows.Scan(&t, &from, &to, &e.Actor, &e.Note); err != nil {
			return quotacase.Case{}, fmt.Errorf("history of quota case %d: %w", id, err)
		}
		e.At, e.From, e.To = fromMillis(t), quotacase.State(from), quotacase.State(to)
		c.History = append(c.History, e)
	}
	return c, rows.Err()
}

// QuotaCases implements store.QuotaCases.
func (s *Store) QuotaCases(ctx context.Context, f quotacase.Filter) ([]quotacase.Case, error) {
	w := &where{}
	w.add("state = ?", string(f.State))
	w.add("enterprise = ?", f.Enterprise)
	w.add("product = ?", f.Product)
	keep := w.enterprises(f.Enterprises)
	if f.NotClosed {
		w.conds = append(w.conds, "state != 'closed'")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	sqlLimit := limit
	if len(f.Enterprises) > maxInList {
		sqlLimit = -1 // filtered as read: the limit counts kept rows
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+quotaCaseColumns+` FROM quota_cases`+w.String()+` ORDER BY opened_at DESC, id DESC LIMIT ?`, append(w.args, sqlLimit)...)
	if err != nil {
		return nil, fmt.Errorf("quota cases: %w", err)
	}
	defer rows.Close()
	var out []quotacase.Case
	for rows.Next() {
		c, err := scanQuotaCase(rows)
		if err != nil {
			return nil, fmt.Errorf("quota cases: %w", err)
		}
		if keep(c.Enterprise) {
			out = append(out, c)
		}
		if len(out) == limit {
			break
		}
	}
	return out, rows.Err()
}

// TransitionQuotaCase implements store.QuotaCases.
func (s *Store) TransitionQuotaCase(ctx context.Context, id int64, t quotacase.Transition) (quotacase.Case, error) {
	err := s.withWrite(ctx, func(tx *sql.Tx) error {
		c, err := scanQuotaCase(tx.QueryRowContext(ctx, `SELECT `+quotaCaseColumns+` FROM quota_cases WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		next, ev, err := quotacase.Apply(c, t)
		if err != nil {
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE quota_cases SET state = ?, closed_at = ? WHERE id = ?`, string(next.State), millis(next.ClosedAt), id); err != nil {
			return err
		}
		return quotaCaseEvent(ctx, tx, id, ev)
	})
	if err != nil {
		return quotacase.Case{}, fmt.Errorf("quota case %d to %s: %w", id, t.To, err)
	}
	return s.QuotaCase(ctx, id)
}

// maxInList is the most enterprises a query names in an IN list; beyond it
// the rows are filtered as they are read (SQLite bounds a statement's
// parameters).
const maxInList = 500

// enterprises restricts a query to a list of enterprises (none: all): by an
// IN list when short, else by the returned keep function.
func (w *where) enterprises(list []string) (keep func(string) bool) {
	switch {
	case len(list) == 0:
		return func(string) bool { return true }
	case len(list) <= maxInList:
		w.conds = append(w.conds, "enterprise IN (?"+strings.Repeat(", ?", len(list)-1)+")")
		for _, e := range list {
			w.args = append(w.args, e)
		}
		return func(string) bool { return true }
	}
	set := make(map[string]bool, len(list))
	for _, e := range list {
		set[e] = true
	}
	return func(e string) bool { return set[e] }
}
