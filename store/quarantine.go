package store

import (
	"context"
	"time"
)

// Quarantine records a ledger entry the store could not take: a reading
// already sequenced in the ledger that the store refuses deterministically
// (it fails Reading.Validate, names an unknown meter, conflicts with a
// stored reading) or that catch-up cannot apply (it does not parse or
// verify). The ledger keeps the entry — it is the record — and the store
// keeps this note of it, so that ingest goes on instead of retrying forever
// and an admin can list what was set aside. It is committed through
// Batch.Quarantined together with the LedgerSize that passes the entry.
type Quarantine struct {
	Index  uint64    `json:"index"`           // ledger index of the entry
	Meter  string    `json:"meter,omitempty"` // empty when not known
	Seq    uint64    `json:"seq,omitempty"`   // the reading's seq, when it parsed
	Reason string    `json:"reason"`          // short machine name, e.g. "invalid"
	Detail string    `json:"detail,omitempty"`
	Time   time.Time `json:"time"` // when it was quarantined
}

// QuarantineFilter selects quarantine records; empty fields do not filter.
type QuarantineFilter struct {
	Meter string
	// Limit bounds the answer (0: DefaultPageSize; at most MaxPageSize).
	Limit int
}

// PageSize returns the effective limit of f, bounded as ReadingQuery's.
func (f QuarantineFilter) PageSize() int { return ReadingQuery{Limit: f.Limit}.PageSize() }

// Quarantines lists quarantined ledger entries.
type Quarantines interface {
	// Quarantined returns the records f selects, newest ledger index first.
	Quarantined(ctx context.Context, f QuarantineFilter) ([]Quarantine, error)
}
