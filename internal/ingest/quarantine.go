package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/quarantine"
	"github.com/shuixiao/shuixiao/rejection"
)

// ReasonStoreRefused is the quarantine reason of a reading the store
// refused for a cause other than the validity rule (a seq conflict with a
// stored reading, an unknown meter).
const ReasonStoreRefused = "store-refused"

// permanent reports whether a store error recurs however often the same
// call is retried: the store refused the content, not the moment. Anything
// else (I/O, a busy or closed database, compaction behind) is transient.
func permanent(err error) bool {
	return errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrConflict) ||
		errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExists)
}

// quarantineOf makes the record of a ledger entry set aside because of err.
func quarantineOf(index uint64, meterID string, seq uint64, err error, now time.Time) quarantine.Record {
	reason := ReasonStoreRefused
	if errors.Is(err, store.ErrInvalid) {
		reason = ReasonInvalid
	}
	return quarantine.Record{Index: index, Meter: meterID, Seq: seq, Reason: reason, Detail: err.Error(), Time: now}
}

// tryFunc runs one store call, retrying it as its caller sees fit, and
// returns nil, a permanent error, or a transient one it gave up on.
type tryFunc func(what string, call func() error) error

// once is the tryFunc that does not retry.
func once(_ string, call func() error) error { return call() }

// commitOrSetAside commits b. If the store refuses it for good, it commits
// b's readings one at a time and quarantines those the store refuses, then
// commits the rest of b — rejections, quarantine records, ledger size —
// with a record for each. Afterwards b.Readings holds the readings
// committed and b.Quarantined every record; refused marks, by position in
// the original b.Readings, the readings set aside (nil if none were). An
// error is a transient one try gave up on: nothing is lost, the ledger
// size was not advanced, and catching up from the ledger redoes the rest.
func commitOrSetAside(ctx context.Context, st Store, b *store.Batch, now time.Time, try tryFunc) (refused []bool, err error) {
	err = try("store commit", func() error { return st.Commit(ctx, b) })
	if err == nil || !permanent(err) {
		return nil, err
	}
	refused = make([]bool, len(b.Readings))
	kept := make([]store.Reading, 0, len(b.Readings))
	qs := append([]quarantine.Record(nil), b.Quarantined...)
	for i := range b.Readings {
		r := &b.Readings[i]
		err := r.Validate()
		if err == nil {
			err = try("store commit", func() error { return st.Commit(ctx, &store.Batch{Readings: b.Readings[i : i+1]}) })
		}
		switch {
		case err == nil:
			kept = append(kept, *r)
		case permanent(err):
			refused[i] = true
			qs = append(qs, quarantineOf(r.Index, r.Meter, r.Seq, err, now))
		default:
			return nil, err
		}
	}
	rest := &store.Batch{Rejections: b.Rejections, Quarantined: qs, LedgerSize: b.LedgerSize}
	err = try("store commit", func() error { return st.Commit(ctx, rest) })
	if err != nil && permanent(err) && len(rest.Rejections) > 0 {
		// A rejection the store will not count must not hold the ledger
		// size back: the quarantine records and the size matter more.
		rest.Rejections = nil
		err = try("store commit", func() error { return st.Commit(ctx, rest) })
	}
	if err != nil {
		return nil, fmt.Errorf("commit after setting aside %d ledger entries: %w", len(qs)-len(b.Quarantined), err)
	}
	b.Readings, b.Quarantined = kept, qs
	return refused, nil
}

// retry runs call until it succeeds or fails permanently, sleeping longer
// after each transient failure (at most 5 s). It returns nil or the
// permanent error.
func (p *Pipeline) retry(what string, call func() error) error {
	for attempt := 1; ; attempt++ {
		err := call()
		if err == nil || permanent(err) {
			return err
		}
		p.opts.Logger.Error(what+" failed; retrying", "attempt", attempt, "error", err)
		time.Sleep(min(time.Duration(attempt)*100*time.Millisecond, 5*time.Second))
	}
}

// setAside finishes a batch the store refused for good (cause): key entries
// it cannot apply and readings it cannot take are quarantined — counted,
// stored as quarantine records, handed to OnCommitted for the alarms —
// and answered with ReasonQuarantined; everything else is committed.
func (p *Pipeline) setAside(ctx context.Context, pd *pending, cause error) {
	now := p.opts.Now()
	b := pd.batch
	p.opts.Logger.Error("the store refused a batch already in the ledger; setting aside what it cannot take",
		"readings", len(b.Readings), "entries", len(pd.entries), "error", cause)
	answer := func(it *item, q quarantine.Record) {
		it.result = Result{Index: q.Index, Reject: &rejection.Rejection{Time: now, Meter: q.Meter, Reason: ReasonQuarantined, Source: it.source,
			Detail: fmt.Sprintf("ledger index %d set aside: %s", q.Index, q.Detail)}}
	}
	for _, it := range pd.entries {
		if it.entry.Apply == nil {
			continue
		}
		err := p.retry("apply ledger entry", func() error { return it.entry.Apply(ctx, it.result.Index) })
		if err != nil {
			meterID := ""
			if it.entry.Key != nil {
				meterID = it.entry.Key.Meter
			}
			q := quarantineOf(it.result.Index, meterID, 0, fmt.Errorf("apply: %w", err), now)
			b.Quarantined = append(b.Quarantined, q)
			answer(it, q)
		}
	}
	pd.entries = nil           // applied or set aside
	next := len(b.Quarantined) // the first record commitOrSetAside adds
	byIndex := make(map[uint64]*item, len(b.Readings))
	for _, it := range pd.items {
		if it.rd != nil && it.entry == nil && it.result.Reject == nil && !it.result.Duplicate {
			byIndex[it.result.Index] = it
		}
	}
	all := b.Readings
	refused, err := commitOrSetAside(ctx, p.opts.Store, b, now, p.retry)
	if err != nil {
		// p.retry gives up only on permanent errors, so the rest of the
		// batch was refused twice: log it; catching up redoes it.
		p.opts.Logger.Error("commit after setting aside failed", "error", err)
	}
	if refused != nil {
		raw, ent := pd.extra.Raw[:0:0], pd.extra.Enterprise[:0:0]
		for i, r := range all {
			if !refused[i] {
				raw, ent = append(raw, pd.extra.Raw[i]), append(ent, pd.extra.Enterprise[i])
				continue
			}
			if it := byIndex[r.Index]; it != nil {
				answer(it, b.Quarantined[next])
			}
			next++
		}
		pd.extra.Raw, pd.extra.Enterprise = raw, ent
		for _, it := range pd.items {
			if it.dupOf != nil && it.dupOf.result.Reject != nil {
				it.result = it.dupOf.result
			}
		}
	}
	pd.extra.Quarantined = b.Quarantined
	for _, q := range b.Quarantined {
		p.opts.Logger.Error("ledger entry quarantined", "index", q.Index, "meter", q.Meter, "seq", q.Seq, "reason", q.Reason, "detail", q.Detail)
	}
}
