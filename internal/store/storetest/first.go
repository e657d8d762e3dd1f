package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
)

// testFirstReadings checks store.FirstReader: each point's earliest
// reading by device time, of any of its meters, to the millisecond, before
// and after compaction, a late reading earlier than the rest and a
// replacement meter's included; a point without readings is absent.
func testFirstReadings(t *testing.T, s store.Store) {
	ctx := context.Background()
	fr, ok := s.(store.FirstReader)
	if !ok {
		t.Fatal("the store does not implement store.FirstReader")
	}
	fixture(t, s)
	check := func(when string, want map[string]time.Time) {
		t.Helper()
		got, err := fr.FirstReadings(ctx)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d points %v, want %d %v", when, len(got), got, len(want), want)
		}
		for p, w := range want {
			if g, ok := got[p]; !ok || !g.Equal(w) {
				t.Errorf("%s: %s first reading %v, want %v", when, p, g, w)
			}
		}
	}
	check("empty", map[string]time.Time{})
	ms := time.Millisecond
	t1 := day(3).Add(10*time.Hour + 7*ms)
	t0 := day(2).Add(23*time.Hour + 59*time.Minute + 999*ms) // arrives second
	t2 := day(5).Add(time.Hour)
	must(t, s.Commit(ctx, &store.Batch{LedgerSize: 3, Readings: []store.Reading{
		rd("M-1", 1, t1, 0, total(10)),
		rd("M-1", 2, t0, 1, total(9)),
		rd("M-2", 1, t2, 2, total(5), flow(1)),
	}}))
	want := map[string]time.Time{"PT-1": t0, "PT-2": t2}
	check("committed", want)
	if compact(t, s) {
		check("compacted", want)
	}
	// Later: a late reading of M-2 before its others, and a replacement
	// meter of PT-1 whose first reading is before M-1's.
	must(t, s.CreateMeter(ctx, newMeter(t, "M-6", "PT-1")))
	late, repl := day(4).Add(3*ms), day(1).Add(12*time.Hour)
	must(t, s.Commit(ctx, &store.Batch{LedgerSize: 5, Readings: []store.Reading{
		rd("M-2", 2, late, 3, total(4)),
		rd("M-6", 1, repl, 4, total(100)),
	}}))
	want = map[string]time.Time{"PT-1": repl, "PT-2": late}
	check("late and replaced", want)
	if compact(t, s) {
		check("late and replaced, compacted", want)
	}
}
