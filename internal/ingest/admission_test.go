package ingest

import (
	"math"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/reading"
)

func TestAdmit(t *testing.T) {
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	h1 := reading.HashOf([]byte("reading 1"))
	h2 := reading.HashOf([]byte("reading 2"))
	st := MeterState{Seq: 1, Hash: h1, Index: 7, Known: true}
	rd := func(seq uint64, prev reading.Hash, at time.Time) *reading.Reading {
		return &reading.Reading{Meter: "m", Seq: seq, Prev: prev, Time: at}
	}
	for _, tc := range []struct {
		name    string
		st      MeterState
		r       *reading.Reading
		h       reading.Hash
		verdict Verdict
		flags   store.Flags
		index   uint64
	}{
		{"first reading, no prev", MeterState{}, rd(1, reading.Hash{}, now), h1, Accept, 0, 0},
		{"first reading quoting unseen prev", MeterState{}, rd(5, h2, now), h1, Accept, store.FlagGap, 0},
		{"next in chain", st, rd(2, h1, now), h2, Accept, 0, 0},
		{"prev mismatch", st, rd(2, h2, now), h2, Accept, store.FlagGap, 0},
		{"seq skips", st, rd(4, h1, now), h2, Accept, store.FlagGap, 0},
		{"exact resubmission", st, rd(1, reading.Hash{}, now), h1, Duplicate, 0, 7},
		{"same seq, other bytes", st, rd(1, reading.Hash{}, now), h2, Stale, 0, 0},
		{"older seq", MeterState{Seq: 9, Hash: h1, Known: true}, rd(3, h1, now), h2, Stale, 0, 0},
		{"clock behind", st, rd(2, h1, now.Add(-11*time.Minute)), h2, Accept, store.FlagSkew, 0},
		{"clock ahead", st, rd(2, h1, now.Add(3*time.Minute)), h2, Accept, store.FlagSkew, 0},
		{"clock within window", st, rd(2, h1, now.Add(-9*time.Minute)), h2, Accept, 0, 0},
		{"gap and skew", st, rd(3, h2, now.Add(time.Hour)), h2, Accept, store.FlagGap | store.FlagSkew, 0},
		// Finding 6: a duration saturates, so year 9999 once passed unflagged.
		{"clock 290 years behind", st, rd(2, h1, time.Date(1736, 1, 1, 0, 0, 0, 0, time.UTC)), h2, Accept, store.FlagSkew, 0},
		{"clock a day ahead", st, rd(2, h1, now.Add(24*time.Hour)), h2, Accept, store.FlagSkew, 0},
		{"clock more than a day ahead", st, rd(2, h1, now.Add(24*time.Hour+time.Millisecond)), h2, Refuse, 0, 0},
		{"year 9999", st, rd(2, h1, time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)), h2, Refuse, 0, 0},
		{"seq jump at the bound", st, rd(1_000_001, h1, now), h2, Accept, store.FlagGap, 0},
		{"seq jump beyond", st, rd(1_000_002, h1, now), h2, Refuse, 0, 0},
		{"seq 2^64-1", st, rd(math.MaxUint64, h1, now), h2, Refuse, 0, 0},
		{"first reading, seq at the bound", MeterState{}, rd(1_000_000, reading.Hash{}, now), h1, Accept, 0, 0},
		{"first reading, seq 2^64-1", MeterState{}, rd(math.MaxUint64, reading.Hash{}, now), h1, Refuse, 0, 0},
	} {
		d := Admit(tc.st, tc.r, tc.h, now, DefaultPolicy)
		if d.Verdict != tc.verdict || d.Flags != tc.flags || d.Index != tc.index {
			t.Errorf("%s: got %+v, want verdict %d flags %v index %d", tc.name, d, tc.verdict, tc.flags.Names(), tc.index)
		}
	}
}

func TestPolicyDefaults(t *testing.T) {
	if got := (Policy{}).withDefaults(); got != DefaultPolicy {
		t.Errorf("zero policy: %+v, want %+v", got, DefaultPolicy)
	}
	p := Policy{SkewPast: time.Minute, MaxSeqJump: 10}.withDefaults()
	if p.SkewPast != time.Minute || p.SkewFuture != 0 || p.MaxAhead != DefaultPolicy.MaxAhead || p.MaxSeqJump != 10 {
		t.Errorf("partial policy: %+v", p)
	}
}
