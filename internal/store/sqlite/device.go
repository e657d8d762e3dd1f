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
		if _, err := tx.ExecContext(ctx, deviceSecretsSchema); err != nil {
			return fmt.Errorf("device secrets table: %w", err)
		}
		ok, err := exists(ctx, tx, "meters", "id", meterID)
		if err == nil && !ok {
			// A gateway's edge box logs in to the broker like a meter.
			ok, err = exists(ctx, tx, "gateways", "id", meterID)
		}
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("meter %s: %w", meterID, store.ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO device_secrets(meter, record) VALUES (?, ?)
			ON CONFLICT(meter) DO UPDATE SET record = excluded.record`, meterID, record)
		return err
	})
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
