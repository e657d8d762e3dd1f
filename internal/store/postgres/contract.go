package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/shuixiao/shuixiao/contract"
	"github.com/shuixiao/shuixiao/internal/store"
)

// contractDDL keeps contracts and M&V statements as their JSON documents,
// with the columns the queries select on.
const contractDDL = `
CREATE TABLE IF NOT EXISTS mv_contracts (
	id TEXT PRIMARY KEY,
	enterprise TEXT NOT NULL,
	doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS mv_contracts_enterprise ON mv_contracts(enterprise, id);
CREATE TABLE IF NOT EXISTS mv_statements (
	id TEXT PRIMARY KEY,
	contract TEXT NOT NULL,
	period_from BIGINT NOT NULL,
	doc TEXT NOT NULL,
	UNIQUE (contract, period_from)
);
`

func init() { featureDDL = append(featureDDL, contractDDL) }

var _ store.Contracts = (*Store)(nil)

func contractsOf(ctx context.Context, db q, where string, args ...any) ([]contract.Contract, error) {
	rows, err := db.Query(ctx, `SELECT doc FROM mv_contracts`+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []contract.Contract
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var c contract.Contract
		if err := json.Unmarshal([]byte(doc), &c); err != nil {
			return nil, fmt.Errorf("stored contract: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CreateContract implements store.Contracts.
func (s *Store) CreateContract(ctx context.Context, c contract.Contract) error {
	doc, err := json.Marshal(c)
	if err != nil {
		return err
	}
	err = s.withWrite(ctx, func(tx pgx.Tx) error {
		// Lock the enterprise's row: two servers creating contracts for it
		// check overlaps one after the other.
		var id string
		err := tx.QueryRow(ctx, `SELECT id FROM enterprises WHERE id = $1 FOR UPDATE`, c.Enterprise).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("enterprise %s: %w", c.Enterprise, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if ok, err := exists(ctx, tx, "mv_contracts", "id", c.ID); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("contract %s: %w", c.ID, store.ErrExists)
		}
		stored, err := contractsOf(ctx, tx, ` WHERE enterprise = $1`, c.Enterprise)
		if err != nil {
			return err
		}
		if err := store.CheckContract(c, stored); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO mv_contracts(id, enterprise, doc) VALUES ($1, $2, $3)`, c.ID, c.Enterprise, string(doc))
		return err
	})
	if err != nil {
		return fmt.Errorf("create contract: %w", err)
	}
	return nil
}

// Contract implements store.Contracts.
func (s *Store) Contract(ctx context.Context, id string) (contract.Contract, error) {
	if s.closed.Load() {
		return contract.Contract{}, store.ErrClosed
	}
	cs, err := contractsOf(ctx, s.pool, ` WHERE id = $1`, id)
	if err != nil {
		return contract.Contract{}, fmt.Errorf("contract %s: %w", id, err)
	}
	if len(cs) == 0 {
		return contract.Contract{}, fmt.Errorf("contract %s: %w", id, store.ErrNotFound)
	}
	return cs[0], nil
}

// Contracts implements store.Contracts.
func (s *Store) Contracts(ctx context.Context, enterprises []string) ([]contract.Contract, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	var (
		cs  []contract.Contract
		err error
	)
	switch {
	case enterprises == nil:
		cs, err = contractsOf(ctx, s.pool, ``)
	case len(enterprises) == 0:
		return nil, nil
	default:
		cs, err = contractsOf(ctx, s.pool, ` WHERE enterprise = ANY($1)`, enterprises)
	}
	if err != nil {
		return nil, fmt.Errorf("list contracts: %w", err)
	}
	return cs, nil
}

// AddDeclared implements store.Contracts.
func (s *Store) AddDeclared(ctx context.Context, id string, vals []contract.DeclaredValue) (contract.Contract, error) {
	var c contract.Contract
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM mv_contracts WHERE id = $1 FOR UPDATE`, id); err != nil {
			return err
		}
		cs, err := contractsOf(ctx, tx, ` WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if len(cs) == 0 {
			return fmt.Errorf("contract %s: %w", id, store.ErrNotFound)
		}
		c = cs[0]
		c.Declared = append(c.Declared, vals...)
		if err := contract.CheckDeclared(c.Drivers, c.Declared); err != nil {
			return fmt.Errorf("%w: %v", store.ErrInvalid, err)
		}
		doc, err := json.Marshal(c)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE mv_contracts SET doc = $1 WHERE id = $2`, string(doc), id)
		return err
	})
	if err != nil {
		return contract.Contract{}, fmt.Errorf("add declared values: %w", err)
	}
	return c, nil
}

// AddStatement implements store.Contracts.
func (s *Store) AddStatement(ctx context.Context, r contract.Record) error {
	if err := store.CheckRecord(r); err != nil {
		return err
	}
	doc, err := json.Marshal(r)
	if err != nil {
		return err
	}
	st := r.Statement
	err = s.withWrite(ctx, func(tx pgx.Tx) error {
		if err := mustRef(ctx, tx, "mv_contracts", "contract", st.Contract); err != nil {
			return err
		}
		var other string
		err := tx.QueryRow(ctx, `SELECT id FROM mv_statements WHERE contract = $1 AND period_from = $2`, st.Contract, st.From.UnixMilli()).Scan(&other)
		if err == nil {
			return fmt.Errorf("contract %s has statement %s for the period from %s: %w", st.Contract, other, st.From.Format("2006-01-02"), store.ErrExists)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO mv_statements(id, contract, period_from, doc) VALUES ($1, $2, $3, $4)`,
			st.ID, st.Contract, st.From.UnixMilli(), string(doc))
		return err
	})
	if err != nil {
		return fmt.Errorf("add statement: %w", err)
	}
	return nil
}

func statementsOf(ctx context.Context, db q, where string, args ...any) ([]contract.Record, error) {
	rows, err := db.Query(ctx, `SELECT doc FROM mv_statements`+where+` ORDER BY contract, period_from`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []contract.Record
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var r contract.Record
		if err := json.Unmarshal([]byte(doc), &r); err != nil {
			return nil, fmt.Errorf("stored statement: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// StatementRecord implements store.Contracts.
func (s *Store) StatementRecord(ctx context.Context, id string) (contract.Record, error) {
	if s.closed.Load() {
		return contract.Record{}, store.ErrClosed
	}
	rs, err := statementsOf(ctx, s.pool, ` WHERE id = $1`, id)
	if err != nil {
		return contract.Record{}, fmt.Errorf("statement %s: %w", id, err)
	}
	if len(rs) == 0 {
		return contract.Record{}, fmt.Errorf("statement %s: %w", id, store.ErrNotFound)
	}
	return rs[0], nil
}

// StatementRecords implements store.Contracts.
func (s *Store) StatementRecords(ctx context.Context, contractID string) ([]contract.Record, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	rs, err := statementsOf(ctx, s.pool, ` WHERE contract = $1`, contractID)
	if err != nil {
		return nil, fmt.Errorf("statements of %s: %w", contractID, err)
	}
	return rs, nil
}
