// Package rejection defines the record of a refused reading or message:
// when, which meter (if known), why (a short reason; package ingest names
// them) and from where, with the counters by reason and meter and the
// filter rejections are listed by. It imports nothing of the server:
// package store keeps rejections (store.Batch, store.Rejections), package
// ingest makes them.
package rejection

import "time"

// Rejection is one refused reading or message, or, as the store keeps them,
// every refusal of one key (Reason, Meter, Source): how many, the first and
// the last time, and the last detail.
type Rejection struct {
	Time   time.Time `json:"time"`             // the last time
	Meter  string    `json:"meter,omitempty"`  // empty when not known; at most MaxKey bytes stored
	Reason string    `json:"reason"`           // short machine name, e.g. "bad-signature"
	Detail string    `json:"detail,omitempty"` // human text; truncated to 512 bytes
	Source string    `json:"source,omitempty"` // remote host or client ID; at most MaxKey bytes stored
	Count  uint64    `json:"count,omitempty"`  // refusals the row stands for; 0 in a batch means 1
	First  time.Time `json:"first,omitzero"`   // the first time (stored rows)
}

// MaxDetail bounds Rejection.Detail as stored.
const MaxDetail = 512

// MaxKey bounds Rejection.Meter and Rejection.Source as stored, so that
// what a stranger claims (a username, an address) cannot grow a row.
const MaxKey = 64

// Filter selects rejections; empty fields do not filter.
type Filter struct {
	Meter  string
	Reason string
	Since  time.Time // recent rejections only
	// Limit bounds the counters a store's RejectionCounts returns (0: all
	// of them); with AfterReason set, they resume after the counter
	// (AfterReason, AfterMeter) in their (reason, meter) order: a page of a
	// long list.
	Limit                   int
	AfterReason, AfterMeter string
}

// Count is the counter of one (reason, meter).
type Count struct {
	Reason string    `json:"reason"`
	Meter  string    `json:"meter,omitempty"`
	Count  uint64    `json:"count"`
	Last   time.Time `json:"last"`
}

// TotalsByReason sums counters over meters.
func TotalsByReason(cs []Count) map[string]uint64 {
	out := map[string]uint64{}
	for _, c := range cs {
		out[c.Reason] += c.Count
	}
	return out
}
