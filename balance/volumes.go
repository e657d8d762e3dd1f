package balance

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
// interval.
type PointBuckets struct {
	Point   string
	Buckets []BucketVolume
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
func PeriodVolumes(points []PointBuckets) (Volumes, map[string]float64) {
	vol := Volumes{}
	valid, total := map[string]int{}, map[string]int{}
	for _, p := range points {
		total[p.Point] += len(p.Buckets)
		for _, b := range p.Buckets {
			if b.Valid {
				vol[p.Point] += b.Value
				valid[p.Point]++
			}
		}
	}
	coverage := make(map[string]float64, len(total))
	for id, n := range total {
		coverage[id] = 0
		if n > 0 {
			coverage[id] = float64(valid[id]) / float64(n)
		}
	}
	return vol, coverage
}
