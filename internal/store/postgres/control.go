package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/plant"
)

var _ store.Controls = (*Store)(nil)

// SavePlant implements store.Controls.
func (s *Store) SavePlant(ctx context.Context, p plant.Record) error {
	if err := store.ValidPlant(p); err != nil {
		return err
	}
	return s.withWrite(ctx, func(tx pgx.Tx) error {
		if err := mustRef(ctx, tx, "enterprises", "enterprise", p.Enterprise); err != nil {
			return fmt.Errorf("plant %s: %w", p.ID, err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO control_plants(id, enterprise, config, updated) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET enterprise = excluded.enterprise, config = excluded.config, updated = excluded.updated`,
			p.ID, p.Enterprise, string(p.Config), ms(p.Updated))
		return err
	})
}

// Plant implements store.Controls.
func (s *Store) Plant(ctx context.Context, id string) (plant.Record, error) {
	ps, err := s.plants(ctx, `WHERE id = $1`, id)
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
	return s.plants(ctx, `WHERE enterprise = $1 ORDER BY id`, enterprise)
}

func (s *Store) plants(ctx context.Context, where string, args ...any) ([]plant.Record, error) {
	return list(ctx, s, "plants", `SELECT id, enterprise, config, updated FROM control_plants `+where, args,
		func(r pgx.Rows) (plant.Record, error) {
			var p plant.Record
			var cfg string
			var updated int64
			err := r.Scan(&p.ID, &p.Enterprise, &cfg, &updated)
			p.Config, p.Updated = []byte(cfg), utc(updated)
			return p, err
		})
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
	return s.withWrite(ctx, func(tx pgx.Tx) error {
		for i, c := range cs {
			if _, err := tx.Exec(ctx, `INSERT INTO control_commands(id, plant, enterprise, device, actuator, kind, issued, record)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (id) DO UPDATE SET record = excluded.record`,
				c.ID, c.Plant, c.Enterprise, c.Device, c.Actuator, c.Kind, ms(c.Issued), recs[i]); err != nil {
				return fmt.Errorf("command %s: %w", c.ID, err)
			}
		}
		return nil
	})
}

func scanJSON[T any](r pgx.Row) (T, error) {
	var v T
	var rec string
	if err := r.Scan(&rec); err != nil {
		return v, err
	}
	return v, json.Unmarshal([]byte(rec), &v)
}

// Command implements store.Controls.
func (s *Store) Command(ctx context.Context, id string) (command.Record, error) {
	return one(ctx, s, "command "+id, `SELECT record FROM control_commands WHERE id = $1`, []any{id}, scanJSON[command.Record])
}

// Commands implements store.Controls.
func (s *Store) Commands(ctx context.Context, qr command.Query) ([]command.Record, error) {
	w := &where{}
	w.add("plant = ?", qr.Plant)
	w.add("enterprise = ?", qr.Enterprise)
	w.add("device = ?", qr.Device)
	w.add("actuator = ?", qr.Actuator)
	w.add("kind = ?", qr.Kind)
	if !qr.From.IsZero() {
		w.addAlways("issued >= ?", ms(qr.From))
	}
	if !qr.To.IsZero() {
		w.addAlways("issued < ?", ms(qr.To))
	}
	limit := qr.Limit
	if limit <= 0 {
		limit = 200
	}
	return list(ctx, s, "commands", `SELECT record FROM control_commands`+w.String()+` ORDER BY issued DESC, id DESC LIMIT `+w.next(limit), w.args,
		func(r pgx.Rows) (command.Record, error) { return scanJSON[command.Record](r) })
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
	return s.withWrite(ctx, func(tx pgx.Tx) error {
		if o.Mode == command.ModeAuto {
			_, err := tx.Exec(ctx, `DELETE FROM control_overrides WHERE plant = $1 AND actuator = $2`, o.Plant, o.Actuator)
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO control_overrides(plant, actuator, record) VALUES ($1, $2, $3)
			ON CONFLICT (plant, actuator) DO UPDATE SET record = excluded.record`, o.Plant, o.Actuator, string(rec))
		return err
	})
}

// Overrides implements store.Controls.
func (s *Store) Overrides(ctx context.Context, plant string) ([]command.Override, error) {
	qs, args := `SELECT record FROM control_overrides ORDER BY plant, actuator`, []any{}
	if plant != "" {
		qs, args = `SELECT record FROM control_overrides WHERE plant = $1 ORDER BY actuator`, []any{plant}
	}
	return list(ctx, s, "overrides", qs, args, func(r pgx.Rows) (command.Override, error) { return scanJSON[command.Override](r) })
}
