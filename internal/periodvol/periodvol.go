// Package periodvol reads a period's volume per metering point from the
// store: the one place the console and the balance alarm get volumes from.
// The rule turning buckets into volumes is balance.PeriodVolumes.
package periodvol

import (
	"context"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

// Interval is the bucket the period is read in. An hour is the finest
// grain the store answers from its hourly rollups once data is compacted:
// coverage then says which hours of a day had no reading, not only whether
// the whole day had one, at 1.3× the cost of one daily bucket, where 15
// minutes costs 5.5× (BenchmarkVolumesDay, 200 points of minute readings).
// A period not aligned to the hour gets partial first and last buckets.
const Interval = store.Interval(balance.PeriodBucket)

// Source is the part of the store Volumes reads.
type Source interface {
	Consumption(ctx context.Context, q store.ConsumptionQuery) ([]store.SeriesBuckets, error)
}

// Volumes returns the volume over [from, to) of every point with a volume
// channel, in one query, and each such point's coverage (the fraction of its
// buckets that were valid). A point with no valid bucket is absent from the
// volumes (see balance.PeriodVolumes); loc aligns the buckets, nil is the
// store's default.
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
	res, err := src.Consumption(ctx, store.ConsumptionQuery{Series: series, From: from, To: to, Interval: Interval, Location: loc})
	if err != nil {
		return nil, nil, err
	}
	vol, coverage := FromBuckets(res)
	return vol, coverage, nil
}

// FromBuckets turns the consumption buckets of a period, read on Interval,
// into each point's volume and coverage by balance.PeriodVolumes: the step
// Volumes takes after its query, for callers that read many enterprises in
// one query (internal/planuse).
func FromBuckets(res []store.SeriesBuckets) (balance.Volumes, map[string]float64) {
	in := make([]balance.PointBuckets, len(res))
	for i, sb := range res {
		in[i] = balance.PointBuckets{Point: sb.Series.Point, Buckets: make([]balance.BucketVolume, len(sb.Buckets))}
		for j, b := range sb.Buckets {
			in[i].Buckets[j] = balance.BucketVolume{Value: b.Value, Valid: b.Valid}
		}
	}
	return balance.PeriodVolumes(in)
}
