package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/waterplan"
)

// plansDDL holds the water-use plans (monthly volumes as a JSON array of
// twelve numbers) and the withdrawal permits (validity [valid_from,
// valid_to) in Unix milliseconds).
const plansDDL = `
CREATE TABLE IF NOT EXISTS water_plans (
	enterprise TEXT NOT NULL,
	year       INTEGER NOT NULL,
	monthly    TEXT NOT NULL,
	PRIMARY KEY (enterprise, year)
);
CREATE TABLE IF NOT EXISTS water_permits (
	id         TEXT PRIMARY KEY,
	enterprise TEXT NOT NULL,
	source     TEXT NOT NULL,
	annual_m3  REAL NOT NULL,
	valid_from INTEGER NOT NULL,
	valid_to   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS water_permits_enterprise ON water_permits(enterprise, source, valid_from);
`

func init() { featureDDL = append(featureDDL, plansDDL) }

var _ store.Plans = (*Store)(nil)

// PutPlan implements store.Plans.
func (s *Store) PutPlan(ctx context.Context, p waterplan.Plan) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	monthly, err := json.Marshal(p.Monthly)
	if err != nil {
		return err
	}
	return s.withWrite(ctx, func(tx *sql.Tx) error {
		ok, err := exists(ctx, tx, "enterprises", "id", p.Enterprise)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("plan: enterprise %s: %w", p.Enterprise, store.ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO water_plans(enterprise, year, monthly) VALUES (?, ?, ?)
			ON CONFLICT (enterprise, year) DO UPDATE SET monthly = excluded.monthly`, p.Enterprise, p.Year, string(monthly))
		return err
	})
}

// WaterPlans implements store.Plans.
func (s *Store) WaterPlans(ctx context.Context, year int, enterprises []string) ([]waterplan.Plan, error) {
	w := &where{}
	if year != 0 {
		w.conds, w.args = append(w.conds, "year = ?"), append(w.args, year)
	}
	keep := w.enterprises(enterprises)
	rows, err := s.r.QueryContext(ctx, `SELECT enterprise, year, monthly FROM water_plans`+w.String()+` ORDER BY enterprise, year`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("water plans: %w", err)
	}
	defer rows.Close()
	var out []waterplan.Plan
	for rows.Next() {
		var p waterplan.Plan
		var monthly string
		if err := rows.Scan(&p.Enterprise, &p.Year, &monthly); err != nil {
			return nil, fmt.Errorf("water plans: %w", err)
		}
		if !keep(p.Enterprise) {
			continue
		}
		if err := json.Unmarshal([]byte(monthly), &p.Monthly); err != nil {
			return nil, fmt.Errorf("water plan %s %d: %w", p.Enterprise, p.Year, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PutPermit implements store.Plans.
func (s *Store) PutPermit(ctx context.Context, p waterplan.Permit) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	return s.withWrite(ctx, func(tx *sql.Tx) error {
		ok, err := exists(ctx, tx, "enterprises", "id", p.Enterprise)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("permit %s: enterprise %s: %w", p.ID, p.Enterprise, store.ErrNotFound)
		}
		var owner string
		err = tx.QueryRowContext(ctx, `SELECT enterprise FROM water_permits WHERE id = ?`, p.ID).Scan(&owner)
		if err == nil && owner != p.Enterprise {
			return fmt.Errorf("permit %s belongs to %s: %w", p.ID, owner, store.ErrConflict)
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		held, err := scanPermits(tx.QueryContext(ctx, `SELECT id, enterprise, source, annual_m3, valid_from, valid_to FROM water_permits
			WHERE enterprise = ? AND source = ?`, p.Enterprise, string(p.Source)))
		if err != nil {
			return err
		}
		if err := waterplan.CheckPermit(p, held); err != nil {
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO water_permits(id, enterprise, source, annual_m3, valid_from, valid_to) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET source = excluded.source, annual_m3 = excluded.annual_m3, valid_from = excluded.valid_from, valid_to = excluded.valid_to`,
			p.ID, p.Enterprise, string(p.Source), p.AnnualM3, p.ValidFrom.UnixMilli(), p.ValidTo.UnixMilli())
		return err
	})
}

// DeletePermit implements store.Plans.
func (s *Store) DeletePermit(ctx context.Context, id string) error {
	return s.withWrite(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM water_permits WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("permit %s: %w", id, store.ErrNotFound)
		}
		return nil
	})
}

// Permits implements store.Plans.
func (s *Store) Permits(ctx context.Context, enterprises []string) ([]waterplan.Permit, error) {
	w := &where{}
	keep := w.enterprises(enterprises)
	all, err := scanPermits(s.r.QueryContext(ctx, `SELECT id, enterprise, source, annual_m3, valid_from, valid_to FROM water_permits`+w.String()+
		` ORDER BY enterprise, source, valid_from, id`, w.args...))
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, p := range all {
		if keep(p.Enterprise) {
			out = append(out, p)
		}
	}
	return out, nil
}

func scanPermits(rows *sql.Rows, err error) ([]waterplan.Permit, error) {
	if err != nil {
		return nil, fmt.Errorf("permits: %w", err)
	}
	defer rows.Close()
	var out []waterplan.Permit
	for rows.Next() {
		var p waterplan.Permit
		var src string
		var from, to int64
		if err := rows.Scan(&p.ID, &p.Enterprise, &src, &p.AnnualM3, &from, &to); err != nil {
			return nil, fmt.Errorf("permits: %w", err)
		}
		p.Source = meter.Source(src)
		p.ValidFrom, p.ValidTo = fromMillis(from).In(production.Zone), fromMillis(to).In(production.Zone)
		out = append(out, p)
	}
	return out, rows.Err()
}
