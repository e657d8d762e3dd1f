// Package quarantine defines the record of a ledger entry set aside: an
// entry already sequenced in the ledger that the store refused for good (it
// fails the reading validity rule, names an unknown meter, conflicts with a
// stored reading) or that catching up cannot apply (it does not parse or
// verify). The ledger keeps the entry — it is the record — and the store
// keeps this note of it, so that ingest goes on instead of retrying forever
// and an admin can list what was set aside. It imports nothing of the
// server: package store keeps the records (store.Batch, store.Quarantines),
// package ingest makes them.
package quarantine

import "time"

// Record is one ledger entry set aside.
type Record struct {
	Index  uint64    `json:"index"`           // ledger index of the entry
	Meter  string    `json:"meter,omitempty"` // empty when not known
	Seq    uint64    `json:"seq,omitempty"`   // the reading's seq, when it parsed
	Reason string    `json:"reason"`          // short machine name, e.g. "invalid"
	Detail string    `json:"detail,omitempty"`
	Time   time.Time `json:"time"` // when it was set aside
}

// MaxDetail bounds Record.Detail as stored.
const MaxDetail = 512

// DefaultLimit and MaxLimit bound Filter.Limit.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

// Filter selects records; empty fields do not filter.
type Filter struct {
	Meter string
	// Limit bounds the answer (0: DefaultLimit; at most MaxLimit).
	Limit int
}

// PageSize returns the effective limit of f.
func (f Filter) PageSize() int {
	switch {
	case f.Limit <= 0:
		return DefaultLimit
	case f.Limit > MaxLimit:
		return MaxLimit
	}
	return f.Limit
}
