package storetest

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/internal/periodvol"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/aggregate"
)

// hoursOnly hides a store's pre-totals: periodvol then reads the whole
// period with Consumption (months and days without value at once).
type hoursOnly struct{ s store.Store }

// hourByHour reads every hour of [from, to) of each series with one
// Consumption query: the reference every other path must agree with.
func hourByHour(ctx context.Context, s store.Store, series []store.Series, from, to time.Time, loc *time.Location) ([]store.SeriesTotals, error) {
	res, err := s.Consumption(ctx, store.ConsumptionQuery{Series: series, From: from, To: to, Interval: store.Hour, Location: loc})
	if err != nil {
		return nil, err
	}
	out := make([]store.SeriesTotals, len(res))
	for i, sb := range res {
		out[i].Series = series[i]
		for j, b := range sb.Buckets {
			end := to
			if j+1 < len(sb.Buckets) {
				end = sb.Buckets[j+1].Start
			}
			out[i].Totals = append(out[i].Totals, aggregate.HourTotal(b, end))
		}
	}
	return out, nil
}

func (h hoursOnly) Consumption(ctx context.Context, q store.ConsumptionQuery) ([]store.SeriesBuckets, error) {
	return h.s.Consumption(ctx, q)
}

// ConsumptionTotals tests that the volumes of a period read from the store's day
// and month pre-totals (and the hours at their edges), or with the months
// and days without value read at once, are those read hour by hour, to the
// last bit, with their coverage — on random data with
// rollovers, resets, 20-hour gaps, two meters on one point, a partial first
// and last day, an interval-total channel, readings arriving out of order
// and late, before and after compaction, over periods with months of no
// reading before and after the data. Every total equals the hours it
// stands for.
//
// Run includes it. A driver with a second way of reading totals passes it
// as a TotalsWay: every check then reads the same store state that way
// too, against the same hours.
func ConsumptionTotals(t *testing.T, open Factory, ways ...TotalsWay) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			s := open(t)
			tr, ok := s.(store.TotalsReader)
			if !ok {
				t.Fatal("the store does not implement store.TotalsReader")
			}
			ctx := context.Background()
			fixture(t, s)
			must(t, s.CreateMeter(ctx, newMeter(t, "M-6", "PT-1"))) // replaces M-1 on day 9
			r := rand.New(rand.NewPCG(seed, 7))
			truth := map[string][]truthReading{
				"M-1": generate(r, day(1).Add(7*time.Hour+13*time.Minute), day(9).Add(10*time.Hour), 9_985_000, 2),
				"M-6": generate(r, day(9).Add(11*time.Hour), day(14).Add(3*time.Hour), 500_000, 1),
				"M-2": generate(r, day(2).Add(30*time.Minute), day(14), 100_000, 1),
				"M-3": generate(r, day(1), day(13).Add(23*time.Hour), 9_999_000, 0),
				// Past a whole month, for month totals.
				"M-4": generate(r, day(1).Add(-50*time.Hour), day(1).AddDate(0, 1, 1), 2_000_000, 1),
			}
			type arrival struct {
				m string
				i int
			}
			var arrivals []arrival
			for _, m := range []string{"M-1", "M-2", "M-3", "M-4", "M-6"} {
				for i := range truth[m] {
					arrivals = append(arrivals, arrival{m, i})
				}
			}
			slices.SortStableFunc(arrivals, func(a, b arrival) int { return cmp.Compare(truth[a.m][a.i].t, truth[b.m][b.i].t) })
			for k := 0; k+10 <= len(arrivals); k += 10 {
				w := arrivals[k : k+10]
				r.Shuffle(len(w), func(i, j int) { w[i], w[j] = w[j], w[i] })
			}
			// Some readings are held back and arrive after compaction, days
			// late.
			// Held back: readings near local midnights (they move
			// consumption between days) and the first after each gap.
			var late []arrival
			for i := 0; i < len(arrivals); {
				a := arrivals[i]
				tod := (truth[a.m][a.i].t + 8*3600_000) % 86_400_000
				nearMidnight := tod < 40*60_000 || tod > 86_400_000-40*60_000
				afterGap := a.i > 0 && truth[a.m][a.i].t-truth[a.m][a.i-1].t > 3600_000
				if nearMidnight && r.IntN(3) == 0 || afterGap || r.IntN(150) == 0 {
					late = append(late, arrivals[i])
					arrivals = slices.Delete(arrivals, i, i+1)
					continue
				}
				i++
			}
			seqs := map[string]uint64{}
			idx := uint64(0)
			commit := func(as []arrival) {
				var batch []store.Reading
				for k, a := range as {
					seqs[a.m]++
					idx++
					tr := truth[a.m][a.i]
					vals := []store.Value{total(tr.v)}
					if a.m == "M-1" && tr.t%3 == 0 {
						vals = append(vals, store.Value{Channel: "vol_day_m3", Value: float64(tr.cum%977) / 10})
					}
					batch = append(batch, rd(a.m, seqs[a.m], time.UnixMilli(tr.t), idx, vals...))
					if len(batch) == 200 || k == len(as)-1 {
						must(t, s.Commit(ctx, &store.Batch{Readings: batch}))
						batch = nil
					}
				}
			}
			series := []store.Series{{Point: "PT-1", Channel: "total_m3"}, {Point: "PT-1", Channel: "vol_day_m3"},
				{Point: "PT-2", Channel: "total_m3"}, {Point: "PT-3", Channel: "total_m3"}, {Point: "PT-4", Channel: "total_m3"}}
			periods := [][2]time.Time{
				{day(1), day(15)},
				{day(2).Add(5*time.Hour + 20*time.Minute), day(12).Add(17*time.Hour + 30*time.Minute)},
				{day(3), day(4)},
				{day(1).Add(-48 * time.Hour), day(30)},
				{time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)},
				{day(1), day(1).AddDate(0, 1, 0)},
				{day(1).Add(-30 * time.Hour), day(1).AddDate(0, 1, 1).Add(time.Hour)},
				// Months without any reading before and after the data.
				{time.Date(2026, 1, 1, 0, 0, 0, 0, shanghai), time.Date(2027, 3, 1, 0, 0, 0, 0, shanghai)},
				{day(1).AddDate(0, -4, 0).Add(90 * time.Minute), day(1).AddDate(0, 2, 0).Add(-20 * time.Minute)},
			}
			// The ways the pre-totals are read: the store's own and the
			// driver's others.
			readers := []totalsPath{{"from totals", tr.(totalsSource)}}
			for _, w := range ways {
				readers = append(readers, totalsPath{"from totals, " + w.Name, w.Wrap(s)})
			}
			// check compares every path over every period and returns, for
			// each way of reading the pre-totals, the number of multi-hour
			// totals the store answered, and of months.
			check := func(when string) (used, months []int) {
				t.Helper()
				used, months = make([]int, len(readers)), make([]int, len(readers))
				empty := 0
				for _, p := range periods {
					old, err := hourByHour(ctx, s, series, p[0], p[1], shanghai)
					must(t, err)
					for i := range old {
						if !inOrder(old[i].Totals) {
							t.Fatalf("%s %s %s–%s: hours out of order", when, series[i], p[0], p[1])
						}
					}
					direct, err := periodvol.Read(ctx, hoursOnly{s}, series, p[0], p[1], store.Hour, shanghai)
					must(t, err)
					paths := []string{"without totals"}
					read := [][]store.SeriesTotals{direct}
					for _, rd := range readers {
						pre, err := periodvol.Read(ctx, rd.src, series, p[0], p[1], store.Hour, shanghai)
						must(t, err)
						paths = append(paths, rd.name)
						read = append(read, pre)
					}
					for i, ser := range series {
						for k, path := range paths {
							got := read[k]
							ov, oc := balance.PeriodVolumes([]balance.PointBuckets{{Point: ser.Point, Totals: periodvol.IntervalTotals(old[i].Totals)}})
							nv, nc := balance.PeriodVolumes([]balance.PointBuckets{{Point: ser.Point, Totals: periodvol.IntervalTotals(got[i].Totals)}})
							if ov[ser.Point] != nv[ser.Point] || oc[ser.Point] != nc[ser.Point] {
								t.Errorf("%s %s %s–%s: %s %v (coverage %v), hour by hour %v (%v)", when, ser,
									p[0].In(shanghai), p[1].In(shanghai), path, nv[ser.Point], nc[ser.Point], ov[ser.Point], oc[ser.Point])
							}
							// The hours behind every total, one by one.
							var cursor time.Time
							for _, tot := range got[i].Totals {
								if tot.Start.Before(cursor) {
									t.Fatalf("%s %s: totals overlap at %v", when, ser, tot.Start)
								}
								cursor = tot.End
								if tot.Intervals == 1 {
									continue
								}
								if tot.Valid == 0 {
									empty++
								}
								if k > 0 && tot.Valid > 0 { // the store's
									used[k-1]++
									if tot.Intervals >= 28*24 {
										months[k-1]++
									}
								}
								hours := hoursOf(old[i].Totals, tot)
								want := hours[0]
								for _, h := range hours[1:] {
									want = aggregate.Merge(want, h)
								}
								if want.Intervals != tot.Intervals || !want.Start.Equal(tot.Start) || !want.End.Equal(tot.End) || want.Valid != tot.Valid || want.Sum.Value() != tot.Sum.Value() ||
									!want.FirstValid.Equal(tot.FirstValid) || !want.LastValid.Equal(tot.LastValid) ||
									want.FirstValue != tot.FirstValue || want.LastValue != tot.LastValue {
									t.Errorf("%s %s %s total %v–%v: %d/%d hours Σ %v, first %v %v last %v %v; the hours: %d/%d Σ %v, %v %v, %v %v",
										when, ser, path, tot.Start, tot.End, tot.Valid, tot.Intervals, tot.Sum.Value(), tot.FirstValid, tot.FirstValue, tot.LastValid, tot.LastValue,
										want.Valid, want.Intervals, want.Sum.Value(), want.FirstValid, want.FirstValue, want.LastValid, want.LastValue)
								}
							}
						}
					}
				}
				if empty == 0 {
					t.Errorf("%s: no months or days without value read at once", when)
				}
				// Totals are answered only on the hour grid.
				for _, rd := range readers {
					if _, err := rd.src.ConsumptionTotals(ctx, store.ConsumptionQuery{Series: series, From: day(1), To: day(2), Interval: store.Day}); err == nil {
						t.Errorf("%s: totals answered on a day grid", rd.name)
					}
				}
				return used, months
			}
			// usedAll requires every way to have answered from pre-totals,
			// months among them.
			usedAll := func(when string, n, m []int) {
				t.Helper()
				for k, rd := range readers {
					if n[k] == 0 || m[k] == 0 {
						t.Fatalf("%s: %d pre-totals (%d of months) used %s", rd.name, n[k], m[k], when)
					}
				}
			}
			commit(arrivals)
			check("as committed")
			compact(t, s)
			n, m := check("compacted")
			usedAll("after compaction", n, m)
			commit(late)
			check("late readings uncompacted")
			compact(t, s)
			n, m = check("late readings compacted")
			usedAll("after the late readings' compaction", n, m)
		})
	}
}

// TotalsWay is a second way a driver reads its pre-totals: Wrap returns
// the store reading them that way (its Consumption the store's own).
type TotalsWay struct {
	Name string
	Wrap func(store.Store) interface {
		periodvol.Source
		store.TotalsReader
	}
}

// totalsSource is a store read through its pre-totals.
type totalsSource interface {
	periodvol.Source
	store.TotalsReader
}

// totalsPath is one way of reading pre-totals, named for the errors.
type totalsPath struct {
	name string
	src  totalsSource
}

// inOrder reports whether hours are sorted by start, as hoursOf needs.
func inOrder(hours []store.Total) bool {
	for i := 1; i < len(hours); i++ {
		if hours[i].Start.Before(hours[i-1].Start) {
			return false
		}
	}
	return true
}

// hoursOf returns the hours (sorted by start) that start within tot and
// end after its start: the hours tot stands for. It finds them by
// binary search, not by filtering every hour of the period for every total:
// under the race detector that copy was most of the suite's time.
func hoursOf(hours []store.Total, tot store.Total) []store.Total {
	lo, _ := slices.BinarySearchFunc(hours, tot.Start, func(h store.Total, t time.Time) int { return h.Start.Compare(t) })
	hi, _ := slices.BinarySearchFunc(hours, tot.End, func(h store.Total, t time.Time) int { return h.Start.Compare(t) })
	hi = max(hi, lo)
	return slices.DeleteFunc(slices.Clone(hours[lo:hi]), func(h store.Total) bool { return !h.End.After(tot.Start) })
}
