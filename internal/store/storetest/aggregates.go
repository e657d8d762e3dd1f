package storetest

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

// sample is one value as the test generated it.
type sample struct {
	meter string
	t     int64
	seq   uint64
	v     float64
}

// bounds returns bucket boundaries of [from, to) for a fixed-offset zone.
func bounds(from, to time.Time, iv store.Interval) []int64 {
	d := map[store.Interval]int64{store.Min15: 900_000, store.Hour: 3_600_000, store.Day: 86_400_000}[iv]
	const off = 8 * 3_600_000
	a, b := from.UnixMilli(), to.UnixMilli()
	out := []int64{a}
	for x := ((a+off)/d+1)*d - off; x < b; x += d {
		out = append(out, x)
	}
	return append(out, b)
}

// dedup keeps one sample per (meter, time): the lowest seq.
func dedup(ss []sample) []sample {
	ss = slices.Clone(ss)
	slices.SortFunc(ss, func(a, b sample) int {
		if c := cmp.Compare(a.meter, b.meter); c != 0 {
			return c
		}
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	return slices.CompactFunc(ss, func(a, b sample) bool { return a.meter == b.meter && a.t == b.t })
}

// expectRate computes a rate channel's buckets from the samples.
func expectRate(ss []sample, bs []int64, fn store.Fn) []store.Bucket {
	out := make([]store.Bucket, len(bs)-1)
	lastT := make([]int64, len(out))
	for k := range out {
		out[k].Start = time.UnixMilli(bs[k])
	}
	for _, s := range dedup(ss) {
		k, found := slices.BinarySearch(bs, s.t)
		if !found {
			k--
		}
		if k < 0 || k >= len(out) {
			continue
		}
		b := &out[k]
		if b.N == 0 {
			b.Value, lastT[k] = s.v, s.t
		} else {
			switch fn {
			case store.Min:
				b.Value = min(b.Value, s.v)
			case store.Max:
				b.Value = max(b.Value, s.v)
			case store.Sum, store.Avg:
				b.Value += s.v
			case store.Last:
				if s.t >= lastT[k] {
					b.Value, lastT[k] = s.v, s.t
				}
			}
		}
		b.N++
		b.Valid = true
	}
	if fn == store.Avg {
		for k := range out {
			if out[k].N > 0 {
				out[k].Value /= float64(out[k].N)
			}
		}
	}
	return out
}

func sameBuckets(t *testing.T, what string, got, want []store.Bucket, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d buckets, want %d", what, len(got), len(want))
	}
	for k := range want {
		g, w := got[k], want[k]
		if !g.Start.Equal(w.Start) || g.N != w.N || g.Valid != w.Valid || math.Abs(g.Value-w.Value) > tol*max(1, math.Abs(w.Value)) {
			t.Fatalf("%s: bucket %d (%s): got %+v, want %+v", what, k, w.Start.In(shanghai), g, w)
		}
	}
}

// testAggregates checks avg, min, max, last and sum of a rate channel on a
// point served by two meters in turn, with duplicates and late data, on 15m,
// 1h and 1d grids and raw, from the head, from chunks and summaries, and
// from both at once.
func testAggregates(t *testing.T, s store.Store) {
	ctx := context.Background()
	fixture(t, s)
	must(t, s.CreateMeter(ctx, newMeter(t, "M-5", "PT-4"))) // replaces M-4 on day 3
	r := rand.New(rand.NewPCG(21, 22))
	var ss []sample
	seqs := map[string]uint64{}
	var idx uint64
	var pending []store.Reading
	add := func(m string, at time.Time, v float64) {
		seqs[m]++
		idx++
		pending = append(pending, rd(m, seqs[m], at, idx, flow(v)))
		ss = append(ss, sample{m, at.UnixMilli(), seqs[m], v})
	}
	flush := func() {
		must(t, s.Commit(ctx, &store.Batch{Readings: pending}))
		pending = nil
	}
	check := func(when string) {
		t.Helper()
		from, to := day(1).Add(7*time.Minute), day(5)
		for _, iv := range []store.Interval{store.Min15, store.Hour, store.Day} {
			bs := bounds(from, to, iv)
			for _, fn := range []store.Fn{store.Avg, store.Min, store.Max, store.Last, store.Sum} {
				for _, ser := range []store.Series{{Point: "PT-4", Channel: "flow_m3h"}, {Meter: "M-4", Channel: "flow_m3h"}} {
					var want []store.Bucket
					if ser.Point != "" {
						want = expectRate(ss, bs, fn)
					} else {
						var m4 []sample
						for _, x := range ss {
							if x.meter == "M-4" {
								m4 = append(m4, x)
							}
						}
						want = expectRate(m4, bs, fn)
					}
					got, err := s.Aggregate(ctx, store.AggregateQuery{Series: ser, From: from, To: to, Interval: iv, Fn: fn})
					must(t, err)
					sameBuckets(t, when+" "+ser.String()+" "+string(iv)+" "+string(fn), got, want, 1e-9)
				}
			}
		}
		raw, err := s.Aggregate(ctx, store.AggregateQuery{Series: store.Series{Point: "PT-4", Channel: "flow_m3h"}, From: day(2), To: day(2).Add(time.Hour), Interval: store.Raw, Fn: store.Last})
		must(t, err)
		var want []sample
		for _, x := range dedup(ss) {
			if x.t >= day(2).UnixMilli() && x.t < day(2).Add(time.Hour).UnixMilli() {
				want = append(want, x)
			}
		}
		slices.SortStableFunc(want, func(a, b sample) int { return cmp.Compare(a.t, b.t) })
		if len(raw) != len(want) {
			t.Fatalf("%s: raw: %d buckets, want %d", when, len(raw), len(want))
		}
		for i := range want {
			if raw[i].Start.UnixMilli() != want[i].t || raw[i].Value != want[i].v || !raw[i].Valid {
				t.Fatalf("%s: raw bucket %d: %+v, want %+v", when, i, raw[i], want[i])
			}
		}
	}

	// Days 1-2 on M-4 every ~5 min; duplicates under new seqs.
	for at := day(1); at.Before(day(3)); at = at.Add(time.Duration(240+r.IntN(120)) * time.Second) {
		at = at.Truncate(time.Millisecond)
		add("M-4", at, math.Round(r.Float64()*1000)/10)
		if r.IntN(40) == 0 {
			add("M-4", at, 999) // replayed time, other value: the first one counts
		}
	}
	flush()
	check("head only")
	compact(t, s)
	check("compacted")
	// Days 3-4 on M-5; M-4 sends two late readings into day 2.
	for at := day(3); at.Before(day(5)); at = at.Add(time.Duration(240+r.IntN(120)) * time.Second) {
		add("M-5", at.Truncate(time.Millisecond), math.Round(r.Float64()*1000)/10)
	}
	add("M-4", day(2).Add(13*time.Hour+17*time.Second), 55.5)
	add("M-4", day(2).Add(23*time.Hour+59*time.Minute), 0.5)
	flush()
	check("compacted and head")
	compact(t, s)
	check("compacted again")

	wantErr(t, "delta on a rate", errOf(s.Aggregate(ctx, store.AggregateQuery{Series: store.Series{Point: "PT-4", Channel: "flow_m3h"}, From: day(1), To: day(2), Interval: store.Day, Fn: store.Delta})), store.ErrInvalid)
	wantErr(t, "empty range", errOf(s.Aggregate(ctx, store.AggregateQuery{Series: store.Series{Point: "PT-4", Channel: "flow_m3h"}, From: day(2), To: day(2), Interval: store.Day, Fn: store.Avg})), store.ErrInvalid)
	wantErr(t, "both meter and point", errOf(s.Aggregate(ctx, store.AggregateQuery{Series: store.Series{Meter: "M-4", Point: "PT-4", Channel: "flow_m3h"}, From: day(1), To: day(2), Interval: store.Day, Fn: store.Avg})), store.ErrInvalid)
	wantErr(t, "unknown interval", errOf(s.Aggregate(ctx, store.AggregateQuery{Series: store.Series{Point: "PT-4", Channel: "flow_m3h"}, From: day(1), To: day(2), Interval: "5m", Fn: store.Avg})), store.ErrInvalid)
	wantErr(t, "unknown point", errOf(s.Aggregate(ctx, store.AggregateQuery{Series: store.Series{Point: "PT-NONE", Channel: "flow_m3h"}, From: day(1), To: day(2), Interval: store.Day, Fn: store.Avg})), store.ErrNotFound)
}

// testIntervalTotals: daily frozen volumes stamped at local midnight belong
// to the day that ended; delta and sum of an interval channel add them.
func testIntervalTotals(t *testing.T, s store.Store) {
	ctx := context.Background()
	fixture(t, s)
	vols := []float64{120.5, 130.25, 99, 101.75}
	var rs []store.Reading
	for i, v := range vols {
		rs = append(rs, rd("M-1", uint64(i+1), day(2+i), uint64(i), store.Value{Channel: "vol_day_m3", Value: v}))
	}
	must(t, s.Commit(ctx, &store.Batch{Readings: rs[:2]}))
	compact(t, s)
	must(t, s.Commit(ctx, &store.Batch{Readings: rs[2:]}))
	for _, fn := range []store.Fn{store.Delta, store.Sum} {
		for _, iv := range []store.Interval{store.Day, store.Hour} {
			got, err := s.Aggregate(ctx, store.AggregateQuery{Series: store.Series{Point: "PT-1", Channel: "vol_day_m3"}, From: day(1), To: day(5), Interval: iv, Fn: fn})
			must(t, err)
			for i, v := range vols {
				d := day(1 + i)
				if got := sumDay(got, d); got != v {
					t.Errorf("%s %s: day %s = %v, want %v (the volume stamped at the next midnight)", fn, iv, d.Format("01-02"), got, v)
				}
			}
		}
	}
	// Redefined as a rate, the same stored readings belong to the day they
	// are stamped in: summaries built under the old definition must not be
	// used.
	compact(t, s)
	p, err := s.Point(ctx, "PT-1")
	must(t, err)
	for i := range p.Channels {
		if p.Channels[i].Name == "vol_day_m3" {
			p.Channels[i].Kind = meter.Rate
		}
	}
	must(t, s.UpdatePoint(ctx, p))
	got, err := s.Aggregate(ctx, store.AggregateQuery{Series: store.Series{Point: "PT-1", Channel: "vol_day_m3"}, From: day(1), To: day(6), Interval: store.Day, Fn: store.Sum})
	must(t, err)
	for i, v := range vols {
		if got[i+1].Value != v || got[i+1].N != 1 {
			t.Errorf("as a rate: day %d = %+v, want %v", i+2, got[i+1], v)
		}
	}
	if got[0].Valid {
		t.Errorf("as a rate: day 1 = %+v, want no value", got[0])
	}
}

func sumDay(bs []store.Bucket, d time.Time) float64 {
	var s float64
	for _, b := range bs {
		if b.Valid && !b.Start.Before(d) && b.Start.Before(d.AddDate(0, 0, 1)) {
			s += b.Value
		}
	}
	return s
}
