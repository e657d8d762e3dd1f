package store

import (
	"context"

	"github.com/shuixiao/shuixiao/quarantine"
)

// Quarantines lists the ledger entries set aside instead of committed
// (quarantine.Record). They are recorded through Batch.Quarantined, together
// with the LedgerSize that passes them.
type Quarantines interface {
	// Quarantined returns the records f selects, newest ledger index first.
	Quarantined(ctx context.Context, f quarantine.Filter) ([]quarantine.Record, error)
}
