package balance

import (
	"math"
	"math/rand/v2"
	"testing"
)

// JoinPeriods over parts read separately equals PeriodVolumes over the
// whole, for random gaps (a point silent in a part, a point silent
// throughout).
func TestJoinPeriodsEqualsPeriodVolumes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		points := []string{"a", "b", "c"}
		lens := []int{1 + r.IntN(30), 1 + r.IntN(30), 1 + r.IntN(5)}
		whole := make([]PointBuckets, len(points))
		var parts []PeriodPart
		for _, n := range lens {
			part := make([]PointBuckets, len(points))
			for i, id := range points {
				part[i].Point = id
				for range n {
					b := BucketVolume{Value: math.Round(r.Float64()*100) / 4, Valid: r.IntN(4) > 0}
					if id == "c" || (id == "b" && n == lens[1]) {
						b.Valid = id == "b" && r.IntN(2) == 0 && trial%2 == 0 // c never; b sometimes not at all in part 2
					}
					part[i].Buckets = append(part[i].Buckets, b)
				}
				whole[i].Point = id
				whole[i].Buckets = append(whole[i].Buckets, part[i].Buckets...)
			}
			v, c := PeriodVolumes(part)
			parts = append(parts, PeriodPart{Volumes: v, Coverage: c, Intervals: n})
		}
		wantV, wantC := PeriodVolumes(whole)
		gotV, gotC := JoinPeriods(parts)
		if len(gotV) != len(wantV) {
			t.Fatalf("trial %d: volumes %v, want %v", trial, gotV, wantV)
		}
		for id, w := range wantV {
			if math.Abs(gotV[id]-w) > 1e-9 {
				t.Fatalf("trial %d: %s %g, want %g", trial, id, gotV[id], w)
			}
		}
		for id, w := range wantC {
			if math.Abs(gotC[id]-w) > 1e-12 {
				t.Fatalf("trial %d: coverage %s %g, want %g", trial, id, gotC[id], w)
			}
		}
	}
}
