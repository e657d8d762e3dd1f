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
		return setDeviceSecretsTx(ctx, tx, []store.DeviceSecret{{Device: meterID, Record: record}})
	})
}

// setDeviceSecretsTx stores credential records inside the transaction tx:
// one statement finds a device that is neither a meter nor a gateway (a
// gateway's edge box, a data collector, logs in like a meter), one
// stores them all.
func setDeviceSecretsTx(ctx context.Context, tx pgx.Tx, secrets []store.DeviceSecret) error {
	if len(secrets) == 0 {
		return nil
	}
	ids, recs := make([]string, len(secrets)), make([]string, len(secrets))
	for i, sec := range secrets {
		ids[i], recs[i] = sec.Device, sec.Record
	}
	var missing string
	err := tx.QueryRow(ctx, `SELECT d.id FROM unnest($1::text[]) WITH ORDINALITY AS d(id, n)
		WHERE NOT EXISTS (SELECT 1 FROM meters WHERE id = d.id) AND NOT EXISTS (SELECT 1 FROM gateways WHERE id = d.id)
		ORDER BY d.n LIMIT 1`, ids).Scan(&missing)
	if err == nil {
		return fmt.Errorf("meter %s: %w", missing, store.ErrNotFound)
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	// The last record of a device given twice wins, as one call after another would.
	_, err = tx.Exec(ctx, `INSERT INTO device_secrets(meter, record)
		SELECT DISTINCT ON (v.id) v.id, v.rec FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS v(id, rec, n) ORDER BY v.id, v.n DESC
		ON CONFLICT (meter) DO UPDATE SET record = excluded.record`, ids, recs)
	return err
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
