package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/quarantine"
)

// checkQuarantine validates a batch's quarantine records against the ledger
// size the batch leaves behind.
func checkQuarantine(qs []quarantine.Record, ledgerSize uint64) error {
	for _, q := range qs {
		if q.Reason == "" || len(q.Reason) > 64 {
			return fmt.Errorf("quarantine %d: %w: reason must be 1-64 bytes", q.Index, store.ErrInvalid)
		}
		if q.Index >= ledgerSize {
			return fmt.Errorf("quarantine %d: %w: not below the ledger size %d", q.Index, store.ErrInvalid, ledgerSize)
		}
	}
	return nil
}

// writeQuarantine inserts a batch's quarantine records; an index already
// quarantined keeps its first record.
func writeQuarantine(ctx context.Context, tx *sql.Tx, qs []quarantine.Record) error {
	for _, q := range qs {
		detail := store.Clip(q.Detail, quarantine.MaxDetail)
		if _, err := tx.ExecContext(ctx, `INSERT INTO quarantine(idx, t, meter, seq, reason, detail) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT(idx) DO NOTHING`, int64(q.Index), q.Time.UnixMilli(), q.Meter, seqKey(q.Seq), q.Reason, detail); err != nil {
			return fmt.Errorf("quarantine ledger entry %d: %w", q.Index, err)
		}
	}
	return nil
}

// Quarantined implements store.Quarantines.
func (s *Store) Quarantined(ctx context.Context, f quarantine.Filter) ([]quarantine.Record, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	limit := f.PageSize()
	rows, err := s.r.QueryContext(ctx, `SELECT idx, t, meter, seq, reason, detail FROM quarantine
		WHERE (? = '' OR meter = ?) ORDER BY idx DESC LIMIT ?`, f.Meter, f.Meter, limit)
	if err != nil {
		return nil, fmt.Errorf("quarantined: %w", err)
	}
	defer rows.Close()
	out := []quarantine.Record{}
	for rows.Next() {
		var q quarantine.Record
		var idx, t, seq int64
		if err := rows.Scan(&idx, &t, &q.Meter, &seq, &q.Reason, &q.Detail); err != nil {
			return nil, fmt.Errorf("quarantined: %w", err)
		}
		q.Index, q.Time, q.Seq = uint64(idx), time.UnixMilli(t).UTC(), seqFrom(seq)
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("quarantined: %w", err)
	}
	return out, nil
}
