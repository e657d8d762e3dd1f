package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/shuixiao/shuixiao/internal/store"
)

// deviceSecretsSchema is applied on first use; the table is independent of
// the readings schema.
const deviceSecretsSchema = `CREATE TABLE IF NOT EXISTS device_secrets (
	meter  TEXT PRIMARY KEY REFERENCES meters(id),
	record TEXT NOT NULL
) WITHOUT ROWID`

var _ store.DeviceSecrets = (*Store)(nil)

// SetDeviceSecret implements store.DeviceSecrets.
func (s *Store) SetDeviceSecret(ctx context.Context, meterID, record string) error {
	return s.withWrite(ctx, func(tx *sql.Tx) error {
		return setDeviceSecretsTx(ctx, tx, []store.DeviceSecret{{Device: meterID, Record: record}})
	})
}

// setDeviceSecretsTx stores credential records inside the transaction tx.
func setDeviceSecretsTx(ctx context.Context, tx *sql.Tx, secrets []store.DeviceSecret) error {
	if len(secrets) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, deviceSecretsSchema); err != nil {
		return fmt.Errorf("device secrets table: %w", err)
	}
	put, err := tx.PrepareContext(ctx, `INSERT INTO device_secrets(meter, record) VALUES (?, ?)
		ON CONFLICT(meter) DO UPDATE SET record = excluded.record`)
	if err != nil {
		return err
	}
	defer put.Close()
	for _, sec := range secrets {
		ok, err := exists(ctx, tx, "meters", "id", sec.Device)
		if err == nil && !ok {
			// A gateway's edge box logs in to the broker like a meter.
			ok, err = exists(ctx, tx, "gateways", "id", sec.Device)
		}
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("meter %s: %w", sec.Device, store.ErrNotFound)
		}
		if _, err := put.ExecContext(ctx, sec.Device, sec.Record); err != nil {
			return err
		}
	}
	return nil
}

// DeviceSecret implements store.DeviceSecrets.
func (s *Store) DeviceSecret(ctx context.Context, meterID string) (string, error) {
	var rec string
	err := s.r.QueryRowContext(ctx, `SELECT record FROM device_secrets WHERE meter = ?`, meterID).Scan(&rec)
	if errors.Is(err, sql.ErrNoRows) || (err != nil && isNoSuchTable(err)) {
		return "", fmt.Errorf("device secret of %s: %w", meterID, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("device secret of %s: %w", meterID, err)
	}
	return rec, nil
}

func isNoSuchTable(err error) bool {
	return strings.Contains(err.Error(), "no such table")
}
