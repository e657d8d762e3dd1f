package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/quotacase"
)

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
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		known := map[string]bool{}
		for i, r := range recs {
			if !known[r.Enterprise] {
				if err := mustRef(ctx, tx, "enterprises", "enterprise", r.Enterprise); err != nil {
					return &production.RecordError{Index: i, Err: err}
				}
				known[r.Enterprise] = true
			}
			var other int64
			err := tx.QueryRow(ctx, `SELECT id FROM production WHERE enterprise = $1 AND kind = $2 AND product = $3 AND t_from < $4 AND t_to > $5 LIMIT 1`,
				r.Enterprise, string(r.Kind), r.Product, ms(r.To), ms(r.From)).Scan(&other)
			if err == nil {
				return &production.RecordError{Index: i, Err: fmt.Errorf("overlaps stored record %d of %s %s %s (this record: %s to %s, exclusive): %w: %w", other, r.Enterprise, r.Kind, r.Product,
					r.From.In(production.Zone).Format(time.DateOnly), r.To.In(production.Zone).Format(time.DateOnly), store.ErrConflict, production.ErrOverlap)}
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			if err := tx.QueryRow(ctx, `INSERT INTO production(enterprise, kind, product, quantity, unit, t_from, t_to, reported_by, reported_at, note)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`, r.Enterprise, string(r.Kind), r.Product, r.Quantity, r.Unit,
				ms(r.From), ms(r.To), r.ReportedBy, ms(r.ReportedAt), r.Note).Scan(&ids[i]); err != nil {
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
	if len(f.Enterprises) > 0 {
		w.addAlways("enterprise = ANY(?)", f.Enterprises)
	}
	if !f.From.IsZero() {
		w.addAlways("t_to > ?", ms(f.From))
	}
	if !f.To.IsZero() {
		w.addAlways("t_from < ?", ms(f.To))
	}
	return list(ctx, s, "production records", `SELECT id, enterprise, kind, product, quantity, unit, t_from, t_to, reported_by, reported_at, note
		FROM production`+w.String()+` ORDER BY enterprise, kind, product, t_from, id`, w.args,
		func(rows pgx.Rows) (production.Record, error) {
			var r production.Record
			var kind string
			var from, to, at int64
			err := rows.Scan(&r.ID, &r.Enterprise, &kind, &r.Product, &r.Quantity, &r.Unit, &from, &to, &r.ReportedBy, &at, &r.Note)
			r.Kind = production.Kind(kind)
			r.From, r.To, r.ReportedAt = fromMillis(from).In(production.Zone), fromMillis(to).In(production.Zone), fromMillis(at)
			return r, err
		})
}

const quotaCaseColumns = `id, enterprise, enterprise_name, park, region, product, unit, value, qlimit, grade, standard, verified,
	period_from, period_to, state, opened_at, deadline, owner, evidence_months, closed_at`

func scanQuotaCase(r pgx.Row) (quotacase.Case, error) {
	var c quotacase.Case
	var state string
	var pf, pt, opened, deadline, closed int64
	var months int32
	err := r.Scan(&c.ID, &c.Enterprise, &c.EnterpriseName, &c.Park, &c.Region, &c.Product, &c.Unit, &c.Value, &c.Limit, &c.Grade,
		&c.Standard, &c.Verified, &pf, &pt, &state, &opened, &deadline, &c.Owner, &months, &closed)
	c.State, c.EvidenceMonths = quotacase.State(state), int(months)
	c.PeriodFrom, c.PeriodTo = fromMillis(pf).In(production.Zone), fromMillis(pt).In(production.Zone)
	c.OpenedAt, c.Deadline, c.ClosedAt = fromMillis(opened), fromMillis(deadline), fromMillis(closed)
	c.History = []quotacase.Event{}
	return c, err
}

func quotaCaseEvent(ctx context.Context, tx pgx.Tx, id int64, e quotacase.Event) error {
	_, err := tx.Exec(ctx, `INSERT INTO quota_case_events(qcase, t, from_s, to_s, actor, note) VALUES ($1, $2, $3, $4, $5, $6)`,
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
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		if err := mustRef(ctx, tx, "enterprises", "enterprise", c.Enterprise); err != nil {
			return err
		}
		var other int64
		err := tx.QueryRow(ctx, `SELECT id FROM quota_cases WHERE enterprise = $1 AND product = $2 AND state <> 'closed'`, c.Enterprise, c.Product).Scan(&other)
		if err == nil {
			return fmt.Errorf("%s %s already has quota case %d: %w", c.Enterprise, c.Product, other, store.ErrExists)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO quota_cases(enterprise, enterprise_name, park, region, product, unit, value, qlimit, grade, standard,
				verified, period_from, period_to, state, opened_at, deadline, owner, evidence_months, closed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'open', $14, $15, $16, $17, 0) RETURNING id`,
			c.Enterprise, c.EnterpriseName, c.Park, c.Region, c.Product, c.Unit, c.Value, c.Limit, c.Grade, c.Standard, c.Verified,
			millis(c.PeriodFrom), millis(c.PeriodTo), millis(c.OpenedAt), millis(c.Deadline), c.Owner, c.EvidenceMonths).Scan(&id); err != nil {
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
	c, err := one(ctx, s, fmt.Sprintf("quota case %d", id), `SELECT `+quotaCaseColumns+` FROM quota_cases WHERE id = $1`, []any{id}, scanQuotaCase)
	if err != nil {
		return quotacase.Case{}, err
	}
	h, err := list(ctx, s, fmt.Sprintf("history of quota case %d", id), `SELECT t, from_s, to_s, actor, note FROM quota_case_events WHERE qcase = $1 ORDER BY id`, []any{id},
		func(rows pgx.Rows) (quotacase.Event, error) {
			var e quotacase.Event
			var t int64
			var from, to string
			err := rows.Scan(&t, &from, &to, &e.Actor, &e.Note)
			e.At, e.From, e.To = fromMillis(t), quotacase.State(from), quotacase.State(to)
			return e, err
		})
	c.History = append(c.History, h...)
	return c, err
}

// QuotaCases implements store.QuotaCases.
func (s *Store) QuotaCases(ctx context.Context, f quotacase.Filter) ([]quotacase.Case, error) {
	w := &where{}
	w.add("state = ?", string(f.State))
	w.add("enterprise = ?", f.Enterprise)
	w.add("product = ?", f.Product)
	if len(f.Enterprises) > 0 {
		w.addAlways("enterprise = ANY(?)", f.Enterprises)
	}
	if f.NotClosed {
		w.conds = append(w.conds, "state <> 'closed'")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	return list(ctx, s, "quota cases", `SELECT `+quotaCaseColumns+` FROM quota_cases`+w.String()+` ORDER BY opened_at DESC, id DESC LIMIT `+w.next(limit), w.args,
		func(rows pgx.Rows) (quotacase.Case, error) { return scanQuotaCase(rows) })
}

// TransitionQuotaCase implements store.QuotaCases.
func (s *Store) TransitionQuotaCase(ctx context.Context, id int64, t quotacase.Transition) (quotacase.Case, error) {
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		c, err := scanQuotaCase(tx.QueryRow(ctx, `SELECT `+quotaCaseColumns+` FROM quota_cases WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		next, ev, err := quotacase.Apply(c, t)
		if err != nil {
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE quota_cases SET state = $1, closed_at = $2 WHERE id = $3`, string(next.State), millis(next.ClosedAt), id); err != nil {
			return err
		}
		return quotaCaseEvent(ctx, tx, id, ev)
	})
	if err != nil {
		return quotacase.Case{}, fmt.Errorf("quota case %d to %s: %w", id, t.To, err)
	}
	return s.QuotaCase(ctx, id)
}
