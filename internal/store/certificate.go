package store

import (
	"context"
	"fmt"

	"github.com/shuixiao/shuixiao/certificate"
)

// Certificates keeps the water-rights certificate entries applied from the
// ledger (package certificate; internal/rights applies them in ledger
// order). The store keeps the entries, not a balance: holdings are the
// fold of the entries (certificate.Fold), so they cannot drift from the
// ledger.
type Certificates interface {
	// PutCertificateEvent keeps an applied entry at its ledger index. The
	// same entry at the same index again is nil (catching up after a crash
	// applies entries again); another entry at that index, or the same
	// operation ID at another index, is ErrConflict; an entry that is not
	// valid is ErrInvalid.
	PutCertificateEvent(ctx context.Context, ev certificate.Event) error
	// CertificateEvents lists every kept entry in ledger order.
	CertificateEvents(ctx context.Context) ([]certificate.Event, error)
}

// CertificateEventText is the record rule of PutCertificateEvent every
// driver applies: a valid entry, kept as its canonical text.
func CertificateEventText(ev certificate.Event) (string, error) {
	if ev.Entry == nil {
		return "", fmt.Errorf("certificate event %d: %w: no entry", ev.Index, ErrInvalid)
	}
	if err := ev.Entry.Validate(); err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return ev.Entry.Text(), nil
}

// KeptCertificateEvent says what an entry kept at ev's index or under its
// operation ID (keptIndex, keptText) means for PutCertificateEvent: nil
// for the same entry at the same index (applied before), else ErrConflict.
func KeptCertificateEvent(ev certificate.Event, text string, keptIndex uint64, keptText string) error {
	if keptIndex == ev.Index && keptText == text {
		return nil
	}
	return fmt.Errorf("certificate entry %s at ledger index %d: %w with the entry kept at index %d", ev.Entry.ID, ev.Index, ErrConflict, keptIndex)
}
