package balance

import (
	"maps"
	"testing"

	"github.com/shuixiao/shuixiao/meter"
)

func TestPeriodVolumes(t *testing.T) {
	v := func(x float64) BucketVolume { return BucketVolume{Value: x, Valid: true} }
	gap := BucketVolume{Value: 99, Valid: false} // an invalid bucket's value never counts
	for _, c := range []struct {
		name     string
		in       []PointBuckets
		vol      Volumes
		coverage map[string]float64
	}{
		{"empty", nil, Volumes{}, map[string]float64{}},
		{"all valid", []PointBuckets{{Point: "A", Buckets: []BucketVolume{v(1), v(2.5), v(0)}}},
			Volumes{"A": 3.5}, map[string]float64{"A": 1}},
		{"some invalid", []PointBuckets{{Point: "A", Buckets: []BucketVolume{gap, v(2), v(3), gap}}},
			Volumes{"A": 5}, map[string]float64{"A": 0.5}},
		{"none valid is absent, not zero", []PointBuckets{{Point: "A", Buckets: []BucketVolume{gap, gap}}, {Point: "B", Buckets: []BucketVolume{v(0)}}},
			Volumes{"B": 0}, map[string]float64{"A": 0, "B": 1}},
		{"no buckets is absent", []PointBuckets{{Point: "A"}},
			Volumes{}, map[string]float64{"A": 0}},
		{"repeated point pools its buckets", []PointBuckets{{Point: "A", Buckets: []BucketVolume{v(1), gap}}, {Point: "A", Buckets: []BucketVolume{v(2), v(3)}}},
			Volumes{"A": 6}, map[string]float64{"A": 0.75}},
	} {
		vol, cov := PeriodVolumes(c.in)
		if !maps.Equal(vol, c.vol) {
			t.Errorf("%s: volumes %v, want %v", c.name, vol, c.vol)
		}
		if !maps.Equal(cov, c.coverage) {
			t.Errorf("%s: coverage %v, want %v", c.name, cov, c.coverage)
		}
	}
}

// An absent point is missing to Evaluate: the figures that need it are left
// out instead of computed with zero.
func TestPeriodVolumesAbsentIsMissing(t *testing.T) {
	pts := []meter.Point{pt("IN", 1, meter.StageIntake, meter.SourceGround, ""), pt("U", 2, meter.StageUse, "", "IN")}
	vol, _ := PeriodVolumes([]PointBuckets{
		{Point: "IN", Buckets: []BucketVolume{{Value: 10, Valid: true}}},
		{Point: "U", Buckets: []BucketVolume{{Valid: false}}},
	})
	r := Evaluate(pts, vol, Options{Settings: DefaultSettings()})
	if !r.Intake.OK || r.Intake.Value != 10 {
		t.Errorf("intake %+v, want 10", r.Intake)
	}
	if r.Level2.OK || r.MeteringRatio.OK || len(r.Missing) != 1 || r.Missing[0] != "U" {
		t.Errorf("level 2 %+v, metering ratio %+v, missing %v: want U missing and both absent", r.Level2, r.MeteringRatio, r.Missing)
	}
}
