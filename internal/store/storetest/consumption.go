package storetest

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
)

// testConsumptionGolden works one point through a rollover, a gap, a reset
// and a meter replacement, with readings arriving shuffled, duplicated and
// late, and checks the daily consumption against numbers worked by hand.
func testConsumptionGolden(t *testing.T, s store.Store) {
	ctx := context.Background()
	fixture(t, s)
	must(t, s.CreateMeter(ctx, newMeter(t, "M-6", "PT-1"))) // replaces M-1
	at := func(d, h, m int) time.Time {
		return day(d).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	// Register values and, in comments, the consumption each step adds.
	m1 := []struct {
		t time.Time
		v float64
	}{
		{at(1, 23, 0), 99995.00}, // seq 1 (arrives first)
		{at(1, 22, 0), 99990.00}, // seq 2: out of order; 22:00→23:00 +5 to day 1
		{at(2, 12, 0), 25.00},    // seq 3
		{at(2, 1, 0), 3.00},      // seq 4: wrapped at 100000: +8 over 2 h, 4 to day 1, 4 to day 2; then +22 to day 2
		{at(2, 12, 0), 25.00},    // seq 5: the same reading again under a new seq
		{at(4, 6, 0), 1.50},      // seq 6: reset (see seq 8): +1.5 to day 4
		{at(4, 12, 0), 4.00},     // seq 7: +2.5 to day 4
		{at(4, 0, 0), 73.00},     // seq 8: late; gap from day 2 12:00: +48 over 36 h, 16 to day 2, 32 to day 3
		{at(1, 22, 30), 99992.5}, // seq 9: 72 h late, inside day 1: changes nothing in the totals
	}
	m6 := []struct {
		t time.Time
		v float64
	}{
		{at(5, 8, 0), 5020.00},  // seq 1
		{at(4, 14, 0), 5000.00}, // seq 2: new meter, new base
		{at(5, 2, 0), 5012.00},  // seq 3: +12 over 12 h, 10 to day 4, 2 to day 5; then +8 to day 5
	}
	var r1, r6 []store.Reading
	for i, x := range m1 {
		r1 = append(r1, rd("M-1", uint64(i+1), x.t, uint64(10+i), total(x.v)))
	}
	for i, x := range m6 {
		r6 = append(r6, rd("M-6", uint64(i+1), x.t, uint64(30+i), total(x.v)))
	}
	want := map[store.Series][]float64{
		{Point: "PT-1", Channel: "total_m3"}: {9, 42, 32, 14, 10},
		{Meter: "M-1", Channel: "total_m3"}:  {9, 42, 32, 4, 0},
		{Meter: "M-6", Channel: "total_m3"}:  {0, 0, 0, 10, 10},
	}
	check := func(when string, complete bool) {
		t.Helper()
		var sers []store.Series
		for ser := range want {
			sers = append(sers, ser)
		}
		slices.SortFunc(sers, func(a, b store.Series) int { return cmp.Compare(a.String(), b.String()) })
		for _, iv := range []store.Interval{store.Day, store.Hour, store.Min15} {
			res, err := s.Consumption(ctx, store.ConsumptionQuery{Series: sers, From: day(1), To: day(6), Interval: iv})
			must(t, err)
			for i, ser := range sers {
				if res[i].Series != ser {
					t.Fatalf("%s: result %d is %v, want %v", when, i, res[i].Series, ser)
				}
				if !complete {
					continue
				}
				for d, w := range want[ser] {
					if got := sumDay(res[i].Buckets, day(d+1)); math.Abs(got-w) > 1e-6 {
						t.Errorf("%s %s %s: day %d = %.9f, want %v", when, iv, ser, d+1, got, w)
					}
				}
			}
		}
		// Aggregate with fn=delta agrees with Consumption.
		got, err := s.Aggregate(ctx, store.AggregateQuery{Series: store.Series{Point: "PT-1", Channel: "total_m3"}, From: day(1), To: day(6), Interval: store.Day, Fn: store.Delta})
		must(t, err)
		if complete {
			for d, w := range want[store.Series{Point: "PT-1", Channel: "total_m3"}] {
				if math.Abs(got[d].Value-w) > 1e-6 || !got[d].Valid {
					t.Errorf("%s aggregate delta day %d = %+v, want %v", when, d+1, got[d], w)
				}
			}
			if got[2].N != 0 || !got[2].Valid {
				t.Errorf("%s: day 3 has no readings but an estimated consumption: %+v", when, got[2])
			}
		}
	}
	must(t, s.Commit(ctx, &store.Batch{Readings: r1[:5]}))
	must(t, s.Commit(ctx, &store.Batch{Readings: r6[:1]}))
	check("head", false)
	compact(t, s)
	must(t, s.Commit(ctx, &store.Batch{Readings: r1[5:8]}))
	must(t, s.Commit(ctx, &store.Batch{Readings: r6[1:2]}))
	compact(t, s)
	must(t, s.Commit(ctx, &store.Batch{Readings: r6[2:]}))
	check("partly compacted", true)
	compact(t, s)
	must(t, s.Commit(ctx, &store.Batch{Readings: r1[8:]}))
	check("late reading in the head", true)
	compact(t, s)
	check("all compacted", true)

	// Raw deltas: each reading's consumption since the previous one.
	raw, err := s.Aggregate(ctx, store.AggregateQuery{Series: store.Series{Meter: "M-1", Channel: "total_m3"}, From: at(1, 22, 15), To: at(2, 2, 0), Interval: store.Raw, Fn: store.Delta})
	must(t, err)
	wantRaw := []float64{2.5, 2.5, 8}
	if len(raw) != len(wantRaw) {
		t.Fatalf("raw deltas: %+v", raw)
	}
	for i, w := range wantRaw {
		if math.Abs(raw[i].Value-w) > 1e-6 || !raw[i].Valid {
			t.Errorf("raw delta %d = %+v, want %v", i, raw[i], w)
		}
	}
}

// truthMeter generates a meter's register readings with the consumption
// that really happened: the register counts hundredths of m³ and wraps at
// 100000.00; it may be reset to zero, stop reporting for a while, and start
// from any base.
type truthReading struct {
	t   int64
	v   float64
	cum int64 // true consumption since the meter's first reading, 0.01 m³
}

func generate(r *rand.Rand, start, end time.Time, base int64, resets int) []truthReading {
	const modulus = 10_000_000
	var out []truthReading
	reg, cum := base, int64(0)
	resetAt := map[int]bool{}
	for i := 0; i < resets; i++ {
		resetAt[50+r.IntN(1500)] = true
	}
	for t := start; t.Before(end); t = t.Add(time.Duration(240+r.IntN(120)) * time.Second) {
		if r.IntN(400) == 0 {
			t = t.Add(20 * time.Hour) // a gap
			if !t.Before(end) {
				break
			}
		}
		if len(out) > 0 {
			inc := int64(r.IntN(300))
			cum += inc
			if resetAt[len(out)] && reg > 2000 && reg < modulus/2 {
				reg = 0 // reset just after the previous reading
			}
			reg = (reg + inc) % modulus
		}
		out = append(out, truthReading{t: t.Truncate(time.Millisecond).UnixMilli(), v: float64(reg) / 100, cum: cum})
	}
	return out
}

// expected interpolates a meter's true consumption over [a, b).
func expected(tr []truthReading, a, b int64) float64 {
	at := func(x int64) float64 {
		switch {
		case x <= tr[0].t:
			return 0
		case x >= tr[len(tr)-1].t:
			return float64(tr[len(tr)-1].cum) / 100
		}
		i, _ := slices.BinarySearchFunc(tr, x, func(r truthReading, x int64) int { return cmp.Compare(r.t, x) })
		f := float64(x-tr[i-1].t) / float64(tr[i].t-tr[i-1].t)
		return (float64(tr[i-1].cum) + f*float64(tr[i].cum-tr[i-1].cum)) / 100
	}
	return at(b) - at(a)
}

// testConsumptionProperties: random totalisers on one point (a meter
// replaced by another with a new base) arrive shuffled, duplicated and late,
// interleaved with compactions; daily, hourly and 15-minute consumption must
// match the truth interpolated at bucket edges, and Σ daily must be the true
// total within 1e-6 m³.
func testConsumptionProperties(t *testing.T, open Factory) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			s := open(t)
			ctx := context.Background()
			fixture(t, s)
			must(t, s.CreateMeter(ctx, newMeter(t, "M-6", "PT-1")))
			r := rand.New(rand.NewPCG(seed, 99))
			truth := map[string][]truthReading{
				"M-1": generate(r, day(1), day(5).Add(10*time.Hour), 9_985_000, 2),
				"M-6": generate(r, day(5).Add(11*time.Hour), day(8), 500_000, 1),
			}
			type arrival struct {
				m string
				i int
			}
			var arrivals []arrival
			for _, m := range []string{"M-1", "M-6"} {
				n := len(truth[m])
				for i := 0; i < n; i++ {
					arrivals = append(arrivals, arrival{m, i})
				}
			}
			slices.SortStableFunc(arrivals, func(a, b arrival) int { return cmp.Compare(truth[a.m][a.i].t, truth[b.m][b.i].t) })
			// Shuffle within windows, resend some, and hold a block back 72 h.
			for k := 0; k+10 <= len(arrivals); k += 10 {
				w := arrivals[k : k+10]
				r.Shuffle(len(w), func(i, j int) { w[i], w[j] = w[j], w[i] })
			}
			for i := 0; i < 40; i++ {
				arrivals = append(arrivals, arrivals[r.IntN(len(arrivals))])
			}
			late := 864 // readings about three days before the end
			held := slices.Clone(arrivals[len(arrivals)-late-30 : len(arrivals)-late])
			arrivals = append(slices.Delete(arrivals, len(arrivals)-late-30, len(arrivals)-late), held...)

			seqs := map[string]uint64{}
			var batch []store.Reading
			for k, a := range arrivals {
				seqs[a.m]++
				tr := truth[a.m][a.i]
				batch = append(batch, rd(a.m, seqs[a.m], time.UnixMilli(tr.t), uint64(k), total(tr.v)))
				if len(batch) == 100 || k == len(arrivals)-1 {
					must(t, s.Commit(ctx, &store.Batch{Readings: batch}))
					batch = nil
					if k%(300*int(seed)+100) < 100 {
						compact(t, s)
					}
				}
			}
			check := func(when string) {
				sers := []store.Series{{Point: "PT-1", Channel: "total_m3"}, {Meter: "M-1", Channel: "total_m3"}, {Meter: "M-6", Channel: "total_m3"}}
				for _, iv := range []store.Interval{store.Day, store.Hour} {
					res, err := s.Consumption(ctx, store.ConsumptionQuery{Series: sers, From: day(1), To: day(9), Interval: iv})
					must(t, err)
					for i, ser := range sers {
						meters := []string{ser.Meter}
						if ser.Point != "" {
							meters = []string{"M-1", "M-6"}
						}
						var sum, want float64
						bs := res[i].Buckets
						for k, b := range bs {
							end := day(9).UnixMilli()
							if k+1 < len(bs) {
								end = bs[k+1].Start.UnixMilli()
							}
							var w float64
							for _, m := range meters {
								w += expected(truth[m], b.Start.UnixMilli(), end)
							}
							if math.Abs(b.Value-w) > 1e-6 {
								t.Fatalf("%s %s %s bucket %s: %.9f, want %.9f", when, iv, ser, b.Start.In(shanghai), b.Value, w)
							}
							sum += b.Value
						}
						for _, m := range meters {
							want += float64(truth[m][len(truth[m])-1].cum) / 100
						}
						if math.Abs(sum-want) > 1e-6 {
							t.Fatalf("%s %s %s: Σ %.9f, true total %.9f", when, iv, ser, sum, want)
						}
					}
				}
				// 15-minute buckets of one day.
				got, err := s.Aggregate(ctx, store.AggregateQuery{Series: store.Series{Point: "PT-1", Channel: "total_m3"}, From: day(3), To: day(4), Interval: store.Min15, Fn: store.Delta})
				must(t, err)
				for k, b := range got {
					w := expected(truth["M-1"], b.Start.UnixMilli(), b.Start.Add(15*time.Minute).UnixMilli())
					if math.Abs(b.Value-w) > 1e-6 {
						t.Fatalf("%s 15m bucket %d: %.9f, want %.9f", when, k, b.Value, w)
					}
				}
			}
			check("as committed")
			compact(t, s)
			check("all compacted")
		})
	}
}
