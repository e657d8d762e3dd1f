package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/shuixiao/shuixiao/certificate"
	"github.com/shuixiao/shuixiao/internal/store"
)

// certificateDDL keeps the applied water-rights certificate entries
// (store.Certificates): the canonical entry text at its ledger index.
const certificateDDL = `
CREATE TABLE IF NOT EXISTS certificate_events (
	idx         BIGINT PRIMARY KEY,
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
	return s.withWrite(ctx, func(tx pgx.Tx) error {
		var idx int64
		var have string
		err := tx.QueryRow(ctx, `SELECT idx, text FROM certificate_events WHERE idx = $1 OR op_id = $2 LIMIT 1`,
			int64(ev.Index), ev.Entry.ID).Scan(&idx, &have)
		switch {
		case err == nil:
			return store.KeptCertificateEvent(ev, text, uint64(idx), have) // nil: applied before
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("certificate events: %w", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO certificate_events(idx, op_id, certificate, text) VALUES ($1, $2, $3, $4)`,
			int64(ev.Index), ev.Entry.ID, ev.Entry.Certificate, text)
		return err
	})
}

// CertificateEvents implements store.Certificates.
func (s *Store) CertificateEvents(ctx context.Context) ([]certificate.Event, error) {
	out, err := list(ctx, s, "certificate events", `SELECT idx, text FROM certificate_events ORDER BY idx`, nil,
		func(r pgx.Rows) (certificate.Event, error) {
			var idx int64
			var text string
			if err := r.Scan(&idx, &text); err != nil {
				return certificate.Event{}, err
			}
			e, err := certificate.Parse([]byte(text))
			if err != nil {
				return certificate.Event{}, fmt.Errorf("certificate event at ledger index %d: %w", idx, err)
			}
			return certificate.Event{Index: uint64(idx), Entry: e}, nil
		})
	if out == nil && err == nil {
		out = []certificate.Event{}
	}
	return out, err
}
