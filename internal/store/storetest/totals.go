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
// Run includes it; a driver with a second way of reading totals runs it
// again under that way.
func ConsumptionTotals(t *testing.T, open Factory) {
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
			// check compares both paths over every period and returns the
			// number of multi-hour totals the store answered, and of months.
			check := func(when string) (int, int) {
				t.Helper()
				used, months, empty := 0, 0, 0
				for _, p := range periods {
					old, err := hourByHour(ctx, s, series, p[0], p[1], shanghai)
					must(t, err)
					direct, err := periodvol.Read(ctx, hoursOnly{s}, series, p[0], p[1], store.Hour, shanghai)
					must(t, err)
					pre, err := periodvol.Read(ctx, s, series, p[0], p[1], store.Hour, shanghai)
					must(t, err)
					for i, ser := range series {
						for path, got := range map[string][]store.SeriesTotals{"from totals": pre, "without totals": direct} {
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
								if path == "from totals" && tot.Valid > 0 { // the store's
									used++
									if tot.Intervals >= 28*24 {
										months++
									}
								}
								hours := slices.DeleteFunc(slices.Clone(old[i].Totals), func(h store.Total) bool {
									return h.Start.Before(tot.Start) || !h.End.After(tot.Start) || h.Start.Compare(tot.End) >= 0
								})
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
				if _, err := tr.ConsumptionTotals(ctx, store.ConsumptionQuery{Series: series, From: day(1), To: day(2), Interval: store.Day}); err == nil {
					t.Error("totals answered on a day grid")
				}
				return used, months
			}
			commit(arrivals)
			check("as committed")
			compact(t, s)
			if n, m := check("compacted"); n == 0 || m == 0 {
				t.Fatalf("%d pre-totals (%d of months) used after compaction", n, m)
			}
			commit(late)
			check("late readings uncompacted")
			compact(t, s)
			if n, m := check("late readings compacted"); n == 0 || m == 0 {
				t.Fatalf("%d pre-totals (%d of months) used after the late readings' compaction", n, m)
			}
		})
	}
}
