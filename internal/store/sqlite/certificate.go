package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/shuixiao/shuixiao/certificate"
	"github.com/shuixiao/shuixiao/internal/store"
)

// certificateDDL keeps the applied water-rights certificate entries
// (store.Certificates): the canonical entry text at its ledger index.
const certificateDDL = `
CREATE TABLE IF NOT EXISTS certificate_events (
	idx         INTEGER PRIMARY KEY,
	op_id       TEXT NOT NULL UNIQUE,
	certificate TEXT NOT NULL,
	text        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS certificate_events_cert ON certificate_events(certificate, idx);`

func init() { featureDDL = append(featureDDL, certificateDDL) }

// PutCertificateEvent implements store.Certificates.
func (s *Store) PutCertificateEvent(ctx context.Context, ev certificate.Event) error {
	text, err := store.CertificateEventText(ev)
	if err != nil {
		return err
	}
	return s.withWrite(ctx, func(tx *sql.Tx) error {
		var idx int64
		var have string
		err := tx.QueryRowContext(ctx, `SELECT idx, text FROM certificate_events WHERE idx = ? OR op_id = ? LIMIT 1`,
			int64(ev.Index), ev.Entry.ID).Scan(&idx, &have)
		switch {
		case err == nil:
			return store.KeptCertificateEvent(ev, text, uint64(idx), have) // nil: applied before
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("certificate events: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO certificate_events(idx, op_id, certificate, text) VALUES (?, ?, ?, ?)`,
			int64(ev.Index), ev.Entry.ID, ev.Entry.Certificate, text)
		return err
	})
}

// CertificateEvents implements store.Certificates.
func (s *Store) CertificateEvents(ctx context.Context) ([]certificate.Event, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := s.r.QueryContext(ctx, `SELECT idx, text FROM certificate_events ORDER BY idx`)
	if err != nil {
		return nil, fmt.Errorf("certificate events: %w", err)
	}
	defer rows.Close()
	out := []certificate.Event{}
	for rows.Next() {
		var idx int64
		var text string
		if err := rows.Scan(&idx, &text); err != nil {
			return nil, fmt.Errorf("certificate events: %w", err)
		}
		e, err := certificate.Parse([]byte(text))
		if err != nil {
			return nil, fmt.Errorf("certificate event at ledger index %d: %w", idx, err)
		}
		out = append(out, certificate.Event{Index: uint64(idx), Entry: e})
	}
	return out, rows.Err()
}
