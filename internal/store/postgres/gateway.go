package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
	return s.put(ctx, create, "gateway", "gateways", g.ID, nil, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO gateways(id, key, enterprise, revoked, registered) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (id) DO UPDATE SET key = excluded.key, enterprise = excluded.enterprise, revoked = excluded.revoked, registered = excluded.registered`,
			g.ID, g.Key, g.Enterprise, g.Revoked, ms(g.Registered))
		return err
	})
}

func scanGateway(r pgx.Row) (meter.Gateway, error) {
	var g meter.Gateway
	var reg int64
	err := r.Scan(&g.ID, &g.Key, &g.Enterprise, &g.Revoked, &reg)
	g.Registered = utc(reg)
	return g, err
}

// Gateway implements store.Registry.
func (s *Store) Gateway(ctx context.Context, id string) (meter.Gateway, error) {
	return one(ctx, s, "gateway "+id, `SELECT id, key, enterprise, revoked, registered FROM gateways WHERE id = $1`, []any{id}, scanGateway)
}

// Gateways implements store.Registry.
func (s *Store) Gateways(ctx context.Context) ([]meter.Gateway, error) {
	return list(ctx, s, "gateways", `SELECT id, key, enterprise, revoked, registered FROM gateways ORDER BY id`, nil,
		func(r pgx.Rows) (meter.Gateway, error) { return scanGateway(r) })
}

// RevokeGateway implements store.Registry.
func (s *Store) RevokeGateway(ctx context.Context, id string) error {
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE gateways SET revoked = true WHERE id = $1`, id)
		if err == nil && tag.RowsAffected() == 0 {
			err = store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke gateway %s: %w", id, err)
	}
	return nil
}

// PutDeviceMapping implements store.DeviceMappings. The mapping must be
// valid (meter.DeviceMapping.Validate); that its meters and channels exist
// is the caller's rule (internal/gateway).
func (s *Store) PutDeviceMapping(ctx context.Context, d meter.DeviceMapping) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("device mapping %s/%s: %w: %v", d.Protocol, d.Device, store.ErrInvalid, err)
	}
	rec, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return s.withWrite(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO gateway_devices(protocol, device, gateway, record) VALUES ($1, $2, $3, $4)
			ON CONFLICT (protocol, device) DO UPDATE SET gateway = excluded.gateway, record = excluded.record`, d.Protocol, d.Device, d.Gateway, string(rec))
		return err
	})
}

// DeviceMapping implements store.DeviceMappings.
func (s *Store) DeviceMapping(ctx context.Context, protocol, device string) (meter.DeviceMapping, error) {
	return one(ctx, s, fmt.Sprintf("device %s/%s", protocol, device), `SELECT record FROM gateway_devices WHERE protocol = $1 AND device = $2`,
		[]any{protocol, device}, scanJSON[meter.DeviceMapping])
}

// DeviceMappings implements store.DeviceMappings.
func (s *Store) DeviceMappings(ctx context.Context, gateway string) ([]meter.DeviceMapping, error) {
	w := &where{}
	w.add("gateway = ?", gateway)
	return list(ctx, s, "device mappings", `SELECT record FROM gateway_devices`+w.String()+` ORDER BY protocol, device`, w.args,
		func(r pgx.Rows) (meter.DeviceMapping, error) { return scanJSON[meter.DeviceMapping](r) })
}

// DeleteDeviceMapping implements store.DeviceMappings.
func (s *Store) DeleteDeviceMapping(ctx context.Context, protocol, device string) error {
	return s.withWrite(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM gateway_devices WHERE protocol = $1 AND device = $2`, protocol, device)
		if err == nil && tag.RowsAffected() == 0 {
			err = fmt.Errorf("device %s/%s: %w", protocol, device, store.ErrNotFound)
		}
		return err
	})
}
