package storetest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/quarantine"
	"github.com/shuixiao/shuixiao/reading"
)

// testValidity: Commit refuses, with ErrInvalid and storing nothing, every
// reading outside the validity rule of package reading, and takes the
// readings on its edges.
func testValidity(t *testing.T, s store.Store) {
	ctx := context.Background()
	fixture(t, s)
	t0 := day(1).Add(10 * time.Hour)
	bad := map[string]store.Reading{
		"zero time":        rd("M-1", 1, time.Time{}, 0, total(1)),
		"year 1":           rd("M-1", 1, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), 0, total(1)),
		"before 2000":      rd("M-1", 1, reading.MinTime.Add(-time.Millisecond), 0, total(1)),
		"year 9999":        rd("M-1", 1, time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), 0, total(1)),
		"at MaxTime":       rd("M-1", 1, reading.MaxTime, 0, total(1)),
		"seq 2^64-1":       rd("M-1", math.MaxUint64, t0, 0, total(1)),
		"seq above MaxSeq": rd("M-1", reading.MaxSeq+1, t0, 0, total(1)),
		"huge value":       rd("M-1", 1, t0, 0, total(1e300)),
		"huge negative":    rd("M-1", 1, t0, 0, flow(-2e15)),
		"infinite value":   rd("M-1", 1, t0, 0, total(math.Inf(1))),
		"bad channel name": rd("M-1", 1, t0, 0, store.Value{Channel: "Total", Value: 1}),
	}
	for name, r := range bad {
		// A valid reading in the same batch is not stored either.
		err := s.Commit(ctx, &store.Batch{Readings: []store.Reading{rd("M-2", 1, t0, 1, total(1)), r}, LedgerSize: 2})
		wantErr(t, name, err, store.ErrInvalid)
	}
	countReadings(t, s, "M-2", 0)
	if n, _ := s.LedgerSize(ctx); n != 0 {
		t.Errorf("ledger size %d after refused commits", n)
	}
	edges := []store.Reading{
		rd("M-1", 1, reading.MinTime, 0, total(reading.MaxMagnitude)),
		rd("M-1", reading.MaxSeq, reading.MaxTime.Add(-time.Millisecond), 1, total(-reading.MaxMagnitude)),
	}
	must(t, s.Commit(ctx, &store.Batch{Readings: edges, LedgerSize: 2}))
	countReadings(t, s, "M-1", 2)
}

// testQuarantine: quarantine records commit with the ledger size that
// passes them, atomically with the rest of the batch, once per ledger index,
// and list newest first, by meter and bounded.
func testQuarantine(t *testing.T, s store.Store) {
	ctx := context.Background()
	fixture(t, s)
	t0 := day(1).Add(10 * time.Hour)
	if qs, err := s.Quarantined(ctx, quarantine.Filter{}); err != nil || len(qs) != 0 {
		t.Fatalf("empty store: quarantine %v, %v", qs, err)
	}
	q := func(idx uint64, m string, seq uint64, reason string) quarantine.Record {
		return quarantine.Record{Index: idx, Meter: m, Seq: seq, Reason: reason, Detail: "detail of " + reason, Time: t0}
	}
	must(t, s.Commit(ctx, &store.Batch{
		Readings:    []store.Reading{rd("M-1", 1, t0, 0, total(1)), rd("M-1", 3, t0.Add(time.Minute), 2, total(2))},
		Quarantined: []quarantine.Record{q(1, "M-1", math.MaxUint64, "invalid")},
		LedgerSize:  3,
	}))
	if n, _ := s.LedgerSize(ctx); n != 3 {
		t.Errorf("ledger size %d, want 3", n)
	}
	countReadings(t, s, "M-1", 2)

	// A record must lie below the ledger size the batch leaves; a refused
	// batch stores none of its parts.
	wantErr(t, "quarantine at the ledger size", s.Commit(ctx, &store.Batch{
		Readings:    []store.Reading{rd("M-1", 4, t0.Add(2*time.Minute), 3, total(3))},
		Quarantined: []quarantine.Record{q(4, "M-1", 5, "invalid")}, LedgerSize: 4}), store.ErrInvalid)
	wantErr(t, "quarantine without reason", s.Commit(ctx, &store.Batch{
		Quarantined: []quarantine.Record{q(3, "M-1", 5, "")}, LedgerSize: 4}), store.ErrInvalid)
	countReadings(t, s, "M-1", 2)

	// Catching up again quarantines the same entry again: the first record stays.
	long := q(5, "", 0, "malformed")
	long.Detail = string(make([]byte, 2*quarantine.MaxDetail))
	must(t, s.Commit(ctx, &store.Batch{
		Quarantined: []quarantine.Record{q(1, "M-1", math.MaxUint64, "other"), q(3, "M-2", 7, "store-refused"), long},
		LedgerSize:  6,
	}))
	qs, err := s.Quarantined(ctx, quarantine.Filter{})
	must(t, err)
	if len(qs) != 3 || qs[0].Index != 5 || qs[1].Index != 3 || qs[2].Index != 1 {
		t.Fatalf("quarantine %+v, want indices 5, 3, 1", qs)
	}
	if got := qs[2]; got.Meter != "M-1" || got.Seq != math.MaxUint64 || got.Reason != "invalid" || got.Detail != "detail of invalid" || !got.Time.Equal(t0) {
		t.Errorf("record 1: %+v", got)
	}
	if got := qs[0]; got.Meter != "" || len(got.Detail) != quarantine.MaxDetail {
		t.Errorf("record 5: meter %q, detail of %d bytes", got.Meter, len(got.Detail))
	}
	qs, err = s.Quarantined(ctx, quarantine.Filter{Meter: "M-2"})
	must(t, err)
	if len(qs) != 1 || qs[0].Index != 3 || qs[0].Seq != 7 {
		t.Errorf("quarantine of M-2: %+v", qs)
	}
	qs, err = s.Quarantined(ctx, quarantine.Filter{Limit: 2})
	must(t, err)
	if len(qs) != 2 || qs[1].Index != 3 {
		t.Errorf("two newest: %+v", qs)
	}
}
