package balance

import engine "github.com/shuixiao/shuixiao/consumption"

// PeriodBucket is the width of the intervals a period's volumes are read
// in ("1h", a consumption.Interval and a store.Interval), so that coverage
// says which hours had no reading. The platform (internal/periodvol) and
// the independent verifier (verify.Balance) both read periods in it.
const PeriodBucket = "1h"

// BucketVolume is the consumption at one point over one interval of the
// period (m³). Valid is false when the interval has no value: no readings
// bound it, so nothing is known about what flowed.
type BucketVolume struct {
	Value float64
	Valid bool
}

// PointBuckets is one point's consumption over a period, interval by
// interval, and in runs of intervals summed beforehand (Totals).
type PointBuckets struct {
	Point   string
	Buckets []BucketVolume
	// Totals stand for runs of intervals of the period summed beforehand:
	// the day and month pre-totals a store keeps, so that a long period is
	// not read hour by hour. Each counts as the intervals it stands for.
	Totals []IntervalTotal
}

// IntervalTotal is a run of consecutive intervals of one point summed: how
// many there are, how many were valid, and the exact sum of the valid ones'
// values.
type IntervalTotal struct {
	Intervals, Valid int
	Sum              engine.Sum
}

// PeriodVolumes is the one rule turning per-interval consumption into the
// period's volume per point, with each point's coverage: the fraction of its
// intervals that were valid (0 for a point with no intervals).
//
// The rule for gaps: a point with no valid interval is absent from Volumes,
// never zero, so Compute and Evaluate list it as missing and Evaluate leaves
// out every figure that needs it. A point with some valid intervals gets the
// sum of those; its coverage below 1 says that sum is a lower bound, and a
// caller that must not judge on partial data (the balance alarm) checks it.
// A point listed more than once has its intervals pooled.
//
// The sum is exact, rounded once (consumption.Sum): the volume does not
// depend on whether the intervals came one by one or as pre-totals of days
// and months, nor on their order.
func PeriodVolumes(points []PointBuckets) (Volumes, map[string]float64) {
	// One accumulator per point, in order of first appearance.
	type acc struct {
		point        string
		sum          engine.Sum
		valid, total int
	}
	accs := make([]acc, 0, len(points))
	at := make(map[string]int, len(points))
	for _, p := range points {
		k, ok := at[p.Point]
		if !ok {
			k = len(accs)
			at[p.Point] = k
			accs = append(accs, acc{point: p.Point})
		}
		a := &accs[k]
		a.total += len(p.Buckets)
		for _, b := range p.Buckets {
			if b.Valid {
				a.sum.Add(b.Value)
				a.valid++
			}
		}
		for _, t := range p.Totals {
			a.total += t.Intervals
			if t.Valid > 0 {
				a.sum.AddSum(t.Sum)
				a.valid += t.Valid
			}
		}
	}
	vol := make(Volumes, len(accs))
	coverage := make(map[string]float64, len(accs))
	for i := range accs {
		a := &accs[i]
		coverage[a.point] = 0
		if a.total > 0 {
			coverage[a.point] = float64(a.valid) / float64(a.total)
		}
		if a.valid > 0 {
			vol[a.point] = a.sum.Value()
		}
	}
	return vol, coverage
}
