package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/shuixiao/shuixiao/internal/store"
)

var _ store.DeviceSecrets = (*Store)(nil)

// SetDeviceSecret implements store.DeviceSecrets.
func (s *Store) SetDeviceSecret(ctx context.Context, meterID, record string) error {
	return s.withWrite(ctx, func(tx pgx.Tx) error {
		// A gateway's edge box (a data collector) logs in like a meter.
		ok, err := exists(ctx, tx, "meters", "id", meterID)
		if err == nil && !ok {
			ok, err = exists(ctx, tx, "gateways", "id", meterID)
		}
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("meter %s: %w", meterID, store.ErrNotFound)
		}
		_, err = tx.Exec(ctx, `INSERT INTO device_secrets(meter, record) VALUES ($1, $2)
			ON CONFLICT (meter) DO UPDATE SET record = excluded.record`, meterID, record)
		return err
	})
}

// DeviceSecret implements store.DeviceSecrets.
func (s *Store) DeviceSecret(ctx context.Context, meterID string) (string, error) {
	return one(ctx, s, "device secret of "+meterID, `SELECT record FROM device_secrets WHERE meter = $1`, []any{meterID},
		func(r pgx.Row) (string, error) {
			var rec string
			return rec, r.Scan(&rec)
		})
}

// one scans the row a query selects; no row is ErrNotFound.
func one[T any](ctx context.Context, s *Store, what, sql string, args []any, scan func(pgx.Row) (T, error)) (T, error) {
	var zero T
	if s.closed.Load() {
		return zero, store.ErrClosed
	}
	v, err := scan(s.pool.QueryRow(ctx, sql, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return zero, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}
