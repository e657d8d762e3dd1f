package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// importable lists the tables ImportRows may fill, with the identity
// column whose sequence FinishImport moves past the imported IDs.
var importable = map[string]string{
	"regions": "", "parks": "", "enterprises": "", "points": "", "meters": "mid",
	"rejection_counts": "", "rejections": "id", "quarantine": "",
	"alarms": "id", "alarm_events": "id", "tokens": "", "audit": "id",
	"networks": "", "leak_events": "", "work_orders": "id", "work_order_events": "id",
	"control_plants": "", "control_commands": "", "control_overrides": "", "device_secrets": "",
	"production": "id", "quota_cases": "id", "quota_case_events": "id", "gateways": "", "gateway_devices": "",
}

// Empty reports whether the store holds no registry records and no readings:
// a migration writes only into an empty store.
func (s *Store) Empty(ctx context.Context) (bool, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM regions) + (SELECT count(*) FROM enterprises) + (SELECT count(*) FROM meters)
		+ (SELECT count(*) FROM tokens) + (SELECT count(*) FROM audit) + (SELECT count(*) FROM (SELECT 1 FROM readings LIMIT 1) r)`).Scan(&n)
	return n == 0, err
}

// ImportRows copies rows into one of the store's tables as they are, IDs
// included (COPY writes identity columns as given): the bulk path of
// `shuixiao store migrate`. Readings are not imported this way; they go
// through Commit. Call FinishImport when every table is in.
func (s *Store) ImportRows(ctx context.Context, table string, cols []string, rows [][]any) (int64, error) {
	if _, ok := importable[table]; !ok {
		return 0, fmt.Errorf("import: table %q is not importable", table)
	}
	var n int64
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		var err error
		n, err = tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("import %s: %w", table, err)
	}
	return n, nil
}

// FinishImport moves every identity sequence past the imported IDs and
// reloads the meter directory, channel names and admission state.
func (s *Store) FinishImport(ctx context.Context) error {
	err := s.withWrite(ctx, func(tx pgx.Tx) error {
		for table, col := range importable {
			if col == "" {
				continue
			}
			if _, err := tx.Exec(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', '%s'), GREATEST((SELECT max(%s) FROM %s), 1), (SELECT max(%s) FROM %s) IS NOT NULL)`,
				table, col, col, table, col, table)); err != nil {
				return fmt.Errorf("identity of %s: %w", table, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finish import: %w", err)
	}
	return s.load(ctx)
}

// TableCounts counts the rows of every importable table, of the readings
// and of the meters behind a data collector ("meter_collectors").
func (s *Store) TableCounts(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for table := range importable {
		var n int64
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", table, err)
		}
		out[table] = n
	}
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM readings`).Scan(&n); err != nil {
		return nil, fmt.Errorf("count readings: %w", err)
	}
	out["readings"] = n
	// SQLite's meter_collectors rows are the meters behind a collector here.
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM meters WHERE collector <> ''`).Scan(&n); err != nil {
		return nil, fmt.Errorf("count meter collectors: %w", err)
	}
	out["meter_collectors"] = n
	return out, nil
}
