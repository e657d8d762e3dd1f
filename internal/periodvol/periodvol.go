// Package periodvol reads a period's volume per metering point from the
// store: the one place the console, the balance alarm and the province
// roll-up get volumes from. The rule turning intervals into volumes is
// balance.PeriodVolumes.
//
// A period is read on the hour grid (Interval). Where the store keeps
// consumption pre-totals of whole local days and months
// (store.TotalsReader), those are read instead of their hours, and only the
// ragged edges — and days without a current total — hour by hour; the
// volumes are the same to the last bit (balance.PeriodVolumes sums
// exactly).
package periodvol

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/aggregate"
	"github.com/shuixiao/shuixiao/meter"
)

// Interval is the bucket the period is read in. An hour is the finest
// grain the store answers from its hourly rollups once data is compacted:
// coverage then says which hours of a day had no reading, not only whether
// the whole day had one, at 1.3× the cost of one daily bucket, where 15
// minutes costs 5.5× (BenchmarkVolumesDay, 200 points of minute readings).
// A period not aligned to the hour gets partial first and last buckets.
const Interval = store.Interval(balance.PeriodBucket)

// Source is the part of the store Volumes reads. A Source that is also a
// store.TotalsReader has its pre-totals used.
type Source interface {
	Consumption(ctx context.Context, q store.ConsumptionQuery) ([]store.SeriesBuckets, error)
}

// Volumes returns the volume over [from, to) of every point with a volume
// channel, and each such point's coverage (the fraction of its hours that
// were valid). A point with no valid hour is absent from the volumes (see
// balance.PeriodVolumes); loc aligns the buckets, nil is the store's
// default.
func Volumes(ctx context.Context, src Source, points []meter.Point, from, to time.Time, loc *time.Location) (balance.Volumes, map[string]float64, error) {
	var series []store.Series
	for _, p := range points {
		if ch, ok := balance.VolumeChannel(p); ok {
			series = append(series, store.Series{Point: p.ID, Channel: ch})
		}
	}
	if len(series) == 0 {
		return balance.Volumes{}, map[string]float64{}, nil
	}
	res, err := Read(ctx, src, series, from, to, Interval, loc)
	if err != nil {
		return nil, nil, err
	}
	vol, coverage := FromTotals(res)
	return vol, coverage, nil
}

// FromTotals turns what Read returns into each point's volume and
// coverage by balance.PeriodVolumes: the step Volumes takes after reading.
func FromTotals(res []store.SeriesTotals) (balance.Volumes, map[string]float64) {
	in := make([]balance.PointBuckets, len(res))
	for i, st := range res {
		in[i] = balance.PointBuckets{Point: st.Series.Point, Totals: IntervalTotals(st.Totals)}
	}
	return balance.PeriodVolumes(in)
}

// IntervalTotals turns totals into the period-volume rule's input.
func IntervalTotals(ts []store.Total) []balance.IntervalTotal {
	out := make([]balance.IntervalTotal, len(ts))
	for i, t := range ts {
		out[i] = balance.IntervalTotal{Intervals: t.Intervals, Valid: t.Valid, Sum: t.Sum}
	}
	return out
}

// Read returns the consumption of each series over [from, to) on the grid
// of iv as totals in time order that cover the period without overlap: on
// the hour grid, the store's current pre-totals where it has them and one
// total per hour bucket elsewhere; on another grid, one per bucket.
func Read(ctx context.Context, src Source, series []store.Series, from, to time.Time, iv store.Interval, loc *time.Location) ([]store.SeriesTotals, error) {
	sts, err := Totals(ctx, src, series, from, to, iv, loc)
	if err != nil {
		return nil, err
	}
	return sts, Fill(ctx, src, sts, from, to, iv, loc)
}

// Totals returns, for each series, the store's current pre-totals inside
// [from, to): none when src keeps none or iv is not the hour. Fill
// completes them.
func Totals(ctx context.Context, src Source, series []store.Series, from, to time.Time, iv store.Interval, loc *time.Location) ([]store.SeriesTotals, error) {
	tr, ok := src.(store.TotalsReader)
	if !ok || iv != store.Hour {
		out := make([]store.SeriesTotals, len(series))
		for i, s := range series {
			out[i].Series = s
		}
		return out, nil
	}
	tots, err := tr.ConsumptionTotals(ctx, store.ConsumptionQuery{Series: series, From: from, To: to, Interval: iv, Location: loc})
	if err != nil {
		return nil, err
	}
	if len(tots) != len(series) {
		return nil, fmt.Errorf("periodvol: %d series of totals for %d", len(tots), len(series))
	}
	return tots, nil
}

// Fill reads, bucket by bucket on the grid of iv, the time of [from, to)
// each series' totals leave uncovered, in as few Consumption queries as
// there are distinct stretches, and adds one total per bucket, in time
// order.
//
// On the hour grid of a known zone (loc not nil) a stretch of months is
// read by month first, the first and last month of each run of months with
// a value then by day, and only the days with a value (and the months
// between a run's first and last) hour by hour: a bucket without value has
// no hour with one (a reading pair's consumption goes to every bucket its
// span overlaps, an interval total to the bucket it ends in), so a month
// or day without value
// is added as totals of its hours, none valid — what its hours one by one
// would give the period-volume rule, at no cost per hour. A series' empty
// history (before its first reading, after its last, a meter added
// mid-year) is then a few totals, not thousands of buckets.
func Fill(ctx context.Context, src Source, sts []store.SeriesTotals, from, to time.Time, iv store.Interval, loc *time.Location) error {
	gaps := map[stretch][]int{} // the series each stretch is read for
	for i, st := range sts {
		cursor := from
		for _, t := range st.Totals {
			if t.Start.After(cursor) {
				g := stretch{cursor.UnixMilli(), t.Start.UnixMilli()}
				gaps[g] = append(gaps[g], i)
			}
			cursor = t.End
		}
		if to.After(cursor) {
			g := stretch{cursor.UnixMilli(), to.UnixMilli()}
			gaps[g] = append(gaps[g], i)
		}
	}
	var levels []store.Interval
	if iv == store.Hour && loc != nil {
		levels = []store.Interval{store.Month, store.Day}
	}
	if err := fillStretches(ctx, src, sts, gaps, iv, loc, levels); err != nil {
		return err
	}
	for i := range sts {
		if !slices.IsSortedFunc(sts[i].Totals, byStart) {
			slices.SortFunc(sts[i].Totals, byStart)
		}
	}
	return nil
}

// stretch is a range of time, Unix ms.
type stretch struct{ from, to int64 }

// minProbe is how many buckets of a coarser grid a stretch must span for
// it to be read on that grid first: a shorter one costs more in queries
// than its empty buckets would.
const minProbe = 2

// fillStretches reads each stretch for its series (indexes into sts) on
// the first of levels where the stretch spans enough of its buckets, then
// the runs of its buckets with a value: a run's first and last bucket on
// the next level, the buckets between (where readings are on both sides, so
// every hour but of a point's meter gap has a value) on iv. Without a
// level, or a stretch too short for it, it reads on iv.
func fillStretches(ctx context.Context, src Source, sts []store.SeriesTotals, gaps map[stretch][]int, iv store.Interval, loc *time.Location, levels []store.Interval) error {
	keys := make([]stretch, 0, len(gaps))
	for g := range gaps {
		keys = append(keys, g)
	}
	slices.SortFunc(keys, func(a, b stretch) int { return cmp.Compare(a.from, b.from) })
	edges, inner := map[stretch][]int{}, map[stretch][]int{} // the runs to read on the next level, on iv
	for _, g := range keys {
		idx := gaps[g]
		read := iv
		if len(levels) > 0 && spans(g, levels[0], loc) {
			read = levels[0]
		}
		q := store.ConsumptionQuery{From: time.UnixMilli(g.from), To: time.UnixMilli(g.to), Interval: read, Location: loc}
		for _, i := range idx {
			q.Series = append(q.Series, sts[i].Series)
		}
		res, err := src.Consumption(ctx, q)
		if err != nil {
			return err
		}
		if len(res) != len(idx) {
			return fmt.Errorf("periodvol: %d series of buckets for %d", len(res), len(idx))
		}
		if read == iv {
			for k, sb := range res {
				i := idx[k]
				for j, b := range sb.Buckets {
					end := q.To
					if j+1 < len(sb.Buckets) {
						end = sb.Buckets[j+1].Start
					}
					sts[i].Totals = append(sts[i].Totals, aggregate.HourTotal(b, end))
				}
			}
			continue
		}
		// The buckets without value are added as hours none of which is
		// valid; the runs of those with one are read again.
		empty := map[int64][]store.Total{} // by bucket start
		for k, sb := range res {
			i := idx[k]
			var run []stretch // the run's buckets
			flush := func() {
				switch {
				case len(run) == 0:
				case len(levels) < 2:
					inner[stretch{run[0].from, run[len(run)-1].to}] = append(inner[stretch{run[0].from, run[len(run)-1].to}], i)
				default:
					first, last := run[0], run[len(run)-1]
					edges[first] = append(edges[first], i)
					if len(run) > 1 {
						edges[last] = append(edges[last], i)
					}
					if len(run) > 2 {
						mid := stretch{first.to, last.from}
						inner[mid] = append(inner[mid], i)
					}
				}
				run = run[:0]
			}
			for j, b := range sb.Buckets {
				bk := stretch{b.Start.UnixMilli(), g.to}
				if j+1 < len(sb.Buckets) {
					bk.to = sb.Buckets[j+1].Start.UnixMilli()
				}
				if b.Valid {
					run = append(run, bk)
					continue
				}
				flush()
				ts, ok := empty[bk.from]
				if !ok {
					if ts, err = emptyHours(time.UnixMilli(bk.from), time.UnixMilli(bk.to), loc); err != nil {
						return err
					}
					empty[bk.from] = ts
				}
				sts[i].Totals = append(sts[i].Totals, ts...)
			}
			flush()
		}
	}
	if len(edges) > 0 {
		if err := fillStretches(ctx, src, sts, edges, iv, loc, levels[1:]); err != nil {
			return err
		}
	}
	if len(inner) > 0 {
		return fillStretches(ctx, src, sts, inner, iv, loc, nil)
	}
	return nil
}

// spans reports whether g is long enough to be read on grid iv first.
func spans(g stretch, iv store.Interval, loc *time.Location) bool {
	a := time.UnixMilli(g.from).In(loc)
	switch iv {
	case store.Month:
		return !a.AddDate(0, minProbe, 0).After(time.UnixMilli(g.to))
	case store.Day:
		return !a.AddDate(0, 0, minProbe).After(time.UnixMilli(g.to))
	}
	return false
}

// emptyHours returns the hours of [from, to) on the hour grid of loc as
// totals none of which is valid: the whole hours as one, a partial hour at
// either end (from or to off the grid) as its own, as reading them one by
// one and merging would give.
func emptyHours(from, to time.Time, loc *time.Location) ([]store.Total, error) {
	g, err := aggregate.NewGrid(from, to, store.Hour, loc)
	if err != nil {
		return nil, err
	}
	b := g.Bounds
	var out []store.Total
	add := func(i, j int) { // buckets i … j-1
		if j > i {
			out = append(out, store.Total{Start: g.Time(b[i]), End: g.Time(b[j]), Intervals: j - i})
		}
	}
	lo, hi := 0, len(b)-1
	const hour = int64(time.Hour / time.Millisecond)
	if b[1]-b[0] != hour {
		add(0, 1)
		lo = 1
	}
	if hi > lo && b[hi]-b[hi-1] != hour {
		hi--
		add(lo, hi)
		add(hi, hi+1)
	} else {
		add(lo, hi)
	}
	return out, nil
}

func byStart(a, b store.Total) int { return a.Start.Compare(b.Start) }
