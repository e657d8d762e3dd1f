// Package ingest turns signed readings from any transport (MQTT, HTTP batch,
// protocol gateways) into admitted ledger entries and stored values. It
// checks each reading's signature against the meter's registered key, admits
// it by the meter's sequence (reference/ledger.md §5.4), appends it to the
// ledger and commits it to the store, and only then answers the transport —
// so an acknowledged reading is never lost.
//
// Before the ledger a reading must be exactly the bytes its meter signed
// (reading.CheckSigned) and pass the validity rule of package reading, the
// same functions the store's Reading.Validate applies: what admission
// accepts the store can take. A store error is retried only while it is
// transient; an entry already in the ledger that the store refuses for good
// is quarantined (quarantine.go) — recorded, counted, alarmed — and never
// holds up the readings behind it or the next start.
package ingest

import (
	"fmt"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/reading"
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
	// MaxAhead bounds how far a reading's time may lie ahead of the receive
	// time at all; a reading further ahead is refused (default 24 h). A
	// meter whose clock runs that far ahead would otherwise date readings
	// into periods that have not happened yet.
	MaxAhead time.Duration
	// MaxSeqJump bounds how far a reading's seq may lie above the meter's
	// last admitted seq (above 0 for its first reading); a reading further
	// ahead is refused (default 1,000,000). Without it one signed reading
	// with a huge seq would make every later reading of its meter a replay.
	// Raise it to register meters whose counters are already further on.
	MaxSeqJump uint64
}

// DefaultPolicy is the admission policy of reference/ledger.md §5.5.
var DefaultPolicy = Policy{SkewPast: 10 * time.Minute, SkewFuture: 2 * time.Minute, MaxAhead: 24 * time.Hour, MaxSeqJump: 1_000_000}

// withDefaults fills the fields left zero from DefaultPolicy (both skews if
// neither is set).
func (p Policy) withDefaults() Policy {
	if p.SkewPast == 0 && p.SkewFuture == 0 {
		p.SkewPast, p.SkewFuture = DefaultPolicy.SkewPast, DefaultPolicy.SkewFuture
	}
	if p.MaxAhead == 0 {
		p.MaxAhead = DefaultPolicy.MaxAhead
	}
	if p.MaxSeqJump == 0 {
		p.MaxSeqJump = DefaultPolicy.MaxSeqJump
	}
	return p
}

// Verdict is the outcome of admission.
type Verdict int

// Verdicts.
const (
	Accept    Verdict = iota
	Duplicate         // byte-identical to the last admitted reading: answer with its index
	Stale             // seq not above the last: a duplicate of an older reading or a replay
	Refuse            // outside the policy's bounds: Reason and Detail say why
)

// Decision is admission's answer for one reading.
type Decision struct {
	Verdict Verdict
	Flags   store.Flags
	Index   uint64 // the original index, for Duplicate
	Reason  string // for Refuse: ReasonSeqJump or ReasonInvalid
	Detail  string
}

// Admit decides on a reading whose signature is already verified and whose
// fields passed the validity rule (reading.Reading.Check). It is pure: the
// caller updates the state after an Accept and resolves Stale readings by
// looking the (meter, seq) up in the store (an exact resubmission of an old
// reading is a duplicate; anything else is a replay). A zero received time
// (catching up from the ledger) checks neither skew nor MaxAhead.
func Admit(st MeterState, r *reading.Reading, h reading.Hash, received time.Time, p Policy) Decision {
	if st.Known {
		if r.Seq == st.Seq && h == st.Hash {
			return Decision{Verdict: Duplicate, Index: st.Index}
		}
		if r.Seq <= st.Seq {
			return Decision{Verdict: Stale}
		}
	}
	last := uint64(0)
	if st.Known {
		last = st.Seq
	}
	if r.Seq > last && r.Seq-last > p.MaxSeqJump {
		return Decision{Verdict: Refuse, Reason: ReasonSeqJump,
			Detail: fmt.Sprintf("seq %d is more than %d above the last admitted seq %d", r.Seq, p.MaxSeqJump, last)}
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
		// Compare instants, not received.Sub(r.Time): a duration saturates
		// at ±292 years, and the negation of the minimum is itself.
		if r.Time.After(received.Add(p.MaxAhead)) {
			return Decision{Verdict: Refuse, Reason: ReasonInvalid,
				Detail: fmt.Sprintf("time %s is more than %s ahead of the receive time %s", r.Time.UTC().Format(time.RFC3339), p.MaxAhead, received.UTC().Format(time.RFC3339))}
		}
		if r.Time.Before(received.Add(-p.SkewPast)) || r.Time.After(received.Add(p.SkewFuture)) {
			f |= store.FlagSkew
		}
	}
	return Decision{Verdict: Accept, Flags: f}
}

// Advance returns the state after admitting r at index i.
func (st MeterState) Advance(r *reading.Reading, h reading.Hash, i uint64) MeterState {
	return MeterState{Seq: r.Seq, Hash: h, Index: i, Known: true}
}
