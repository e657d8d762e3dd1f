package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/plant"
)

// controlSchema holds the control loops' tables. Like device_secrets it is
// independent of the readings schema and applied by every write, so a data
// directory from before the control loops gains it on first use.
const controlSchema = `
CREATE TABLE IF NOT EXISTS control_plants (
	id         TEXT PRIMARY KEY,
	enterprise TEXT NOT NULL REFERENCES enterprises(id),
	config     TEXT NOT NULL,
	updated    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS control_commands (
	id         TEXT PRIMARY KEY,
	plant      TEXT NOT NULL,
	enterprise TEXT NOT NULL,
	device     TEXT NOT NULL,
	actuator   TEXT NOT NULL,
	kind       TEXT NOT NULL,
	issued     INTEGER NOT NULL,
	record     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS control_commands_plant ON control_commands(plant, issued);
CREATE INDEX IF NOT EXISTS control_commands_issued ON control_commands(issued);
CREATE TABLE IF NOT EXISTS control_overrides (
	plant    TEXT NOT NULL,
	actuator TEXT NOT NULL,
	record   TEXT NOT NULL,
	PRIMARY KEY (plant, actuator)
) WITHOUT ROWID;`

var _ store.Controls = (*Store)(nil)

// withControl runs fn in a write transaction; if a control table does not
// exist yet (a data directory from before the control loops, or the first
// use) it creates the tables and runs fn again.
func (s *Store) withControl(ctx context.Context, fn func(tx *sql.Tx) error) error {
	err := s.withWrite(ctx, fn)
	if err == nil || !isNoSuchTable(err) {
		return err
	}
	return s.withWrite(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, controlSchema); err != nil {
			return fmt.Errorf("control tables: %w", err)
		}
		return fn(tx)
	})
}

// SavePlant implements store.Controls.
func (s *Store) SavePlant(ctx context.Context, p plant.Record) error {
	if err := store.ValidPlant(p); err != nil {
		return err
	}
	return s.withControl(ctx, func(tx *sql.Tx) error {
		ok, err := exists(ctx, tx, "enterprises", "id", p.Enterprise)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("plant %s: enterprise %s: %w", p.ID, p.Enterprise, store.ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO control_plants(id, enterprise, config, updated) VALUES (?, ?, ?, ?)
			ON CONFLICT(id) DO UPDATE SET enterprise = excluded.enterprise, config = excluded.config, updated = excluded.updated`,
			p.ID, p.Enterprise, string(p.Config), p.Updated.UnixMilli())
		return err
	})
}

// Plant implements store.Controls.
func (s *Store) Plant(ctx context.Context, id string) (plant.Record, error) {
	ps, err := s.plants(ctx, `WHERE id = ?`, id)
	if err != nil {
		return plant.Record{}, err
	}
	if len(ps) == 0 {
		return plant.Record{}, fmt.Errorf("plant %s: %w", id, store.ErrNotFound)
	}
	return ps[0], nil
}

// Plants implements store.Controls.
func (s *Store) Plants(ctx context.Context, enterprise string) ([]plant.Record, error) {
	if enterprise == "" {
		return s.plants(ctx, `ORDER BY id`)
	}
	return s.plants(ctx, `WHERE enterprise = ? ORDER BY id`, enterprise)
}

func (s *Store) plants(ctx context.Context, where string, args ...any) ([]plant.Record, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, enterprise, config, updated FROM control_plants `+where, args...)
	if err != nil {
		if isNoSuchTable(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("plants: %w", err)
	}
	defer rows.Close()
	var out []plant.Record
	for rows.Next() {
		var p plant.Record
		var cfg string
		var updated int64
		if err := rows.Scan(&p.ID, &p.Enterprise, &cfg, &updated); err != nil {
			return nil, fmt.Errorf("plants: %w", err)
		}
		p.Config, p.Updated = []byte(cfg), time.UnixMilli(updated).UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// SaveCommands implements store.Controls.
func (s *Store) SaveCommands(ctx context.Context, cs []command.Record) error {
	recs := make([]string, len(cs))
	for i, c := range cs {
		if err := store.ValidCommand(c); err != nil {
			return err
		}
		rec, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("command %s: %w", c.ID, err)
		}
		recs[i] = string(rec)
	}
	if len(cs) == 0 {
		return nil
	}
	return s.withControl(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO control_commands(id, plant, enterprise, device, actuator, kind, issued, record)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(id) DO UPDATE SET record = excluded.record`)
		if err != nil {
			return err
		}
		defer st.Close()
		for i, c := range cs {
			if _, err := st.ExecContext(ctx, c.ID, c.Plant, c.Enterprise, c.Device, c.Actuator, c.Kind, c.Issued.UnixMilli(), recs[i]); err != nil {
				return fmt.Errorf("command %s: %w", c.ID, err)
			}
		}
		return nil
	})
}

// Command implements store.Controls.
func (s *Store) Command(ctx context.Context, id string) (command.Record, error) {
	var rec string
	err := s.r.QueryRowContext(ctx, `SELECT record FROM control_commands WHERE id = ?`, id).Scan(&rec)
	if errors.Is(err, sql.ErrNoRows) || (err != nil && isNoSuchTable(err)) {
		return command.Record{}, fmt.Errorf("command %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return command.Record{}, fmt.Errorf("command %s: %w", id, err)
	}
	var c command.Record
	if err := json.Unmarshal([]byte(rec), &c); err != nil {
		return c, fmt.Errorf("command %s: %w", id, err)
	}
	return c, nil
}

// Commands implements store.Controls.
func (s *Store) Commands(ctx context.Context, q command.Query) ([]command.Record, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if q.Plant != "" {
		add("plant = ?", q.Plant)
	}
	if q.Enterprise != "" {
		add("enterprise = ?", q.Enterprise)
	}
	if q.Device != "" {
		add("device = ?", q.Device)
	}
	if q.Actuator != "" {
		add("actuator = ?", q.Actuator)
	}
	if q.Kind != "" {
		add("kind = ?", q.Kind)
	}
	if !q.From.IsZero() {
		add("issued >= ?", q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		add("issued < ?", q.To.UnixMilli())
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 200
	}
	sqlText := `SELECT record FROM control_commands`
	if len(where) > 0 {
		sqlText += ` WHERE ` + strings.Join(where, " AND ")
	}
	sqlText += ` ORDER BY issued DESC, id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, sqlText, args...)
	if err != nil {
		if isNoSuchTable(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("commands: %w", err)
	}
	defer rows.Close()
	var out []command.Record
	for rows.Next() {
		var rec string
		if err := rows.Scan(&rec); err != nil {
			return nil, fmt.Errorf("commands: %w", err)
		}
		var c command.Record
		if err := json.Unmarshal([]byte(rec), &c); err != nil {
			return nil, fmt.Errorf("commands: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SetOverride implements store.Controls.
func (s *Store) SetOverride(ctx context.Context, o command.Override) error {
	if err := store.ValidOverride(o); err != nil {
		return err
	}
	rec, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return s.withControl(ctx, func(tx *sql.Tx) error {
		if o.Mode == command.ModeAuto {
			_, err := tx.ExecContext(ctx, `DELETE FROM control_overrides WHERE plant = ? AND actuator = ?`, o.Plant, o.Actuator)
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO control_overrides(plant, actuator, record) VALUES (?, ?, ?)
			ON CONFLICT(plant, actuator) DO UPDATE SET record = excluded.record`, o.Plant, o.Actuator, string(rec))
		return err
	})
}

// Overrides implements store.Controls.
func (s *Store) Overrides(ctx context.Context, plant string) ([]command.Override, error) {
	q, args := `SELECT record FROM control_overrides ORDER BY plant, actuator`, []any{}
	if plant != "" {
		q, args = `SELECT record FROM control_overrides WHERE plant = ? ORDER BY actuator`, []any{plant}
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		if isNoSuchTable(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("overrides: %w", err)
	}
	defer rows.Close()
	var out []command.Override
	for rows.Next() {
		var rec string
		if err := rows.Scan(&rec); err != nil {
			return nil, fmt.Errorf("overrides: %w", err)
		}
		var o command.Override
		if err := json.Unmarshal([]byte(rec), &o); err != nil {
			return nil, fmt.Errorf("overrides: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
