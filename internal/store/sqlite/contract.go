package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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
	period_from INTEGER NOT NULL,
	doc TEXT NOT NULL,
	UNIQUE (contract, period_from)
);
`

func init() { featureDDL = append(featureDDL, contractDDL) }

var _ store.Contracts = (*Store)(nil)

func contractsOf(ctx context.Context, q queryer, where string, args ...any) ([]contract.Contract, error) {
	rows, err := q.QueryContext(ctx, `SELECT doc FROM mv_contracts`+where+` ORDER BY id`, args...)
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
	err = s.withWrite(ctx, func(tx *sql.Tx) error {
		if ok, err := exists(ctx, tx, "enterprises", "id", c.Enterprise); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("enterprise %s: %w", c.Enterprise, store.ErrNotFound)
		}
		if ok, err := exists(ctx, tx, "mv_contracts", "id", c.ID); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("contract %s: %w", c.ID, store.ErrExists)
		}
		stored, err := contractsOf(ctx, tx, ` WHERE enterprise = ?`, c.Enterprise)
		if err != nil {
			return err
		}
		if err := store.CheckContract(c, stored); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO mv_contracts(id, enterprise, doc) VALUES (?, ?, ?)`, c.ID, c.Enterprise, string(doc))
		return err
	})
	if err != nil {
		return fmt.Errorf("create contract: %w", err)
	}
	return nil
}

// Contract implements store.Contracts.
func (s *Store) Contract(ctx context.Context, id string) (contract.Contract, error) {
	cs, err := contractsOf(ctx, s.r, ` WHERE id = ?`, id)
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
	where, args := "", []any{}
	if enterprises != nil {
		if len(enterprises) == 0 {
			return nil, nil
		}
		where = ` WHERE enterprise IN (?` + strings.Repeat(",?", len(enterprises)-1) + `)`
		for _, e := range enterprises {
			args = append(args, e)
		}
	}
	cs, err := contractsOf(ctx, s.r, where, args...)
	if err != nil {
		return nil, fmt.Errorf("list contracts: %w", err)
	}
	return cs, nil
}

// AddDeclared implements store.Contracts.
func (s *Store) AddDeclared(ctx context.Context, id string, vals []contract.DeclaredValue) (contract.Contract, error) {
	var c contract.Contract
	err := s.withWrite(ctx, func(tx *sql.Tx) error {
		cs, err := contractsOf(ctx, tx, ` WHERE id = ?`, id)
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
		_, err = tx.ExecContext(ctx, `UPDATE mv_contracts SET doc = ? WHERE id = ?`, string(doc), id)
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
	err = s.withWrite(ctx, func(tx *sql.Tx) error {
		if ok, err := exists(ctx, tx, "mv_contracts", "id", st.Contract); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("contract %s: %w", st.Contract, store.ErrNotFound)
		}
		var other string
		err := tx.QueryRowContext(ctx, `SELECT id FROM mv_statements WHERE contract = ? AND period_from = ?`, st.Contract, st.From.UnixMilli()).Scan(&other)
		if err == nil {
			return fmt.Errorf("contract %s has statement %s for the period from %s: %w", st.Contract, other, st.From.Format("2006-01-02"), store.ErrExists)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO mv_statements(id, contract, period_from, doc) VALUES (?, ?, ?, ?)`,
			st.ID, st.Contract, st.From.UnixMilli(), string(doc))
		return err
	})
	if err != nil {
		return fmt.Errorf("add statement: %w", err)
	}
	return nil
}

func statementsOf(ctx context.Context, q queryer, where string, args ...any) ([]contract.Record, error) {
	rows, err := q.QueryContext(ctx, `SELECT doc FROM mv_statements`+where+` ORDER BY contract, period_from`, args...)
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
	rs, err := statementsOf(ctx, s.r, ` WHERE id = ?`, id)
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
	rs, err := statementsOf(ctx, s.r, ` WHERE contract = ?`, contractID)
	if err != nil {
		return nil, fmt.Errorf("statements of %s: %w", contractID, err)
	}
	return rs, nil
}
