package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/waterplan"
)

// plansDDL holds the water-use plans (monthly volumes as a JSON array of
// twelve numbers, as in the SQLite driver) and the withdrawal permits
// (validity [valid_from, valid_to) in Unix milliseconds).
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
	annual_m3  DOUBLE PRECISION NOT NULL,
	valid_from BIGINT NOT NULL,
	valid_to   BIGINT NOT NULL
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
	return s.withWrite(ctx, func(tx pgx.Tx) error {
		if err := mustRef(ctx, tx, "enterprises", "plan: enterprise", p.Enterprise); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO water_plans(enterprise, year, monthly) VALUES ($1, $2, $3)
			ON CONFLICT (enterprise, year) DO UPDATE SET monthly = excluded.monthly`, p.Enterprise, p.Year, string(monthly))
		return err
	})
}

// WaterPlans implements store.Plans.
func (s *Store) WaterPlans(ctx context.Context, year int, enterprises []string) ([]waterplan.Plan, error) {
	w := &where{}
	if year != 0 {
		w.addAlways("year = ?", year)
	}
	if len(enterprises) > 0 {
		w.addAlways("enterprise = ANY(?)", enterprises)
	}
	return list(ctx, s, "water plans", `SELECT enterprise, year, monthly FROM water_plans`+w.String()+` ORDER BY enterprise, year`, w.args,
		func(rows pgx.Rows) (waterplan.Plan, error) {
			var p waterplan.Plan
			var monthly string
			if err := rows.Scan(&p.Enterprise, &p.Year, &monthly); err != nil {
				return p, err
			}
			if err := json.Unmarshal([]byte(monthly), &p.Monthly); err != nil {
				return p, fmt.Errorf("water plan %s %d: %w", p.Enterprise, p.Year, err)
			}
			return p, nil
		})
}

const permitColumns = `id, enterprise, source, annual_m3, valid_from, valid_to`

func scanPermit(rows pgx.CollectableRow) (waterplan.Permit, error) {
	var p waterplan.Permit
	var src string
	var from, to int64
	err := rows.Scan(&p.ID, &p.Enterprise, &src, &p.AnnualM3, &from, &to)
	p.Source = meter.Source(src)
	p.ValidFrom, p.ValidTo = utc(from).In(production.Zone), utc(to).In(production.Zone)
	return p, err
}

// PutPermit implements store.Plans.
func (s *Store) PutPermit(ctx context.Context, p waterplan.Permit) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	return s.withWrite(ctx, func(tx pgx.Tx) error {
		if err := mustRef(ctx, tx, "enterprises", fmt.Sprintf("permit %s: enterprise", p.ID), p.Enterprise); err != nil {
			return err
		}
		var owner string
		err := tx.QueryRow(ctx, `SELECT enterprise FROM water_permits WHERE id = $1`, p.ID).Scan(&owner)
		if err == nil && owner != p.Enterprise {
			return fmt.Errorf("permit %s belongs to %s: %w", p.ID, owner, store.ErrConflict)
		}
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// Lock the enterprise's permits of the source while checking, so
		// two writers cannot both add an overlapping one.
		rows, err := tx.Query(ctx, `SELECT `+permitColumns+` FROM water_permits WHERE enterprise = $1 AND source = $2 FOR UPDATE`, p.Enterprise, string(p.Source))
		if err != nil {
			return err
		}
		held, err := pgx.CollectRows(rows, scanPermit)
		if err != nil {
			return err
		}
		if err := waterplan.CheckPermit(p, held); err != nil {
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO water_permits(`+permitColumns+`) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (id) DO UPDATE SET source = excluded.source, annual_m3 = excluded.annual_m3, valid_from = excluded.valid_from, valid_to = excluded.valid_to`,
			p.ID, p.Enterprise, string(p.Source), p.AnnualM3, ms(p.ValidFrom), ms(p.ValidTo))
		return err
	})
}

// DeletePermit implements store.Plans.
func (s *Store) DeletePermit(ctx context.Context, id string) error {
	return s.withWrite(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM water_permits WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("permit %s: %w", id, store.ErrNotFound)
		}
		return nil
	})
}

// Permits implements store.Plans.
func (s *Store) Permits(ctx context.Context, enterprises []string) ([]waterplan.Permit, error) {
	w := &where{}
	if len(enterprises) > 0 {
		w.addAlways("enterprise = ANY(?)", enterprises)
	}
	return list(ctx, s, "permits", `SELECT `+permitColumns+` FROM water_permits`+w.String()+` ORDER BY enterprise, source, valid_from, id`, w.args,
		func(rows pgx.Rows) (waterplan.Permit, error) { return scanPermit(rows) })
}
