package store

import (
	"context"

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
