// Package ingest turns signed readings from any transport (MQTT, HTTP batch,
// protocol gateways) into admitted ledger entries and stored values. It
// checks each reading's signature against the meter's registered key, admits
// it by the meter's sequence (reference/ledger.md §5.4), appends it to the
// ledger and commits it to the store, and only then answers the transport —
// so an acknowledged reading is never lost.
package ingest

import (
	"time"

	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/store"
)

// MeterState is what admission remembers of a meter: its last admitted reading.
type MeterState struct {
	Seq   uint64
	Hash  reading.Hash
	Index uint64
	Known bool // false until the meter's first reading
}

// Policy holds admission settings.
type Policy struct {
	// SkewPast and SkewFuture bound how far a reading's time may lie behind
	// or ahead of the receive time before it is flagged (default 10 min / 2 min).
	SkewPast, SkewFuture time.Duration
}

// DefaultPolicy is the admission policy of reference/ledger.md §5.5.
var DefaultPolicy = Policy{SkewPast: 10 * time.Minute, SkewFuture: 2 * time.Minute}

// Verdict is the outcome of admission.
type Verdict int

// Verdicts.
const (
	Accept    Verdict = iota
	Duplicate         // byte-identical to the last admitted reading: answer with its index
	Stale             // seq not above the last: a duplicate of an older reading or a replay
)

// Decision is admission's answer for one reading.
type Decision struct {
	Verdict Verdict
	Flags   store.Flags
	Index   uint64 // the original index, for Duplicate
}

// Admit decides on a reading whose signature is already verified. It is
// pure: the caller updates the state after an Accept and resolves Stale
// readings by looking the (meter, seq) up in the store (an exact resubmission
// of an old reading is a duplicate; anything else is a replay).
func Admit(st MeterState, r *reading.Reading, h reading.Hash, received time.Time, p Policy) Decision {
	if st.Known {
		if r.Seq == st.Seq && h == st.Hash {
			return Decision{Verdict: Duplicate, Index: st.Index}
		}
		if r.Seq <= st.Seq {
			return Decision{Verdict: Stale}
		}
	}
	var f store.Flags
	switch {
	case !st.Known && !r.Prev.IsZero():
		// The first reading we see quotes a predecessor we never saw.
		f |= store.FlagGap
	case st.Known && (r.Prev != st.Hash || r.Seq != st.Seq+1):
		f |= store.FlagGap
	}
	if !received.IsZero() {
		d := received.Sub(r.Time)
		if d > p.SkewPast || -d > p.SkewFuture {
			f |= store.FlagSkew
		}
	}
	return Decision{Verdict: Accept, Flags: f}
}

// Advance returns the state after admitting r at index i.
func (st MeterState) Advance(r *reading.Reading, h reading.Hash, i uint64) MeterState {
	return MeterState{Seq: r.Seq, Hash: h, Index: i, Known: true}
}
