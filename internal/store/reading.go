package store

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/quarantine"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/rejection"
)

// Flags mark what admission noticed about a reading. They never drop it: the
// reading is evidence and stays in the ledger and the store. Aggregates use
// flagged readings like any other; filter on flags in the API if needed.
type Flags uint32

// Reading flags.
const (
	// FlagGap: the reading's prev is not the hash of the meter's previous
	// admitted reading, so readings are missing or the chain was broken.
	FlagGap Flags = 1 << iota
	// FlagSkew: the device time lies outside the accepted window around the
	// receive time.
	FlagSkew
	// FlagImplausible: at least one value lies outside its channel's [Min, Max].
	FlagImplausible
	// FlagUnknownChannel: the reading has a channel its point does not declare.
	FlagUnknownChannel
	// FlagPointMismatch: the reading's point is not the meter's registered point.
	FlagPointMismatch
	// FlagTimeReversed: the device time is before the meter's previous
	// reading's although its seq is larger.
	FlagTimeReversed
	// FlagDuplicate: the meter sent the same device time again under a new
	// seq (a gateway replaying its buffer). Aggregates keep one value per
	// (meter, device time), the one with the lowest seq.
	FlagDuplicate
	// FlagEstimated: the source marked the value as estimated, not measured.
	FlagEstimated
)

var flagNames = []string{"gap", "skew", "implausible", "unknown-channel", "point-mismatch", "time-reversed", "duplicate", "estimated"}

// Names lists the names of the set flags in bit order ("gap", "skew", …);
// unknown bits appear as "bitN".
func (f Flags) Names() []string {
	var out []string
	for i := 0; i < 32; i++ {
		if f&(1<<i) == 0 {
			continue
		}
		if i < len(flagNames) {
			out = append(out, flagNames[i])
		} else {
			out = append(out, fmt.Sprintf("bit%d", i))
		}
	}
	return out
}

// String joins the flag names with "|".
func (f Flags) String() string { return strings.Join(f.Names(), "|") }

// ParseFlag returns the flag with the given name.
func ParseFlag(name string) (Flags, bool) {
	for i, n := range flagNames {
		if n == name {
			return 1 << i, true
		}
	}
	return 0, false
}

// Value is one channel value of a stored reading.
type Value struct {
	Channel string  `json:"channel"`
	Value   float64 `json:"value"`
}

// Reading is an admitted reading as stored: the parsed values of a signed
// note plus where it sits in the ledger. The note's exact bytes live in the
// ledger at Index; Hash binds this record to them.
type Reading struct {
	Meter    string       `json:"meter"`
	Seq      uint64       `json:"seq"`
	Time     time.Time    `json:"time"`     // device time (a claim), ms resolution
	Received time.Time    `json:"received"` // server receive time, ms resolution
	Index    uint64       `json:"index"`    // ledger index
	Hash     reading.Hash `json:"-"`        // SHA-256 of the signed note
	Flags    Flags        `json:"flags"`
	Values   []Value      `json:"values"`
}

// Value returns the value of the named channel.
func (r *Reading) Value(channel string) (float64, bool) {
	for _, v := range r.Values {
		if v.Channel == channel {
			return v.Value, true
		}
	}
	return 0, false
}

// MaxIndex is the largest ledger index a store must accept (SQL integers are
// signed 64-bit).
const MaxIndex = math.MaxInt64

// Validate checks a reading before it is committed: meter ID, receive time
// and index, and the validity rule of package reading (device time, seq, 1–64
// values with valid, distinct channel names and finite values within
// bounds) — the same functions admission applies, so that every reading
// admission accepts is one the store can take.
func (r *Reading) Validate() error {
	if r.Meter == "" {
		return fmt.Errorf("reading: %w: no meter", ErrInvalid)
	}
	if r.Received.IsZero() {
		return fmt.Errorf("reading %s/%d: %w: zero receive time", r.Meter, r.Seq, ErrInvalid)
	}
	if r.Index > MaxIndex {
		return fmt.Errorf("reading %s/%d: %w: ledger index %d out of range", r.Meter, r.Seq, ErrInvalid, r.Index)
	}
	if err := reading.CheckTime(r.Time); err != nil {
		return fmt.Errorf("reading %s/%d: %w: %w", r.Meter, r.Seq, ErrInvalid, err)
	}
	if err := reading.CheckSeq(r.Seq); err != nil {
		return fmt.Errorf("reading %s/%d: %w: %w", r.Meter, r.Seq, ErrInvalid, err)
	}
	if err := reading.CheckChannelCount(len(r.Values)); err != nil {
		return fmt.Errorf("reading %s/%d: %w: %w", r.Meter, r.Seq, ErrInvalid, err)
	}
	for i, v := range r.Values {
		if !reading.ValidChannel(v.Channel) {
			return fmt.Errorf("reading %s/%d: %w: channel name %q", r.Meter, r.Seq, ErrInvalid, v.Channel)
		}
		if err := reading.CheckValue(v.Channel, v.Value); err != nil {
			return fmt.Errorf("reading %s/%d: %w: %w", r.Meter, r.Seq, ErrInvalid, err)
		}
		for _, w := range r.Values[:i] {
			if w.Channel == v.Channel {
				return fmt.Errorf("reading %s/%d: %w: duplicate channel %s", r.Meter, r.Seq, ErrInvalid, v.Channel)
			}
		}
	}
	return nil
}

// MeterState is the admission state of one meter: its last committed reading.
type MeterState struct {
	Meter string       `json:"meter"`
	Seq   uint64       `json:"seq"`
	Hash  reading.Hash `json:"-"`
	Index uint64       `json:"index"`
	Time  time.Time    `json:"time"` // device time of that reading
}

// Batch is what one Commit stores atomically.
type Batch struct {
	// Readings are admitted readings, in admission order.
	Readings []Reading
	// Rejections are counted by (reason, meter) and by (reason, meter,
	// source) in the bounded log of recent rejections.
	Rejections []rejection.Rejection
	// Quarantined are ledger entries below LedgerSize set aside instead of
	// committed (see quarantine.Record); a record for an index already quarantined
	// is skipped.
	Quarantined []quarantine.Record
	// LedgerSize, if larger than the stored one, replaces it: the caller
	// asserts that every ledger entry with a smaller index has now been
	// committed (readings) or needs no commit (key entries).
	LedgerSize uint64
}

// ReadingQuery selects one meter's readings.
type ReadingQuery struct {
	Meter string
	From  time.Time // inclusive; zero: from the first reading
	To    time.Time // exclusive; zero: to the last reading
	Desc  bool      // newest first
	// Limit bounds a page (0: 1000; at most 10000). For ScanReadings it caps
	// the whole scan (0: no cap).
	Limit int
	// After continues after the cursor a previous page returned.
	After *Cursor
}

// DefaultPageSize and MaxPageSize bound ReadingQuery.Limit.
const (
	DefaultPageSize = 1000
	MaxPageSize     = 10000
)

// PageSize returns the effective page size of q.
func (q ReadingQuery) PageSize() int {
	switch {
	case q.Limit <= 0:
		return DefaultPageSize
	case q.Limit > MaxPageSize:
		return MaxPageSize
	}
	return q.Limit
}

// Cursor is a position in a meter's readings ordered by (device time, seq).
type Cursor struct {
	Time time.Time `json:"time"`
	Seq  uint64    `json:"seq"`
}

// ReadingPage is one page of readings; Next is nil on the last page.
type ReadingPage struct {
	Readings []Reading `json:"readings"`
	Next     *Cursor   `json:"next,omitempty"`
}

// ScanPages implements SeriesReader.ScanReadings for a driver in terms of
// its Readings: one page at a time, so memory stays bounded; q.Limit caps
// the whole scan (0: no cap).
func ScanPages(ctx context.Context, readings func(context.Context, ReadingQuery) (ReadingPage, error), q ReadingQuery, fn func(*Reading) error) error {
	total, capN := 0, q.Limit
	page := q
	page.Limit = DefaultPageSize
	for {
		p, err := readings(ctx, page)
		if err != nil {
			return err
		}
		for i := range p.Readings {
			if err := fn(&p.Readings[i]); err != nil {
				return err
			}
			if total++; capN > 0 && total >= capN {
				return nil
			}
		}
		if p.Next == nil {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		page.After = p.Next
	}
}
