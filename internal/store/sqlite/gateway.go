package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

var _ store.DeviceMappings = (*Store)(nil)

// CreateGateway implements store.Registry.
func (s *Store) CreateGateway(ctx context.Context, g meter.Gateway) error {
	if g.Registered.IsZero() {
		g.Registered = time.Now()
	}
	return s.putGateway(ctx, true, g)
}

// UpdateGateway implements store.Registry.
func (s *Store) UpdateGateway(ctx context.Context, g meter.Gateway) error {
	return s.putGateway(ctx, false, g)
}

func (s *Store) putGateway(ctx context.Context, create bool, g meter.Gateway) error {
	if err := store.ValidGateway(g); err != nil {
		return err
	}
	return s.put(ctx, create, "gateway", "gateways", g.ID, nil, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO gateways(id, key, enterprise, revoked, registered) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT(id) DO UPDATE SET key = excluded.key, enterprise = excluded.enterprise, revoked = excluded.revoked, registered = excluded.registered`,
			g.ID, g.Key, g.Enterprise, g.Revoked, g.Registered.UnixMilli())
		return err
	})
}

// Gateway implements store.Registry.
func (s *Store) Gateway(ctx context.Context, id string) (meter.Gateway, error) {
	gs, err := s.gateways(ctx, ` WHERE id = ?`, id)
	if err != nil {
		return meter.Gateway{}, err
	}
	if len(gs) == 0 {
		return meter.Gateway{}, fmt.Errorf("gateway %s: %w", id, store.ErrNotFound)
	}
	return gs[0], nil
}

// Gateways implements store.Registry.
func (s *Store) Gateways(ctx context.Context) ([]meter.Gateway, error) { return s.gateways(ctx, ``) }

func (s *Store) gateways(ctx context.Context, where string, args ...any) ([]meter.Gateway, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, key, enterprise, revoked, registered FROM gateways`+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list gateways: %w", err)
	}
	defer rows.Close()
	var out []meter.Gateway
	for rows.Next() {
		var g meter.Gateway
		var reg int64
		if err := rows.Scan(&g.ID, &g.Key, &g.Enterprise, &g.Revoked, &reg); err != nil {
			return nil, fmt.Errorf("list gateways: %w", err)
		}
		g.Registered = time.UnixMilli(reg).UTC()
		out = append(out, g)
	}
	return out, rows.Err()
}

// RevokeGateway implements store.Registry.
func (s *Store) RevokeGateway(ctx context.Context, id string) error {
	err := s.withWrite(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE gateways SET revoked = 1 WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("revoke gateway %s: %w", id, err)
	}
	return nil
}

// PutDeviceMapping implements store.DeviceMappings. The mapping must be
// valid (meter.DeviceMapping.Validate); that its meters and channels exist
// is the caller's rule (internal/gateway), checked against the registry.
func (s *Store) PutDeviceMapping(ctx context.Context, d meter.DeviceMapping) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("device mapping %s/%s: %w: %v", d.Protocol, d.Device, store.ErrInvalid, err)
	}
	rec, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return s.withWrite(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO gateway_devices(protocol, device, gateway, record) VALUES (?, ?, ?, ?)
			ON CONFLICT(protocol, device) DO UPDATE SET gateway = excluded.gateway, record = excluded.record`, d.Protocol, d.Device, d.Gateway, string(rec))
		return err
	})
}

// DeviceMapping implements store.DeviceMappings.
func (s *Store) DeviceMapping(ctx context.Context, protocol, device string) (meter.DeviceMapping, error) {
	var rec string
	err := s.r.QueryRowContext(ctx, `SELECT record FROM gateway_devices WHERE protocol = ? AND device = ?`, protocol, device).Scan(&rec)
	if errors.Is(err, sql.ErrNoRows) {
		return meter.DeviceMapping{}, fmt.Errorf("device %s/%s: %w", protocol, device, store.ErrNotFound)
	}
	if err != nil {
		return meter.DeviceMapping{}, fmt.Errorf("device %s/%s: %w", protocol, device, err)
	}
	var d meter.DeviceMapping
	if err := json.Unmarshal([]byte(rec), &d); err != nil {
		return meter.DeviceMapping{}, fmt.Errorf("device %s/%s: stored record: %w", protocol, device, err)
	}
	return d, nil
}

// DeviceMappings implements store.DeviceMappings.
func (s *Store) DeviceMappings(ctx context.Context, gateway string) ([]meter.DeviceMapping, error) {
	q, args := `SELECT record FROM gateway_devices ORDER BY protocol, device`, []any{}
	if gateway != "" {
		q, args = `SELECT record FROM gateway_devices WHERE gateway = ? ORDER BY protocol, device`, []any{gateway}
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list device mappings: %w", err)
	}
	defer rows.Close()
	var out []meter.DeviceMapping
	for rows.Next() {
		var rec string
		var d meter.DeviceMapping
		if err := rows.Scan(&rec); err != nil {
			return nil, fmt.Errorf("list device mappings: %w", err)
		}
		if err := json.Unmarshal([]byte(rec), &d); err != nil {
			return nil, fmt.Errorf("list device mappings: stored record: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeleteDeviceMapping implements store.DeviceMappings.
func (s *Store) DeleteDeviceMapping(ctx context.Context, protocol, device string) error {
	return s.withWrite(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM gateway_devices WHERE protocol = ? AND device = ?`, protocol, device)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("device %s/%s: %w", protocol, device, store.ErrNotFound)
		}
		return nil
	})
}
