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
func Fill(ctx context.Context, src Source, sts []store.SeriesTotals, from, to time.Time, iv store.Interval, loc *time.Location) error {
	type gap struct{ from, to int64 }
	gaps := map[gap][]int{} // the series each stretch is read for
	for i, st := range sts {
		cursor := from
		for _, t := range st.Totals {
			if t.Start.After(cursor) {
				g := gap{cursor.UnixMilli(), t.Start.UnixMilli()}
				gaps[g] = append(gaps[g], i)
			}
			cursor = t.End
		}
		if to.After(cursor) {
			g := gap{cursor.UnixMilli(), to.UnixMilli()}
			gaps[g] = append(gaps[g], i)
		}
	}
	keys := make([]gap, 0, len(gaps))
	for g := range gaps {
		keys = append(keys, g)
	}
	slices.SortFunc(keys, func(a, b gap) int { return cmp.Compare(a.from, b.from) })
	for _, g := range keys {
		idx := gaps[g]
		q := store.ConsumptionQuery{From: time.UnixMilli(g.from), To: time.UnixMilli(g.to), Interval: iv, Location: loc}
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
	}
	for i := range sts {
		if !slices.IsSortedFunc(sts[i].Totals, byStart) {
			slices.SortFunc(sts[i].Totals, byStart)
		}
	}
	return nil
}

func byStart(a, b store.Total) int { return a.Start.Compare(b.Start) }
