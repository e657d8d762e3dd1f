package storetest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
)

func testCommit(t *testing.T, s store.Store) {
	ctx := context.Background()
	fixture(t, s)
	if n, err := s.LedgerSize(ctx); err != nil || n != 0 {
		t.Fatalf("empty store: ledger size %d, %v", n, err)
	}
	if st, err := s.AdmissionStates(ctx); err != nil || len(st) != 0 {
		t.Fatalf("empty store: states %v, %v", st, err)
	}
	t0 := day(1).Add(10*time.Hour + 123*time.Millisecond)
	var first []store.Reading
	for i := uint64(1); i <= 5; i++ {
		first = append(first, rd("M-1", i, t0.Add(time.Duration(i)*time.Minute), 100+2*i, total(1000+float64(i)*0.25), flow(12.5)))
	}
	first[2].Flags = store.FlagGap | store.FlagSkew
	first = append(first, rd("M-2", 10, t0, 99, total(5)), rd("M-2", 11, t0.Add(time.Minute), 113, total(6)))
	must(t, s.Commit(ctx, &store.Batch{Readings: first, LedgerSize: 114}))

	checkStates := func(when string) {
		t.Helper()
		st, err := s.AdmissionStates(ctx)
		must(t, err)
		if len(st) != 2 || st[0].Meter != "M-1" || st[1].Meter != "M-2" {
			t.Fatalf("%s: states %+v", when, st)
		}
		if st[0].Seq != 5 || st[0].Hash != first[4].Hash || st[0].Index != 110 || !st[0].Time.Equal(first[4].Time.Truncate(time.Millisecond)) {
			t.Errorf("%s: M-1 state %+v", when, st[0])
		}
		if st[1].Seq != 11 || st[1].Index != 113 {
			t.Errorf("%s: M-2 state %+v", when, st[1])
		}
	}
	checkRead := func(when string) {
		t.Helper()
		r, err := s.ReadingBySeq(ctx, "M-1", 3)
		must(t, err)
		if r.Index != 106 || r.Hash != first[2].Hash || r.Flags != store.FlagGap|store.FlagSkew || !r.Time.Equal(first[2].Time) || !r.Received.Equal(first[2].Received) {
			t.Errorf("%s: reading 3: %+v", when, r)
		}
		if v, ok := r.Value("total_m3"); !ok || v != 1000.75 {
			t.Errorf("%s: reading 3 total %v %v", when, v, ok)
		}
		if v, ok := r.Value("flow_m3h"); !ok || v != 12.5 {
			t.Errorf("%s: reading 3 flow %v %v", when, v, ok)
		}
		wantErr(t, when+": missing seq", errOf(s.ReadingBySeq(ctx, "M-1", 6)), store.ErrNotFound)
		wantErr(t, when+": missing meter", errOf(s.ReadingBySeq(ctx, "M-NONE", 1)), store.ErrNotFound)
	}
	checkStates("after commit")
	checkRead("after commit")

	// Replaying the batch changes nothing; a smaller ledger size is ignored.
	must(t, s.Commit(ctx, &store.Batch{Readings: first, LedgerSize: 50}))
	if n, _ := s.LedgerSize(ctx); n != 114 {
		t.Errorf("ledger size %d after a smaller one, want 114", n)
	}
	checkStates("after replay")
	countReadings(t, s, "M-1", 5)

	// Conflicts and bad input commit nothing.
	forged := rd("M-1", 5, t0, 200, total(1))
	wantErr(t, "same seq, other hash", s.Commit(ctx, &store.Batch{Readings: []store.Reading{rd("M-2", 12, t0.Add(2*time.Minute), 120, total(7)), forged}}), store.ErrConflict)
	wantErr(t, "lower seq never stored", s.Commit(ctx, &store.Batch{Readings: []store.Reading{rd("M-2", 9, t0, 121, total(7))}}), store.ErrConflict)
	wantErr(t, "seq not growing in batch", s.Commit(ctx, &store.Batch{Readings: []store.Reading{rd("M-2", 13, t0, 122, total(7)), rd("M-2", 13, t0, 123, total(8))}}), store.ErrConflict)
	wantErr(t, "unknown meter", s.Commit(ctx, &store.Batch{Readings: []store.Reading{rd("M-2", 12, t0, 124, total(7)), rd("M-NONE", 1, t0, 125, total(1))}}), store.ErrNotFound)
	wantErr(t, "NaN value", s.Commit(ctx, &store.Batch{Readings: []store.Reading{rd("M-2", 12, t0, 126, total(math.NaN()))}}), store.ErrInvalid)
	wantErr(t, "no values", s.Commit(ctx, &store.Batch{Readings: []store.Reading{rd("M-2", 12, t0, 127)}}), store.ErrInvalid)
	checkStates("after rejected batches")
	if n, _ := s.LedgerSize(ctx); n != 114 {
		t.Errorf("ledger size %d after rejected batches", n)
	}

	if compact(t, s) {
		checkStates("after compaction")
		checkRead("after compaction")
		must(t, s.Commit(ctx, &store.Batch{Readings: first[:3]}))
		wantErr(t, "conflict with a compacted reading", s.Commit(ctx, &store.Batch{Readings: []store.Reading{forged}}), store.ErrConflict)
		countReadings(t, s, "M-1", 5)
	}

	// A reading in the same batch twice is stored once.
	next := rd("M-1", 6, t0.Add(6*time.Minute), 130, total(1001.5))
	must(t, s.Commit(ctx, &store.Batch{Readings: []store.Reading{next, next}, LedgerSize: 131}))
	countReadings(t, s, "M-1", 6)
	st, _ := s.AdmissionStates(ctx)
	if st[0].Seq != 6 || st[0].Index != 130 {
		t.Errorf("state after seq 6: %+v", st[0])
	}
	if n, _ := s.LedgerSize(ctx); n != 131 {
		t.Errorf("ledger size %d, want 131", n)
	}
}

func countReadings(t *testing.T, s store.Store, m string, want int) {
	t.Helper()
	n := 0
	must(t, s.ScanReadings(context.Background(), store.ReadingQuery{Meter: m}, func(*store.Reading) error { n++; return nil }))
	if n != want {
		t.Errorf("%s has %d readings, want %d", m, n, want)
	}
}
