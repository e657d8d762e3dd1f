package storetest

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
)

// testManySeries: a Consumption (and ConsumptionTotals) query of many
// series at once answers each series exactly as a query of it alone — to
// the last bit, in the order asked — whether the series has readings,
// hour summaries, pre-totals, readings not yet compacted or nothing at all,
// two meters, or is asked twice; a series that cannot be read fails the
// whole query.
func testManySeries(t *testing.T, s store.Store) {
	ctx := context.Background()
	fixture(t, s)
	must(t, s.CreateMeter(ctx, newMeter(t, "M-5", "PT-2"))) // a second meter on PT-2
	seqs := map[string]uint64{}
	idx := uint64(0)
	var batch []store.Reading
	add := func(m string, at time.Time, vals ...store.Value) {
		seqs[m]++
		idx++
		batch = append(batch, rd(m, seqs[m], at, idx, vals...))
	}
	flush := func() {
		must(t, s.Commit(ctx, &store.Batch{Readings: batch}))
		batch = nil
	}
	// M-1: every 20 minutes over days 1–5, a daily-volume total every
	// 3 hours; M-2 on days 2–3 and M-5 on day 4 (the same point); M-3
	// none; M-4 every 6 hours across a month boundary.
	for at := day(1).Add(10 * time.Minute); at.Before(day(6)); at = at.Add(20 * time.Minute) {
		k := at.Sub(day(1)).Minutes()
		vals := []store.Value{total(1000 + 0.37*k), flow(3)}
		if int(k)%180 == 10 {
			vals = append(vals, store.Value{Channel: "vol_day_m3", Value: float64(int(k)%977) / 10})
		}
		add("M-1", at, vals...)
	}
	for at := day(2).Add(5 * time.Minute); at.Before(day(4)); at = at.Add(30 * time.Minute) {
		add("M-2", at, total(50+0.11*at.Sub(day(2)).Minutes()))
	}
	for at := day(4).Add(time.Hour); at.Before(day(5)); at = at.Add(45 * time.Minute) {
		add("M-5", at, total(99990+0.2*at.Sub(day(4)).Minutes())) // rolls over at 99999.99
	}
	for at := day(20); at.Before(day(1).AddDate(0, 1, 10)); at = at.Add(6 * time.Hour) {
		add("M-4", at, total(7+0.013*at.Sub(day(20)).Minutes()))
	}
	flush()
	compact(t, s)
	// Late readings, not compacted: dirty hours inside pre-totals.
	for at := day(6).Add(7 * time.Minute); at.Before(day(7)); at = at.Add(40 * time.Minute) {
		add("M-1", at, total(1000+0.37*at.Sub(day(1)).Minutes()))
	}
	add("M-4", day(1).AddDate(0, 1, 0).Add(13*time.Hour+time.Minute), total(7+0.013*day(1).AddDate(0, 1, 0).Add(13*time.Hour+time.Minute).Sub(day(20)).Minutes()))
	flush()

	series := []store.Series{
		{Point: "PT-3", Channel: "total_m3"}, // no reading at all
		{Point: "PT-1", Channel: "total_m3"},
		{Meter: "M-2", Channel: "total_m3"},
		{Point: "PT-4", Channel: "total_m3"},
		{Point: "PT-1", Channel: "vol_day_m3"},
		{Point: "PT-2", Channel: "total_m3"}, // two meters
		{Point: "PT-4", Channel: "total_m3"}, // asked twice
		{Meter: "M-3", Channel: "total_m3"},
		{Meter: "M-5", Channel: "total_m3"},
	}
	periods := [][2]time.Time{
		{day(1), day(8)},
		{day(2).Add(90 * time.Minute), day(4).Add(20 * time.Minute)},
		{day(1).AddDate(0, -2, 0), day(1).AddDate(0, 2, 0)},
		{day(15), day(1).AddDate(0, 1, 5)},
	}
	sameBuckets := func(a, b []store.Bucket) bool {
		return slices.EqualFunc(a, b, func(x, y store.Bucket) bool {
			return x.Start.Equal(y.Start) && x.N == y.N && x.Valid == y.Valid && math.Float64bits(x.Value) == math.Float64bits(y.Value)
		})
	}
	sameTotals := func(a, b []store.Total) bool {
		return slices.EqualFunc(a, b, func(x, y store.Total) bool {
			return x.Start.Equal(y.Start) && x.End.Equal(y.End) && x.Intervals == y.Intervals && x.Valid == y.Valid &&
				math.Float64bits(x.Sum.Value()) == math.Float64bits(y.Sum.Value()) && slices.Equal(x.Sum.Partials(), y.Sum.Partials()) &&
				x.FirstValid.Equal(y.FirstValid) && x.LastValid.Equal(y.LastValid) &&
				math.Float64bits(x.FirstValue) == math.Float64bits(y.FirstValue) && math.Float64bits(x.LastValue) == math.Float64bits(y.LastValue)
		})
	}
	valid := 0
	for _, p := range periods {
		for _, iv := range []store.Interval{store.Min15, store.Hour, store.Day, store.Month} {
			q := store.ConsumptionQuery{Series: series, From: p[0], To: p[1], Interval: iv, Location: shanghai}
			all, err := s.Consumption(ctx, q)
			must(t, err)
			if len(all) != len(series) {
				t.Fatalf("%s %v–%v: %d series answered, want %d", iv, p[0], p[1], len(all), len(series))
			}
			for i, ser := range series {
				one, err := s.Consumption(ctx, store.ConsumptionQuery{Series: []store.Series{ser}, From: p[0], To: p[1], Interval: iv, Location: shanghai})
				must(t, err)
				if all[i].Series != ser || !sameBuckets(all[i].Buckets, one[0].Buckets) {
					t.Errorf("%s %v–%v: series %d %s among many %v, alone %v", iv, p[0], p[1], i, ser, all[i], one[0])
				}
				for _, b := range all[i].Buckets {
					if b.Valid {
						valid++
					}
				}
			}
		}
		tr, ok := s.(store.TotalsReader)
		if !ok {
			continue
		}
		q := store.ConsumptionQuery{Series: series, From: p[0], To: p[1], Interval: store.Hour, Location: shanghai}
		all, err := tr.ConsumptionTotals(ctx, q)
		must(t, err)
		for i, ser := range series {
			one, err := tr.ConsumptionTotals(ctx, store.ConsumptionQuery{Series: []store.Series{ser}, From: p[0], To: p[1], Interval: store.Hour, Location: shanghai})
			must(t, err)
			if all[i].Series != ser || !sameTotals(all[i].Totals, one[0].Totals) {
				t.Errorf("totals %v–%v: series %d %s among many %v, alone %v", p[0], p[1], i, ser, all[i], one[0])
			}
		}
	}
	if valid == 0 {
		t.Fatal("no bucket with a value: the check compares nothing")
	}
	// A series that cannot be read fails the query, wherever it is.
	bad := slices.Insert(slices.Clone(series), 3, store.Series{Point: "PT-NONE", Channel: "total_m3"})
	if _, err := s.Consumption(ctx, store.ConsumptionQuery{Series: bad, From: day(1), To: day(2), Interval: store.Hour}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("many series with an unknown point: %v, want ErrNotFound", err)
	}
	bad[3] = store.Series{Meter: "M-NONE", Channel: "total_m3"}
	if _, err := s.Consumption(ctx, store.ConsumptionQuery{Series: bad, From: day(1), To: day(2), Interval: store.Hour}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("many series with an unknown meter: %v, want ErrNotFound", err)
	}
	bad[3] = store.Series{Point: "PT-1", Channel: "flow_m3h"} // a rate has no consumption
	if _, err := s.Consumption(ctx, store.ConsumptionQuery{Series: bad, From: day(1), To: day(2), Interval: store.Hour}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("many series with a rate: %v, want ErrInvalid", err)
	}
}
