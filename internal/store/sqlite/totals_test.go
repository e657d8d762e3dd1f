package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
)

// TestTotalsBackfill: a store whose hours were compacted without
// pre-totals (the table emptied, as a store written before they existed)
// gets them back from compaction runs, a few points at a time.
func TestTotalsBackfill(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, Options{ManualCompaction: true, Location: cst})
	ids := setup(t, s, 3)
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, cst)
	var b store.Batch
	idx := uint64(0)
	for _, m := range ids {
		for k := 0; k <= 3*24*60; k += 7 {
			b.Readings = append(b.Readings, mkReading(m, k, start, idx))
			idx++
		}
	}
	b.LedgerSize = idx
	if err := s.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Compact(ctx))
	count := func() int {
		var n int
		must(s.r.QueryRowContext(ctx, `SELECT count(*) FROM consumption_day_totals`).Scan(&n))
		return n
	}
	want := count()
	if want != 3*2 { // three points, two closed days each (the third has no reading after it)
		t.Fatalf("%d day totals after compaction, want 6", want)
	}
	_, err := s.w.ExecContext(ctx, `DELETE FROM consumption_day_totals`)
	must(err)
	s.compactMu.Lock()
	s.backfill = backfillCursor{}
	s.compactMu.Unlock()
	must(s.backfillStep(ctx, 2))
	if n := count(); n != 4 {
		t.Errorf("%d day totals after back-filling two points, want 4", n)
	}
	must(s.Compact(ctx)) // nothing to compact: the back-fill goes on
	if n := count(); n != want {
		t.Errorf("%d day totals after the back-fill, want %d", n, want)
	}
}

// FuzzDecodeTotal: a stored total's bytes decode to a total or an error,
// never a panic, and a decoded total encodes back to what decodes to the
// same figures (the sum's partials may be regrouped, its value not).
func FuzzDecodeTotal(f *testing.F) {
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, cst)
	t := store.Total{Start: day, End: day.AddDate(0, 0, 1), Intervals: 24, Valid: 2,
		FirstValid: day.Add(time.Hour), LastValid: day.Add(5 * time.Hour), FirstValue: 1.5, LastValue: 0.25}
	t.Sum.Add(1.5)
	t.Sum.Add(0.25)
	f.Add(encodeTotal(42, t))
	f.Add(encodeTotal(-1, store.Total{Start: day, End: day.AddDate(0, 0, 1), Intervals: 24}))
	f.Add([]byte{0})
	start, end := day.UnixMilli(), day.AddDate(0, 0, 1).UnixMilli()
	f.Fuzz(func(t *testing.T, data []byte) {
		tot, stamp, err := decodeTotal(data, start, end, cst)
		if err != nil {
			return
		}
		if tot.Valid > tot.Intervals {
			t.Fatalf("%d valid of %d", tot.Valid, tot.Intervals)
		}
		again := encodeTotal(stamp, tot)
		back, stamp2, err := decodeTotal(again, start, end, cst)
		if err != nil || stamp2 != stamp || back.Intervals != tot.Intervals || back.Valid != tot.Valid || !back.FirstValid.Equal(tot.FirstValid) ||
			!back.LastValid.Equal(tot.LastValid) || back.FirstValue != tot.FirstValue || back.LastValue != tot.LastValue || back.Sum.Value() != tot.Sum.Value() {
			t.Fatalf("re-encoded total differs: %v", err)
		}
	})
}
