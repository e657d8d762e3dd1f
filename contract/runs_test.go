package contract

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/meter"
)

// TestRunIntakesEqualsPeriodIntakes: the same hours summed beforehand in
// runs of random lengths (a day, a month, single hours) give every
// period's intake and coverage to the last bit, as the platform's
// pre-totals must give what `verify savings` recomputes hour by hour.
func TestRunIntakesEqualsPeriodIntakes(t *testing.T) {
	boundary := []meter.Point{{ID: "A"}, {ID: "B"}}
	start := month(2024, 1)
	end := month(2024, 4)
	n := int(end.Sub(start) / Hourly)
	rng := rand.New(rand.NewPCG(1, 2))
	buckets := map[string][]balance.BucketVolume{}
	runs := map[string][]Run{}
	for _, p := range boundary {
		bs := make([]balance.BucketVolume, n)
		for i := range bs {
			// Values of very different magnitudes: a plain float sum would
			// depend on the grouping.
			bs[i] = balance.BucketVolume{Value: rng.Float64() * math.Pow(10, float64(rng.IntN(12)-4)), Valid: rng.IntN(10) > 0}
		}
		if p.ID == "B" { // B silent on 10 January
			for i := 9 * 24; i < 10*24; i++ {
				bs[i].Valid = false
			}
		}
		buckets[p.ID] = bs
		// Runs: whole days, and February as one month, hours elsewhere;
		// 20 January left uncovered (no run at all).
		var rs []Run
		add := func(from, to time.Time) {
			r := Run{From: from, To: to}
			for i := int(from.Sub(start) / Hourly); i < int(to.Sub(start)/Hourly); i++ {
				r.Total.Intervals++
				if bs[i].Valid {
					r.Total.Valid++
					r.Total.Sum.Add(bs[i].Value)
				}
			}
			rs = append(rs, r)
		}
		for d := start; d.Before(end); {
			switch {
			case d.Equal(month(2024, 2)):
				add(d, month(2024, 3))
				d = month(2024, 3)
			case d.Day() == 20 && d.Month() == time.January:
				d = d.AddDate(0, 0, 1)
			case d.Day()%3 == 0:
				for h := range 24 {
					add(d.Add(time.Duration(h)*Hourly), d.Add(time.Duration(h+1)*Hourly))
				}
				d = d.AddDate(0, 0, 1)
			default:
				add(d, d.AddDate(0, 0, 1))
				d = d.AddDate(0, 0, 1)
			}
		}
		runs[p.ID] = rs
	}
	// 20 January uncovered by runs counts as invalid hours: the buckets
	// must say the same for the comparison.
	for _, p := range boundary {
		for i := 19 * 24; i < 20*24; i++ {
			buckets[p.ID][i].Valid = false
		}
	}
	for _, g := range []Granularity{Daily, Monthly} {
		periods := Periods(Span{From: start, To: end}, g)
		want := PeriodIntakes(boundary, start, buckets, periods)
		got, err := RunIntakes(boundary, runs, periods)
		if g == Daily {
			// February is one run: a daily model cannot use it.
			if err == nil || !strings.Contains(err.Error(), "crosses") {
				t.Fatalf("daily periods over a month's run: %v, want it refused", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if math.Float64bits(got[i].M3) != math.Float64bits(want[i].M3) || got[i].Coverage != want[i].Coverage ||
				strings.Join(got[i].Missing, ",") != strings.Join(want[i].Missing, ",") {
				t.Errorf("%s period %d: runs %+v, buckets %+v", g, i, got[i], want[i])
			}
		}
	}
	// Daily periods of January: every day, 10 and 20 January included.
	jan := Periods(Span{From: start, To: month(2024, 2)}, Daily)
	want := PeriodIntakes(boundary, start, buckets, jan)
	got, err := RunIntakes(boundary, runs, jan)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if math.Float64bits(got[i].M3) != math.Float64bits(want[i].M3) || got[i].Coverage != want[i].Coverage ||
			strings.Join(got[i].Missing, ",") != strings.Join(want[i].Missing, ",") {
			t.Errorf("January day %d: runs %+v, buckets %+v", i+1, got[i], want[i])
		}
	}
	if got[19].Coverage != 0 || len(got[19].Missing) != 2 || got[9].Coverage != 0 || len(got[9].Missing) != 1 {
		t.Errorf("20 January (no run) %+v, 10 January (B silent) %+v", got[19], got[9])
	}
}
