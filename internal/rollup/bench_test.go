package rollup

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/target"
)

// benchEnterprises is the number of enterprises of 100 points the month
// benchmarks build (SHUIXIAO_BENCH_ENTERPRISES, default 10: 1,000 series of
// 15-minute data, 2.9 million readings). The province is 5,000
// (500,000 series); the store is built reading by reading, so its size is
// bounded by the time the build takes.
func benchEnterprises(b *testing.B) int {
	if v := os.Getenv("SHUIXIAO_BENCH_ENTERPRISES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("SHUIXIAO_BENCH_ENTERPRISES=%q", v)
		}
		return n
	}
	return 10
}

var monthFrom = time.Date(2026, 10, 1, 0, 0, 0, 0, production.Zone)

// BenchmarkMonthRollup reads a month of every enterprise's points from the
// store (15-minute readings, compacted: month pre-totals, or every hour
// summary) and rolls them up:
// MeteredAll (store queries, PeriodVolumes, Evaluate) then target.Build and
// the province's report. It reports the series per second and the time the
// issue's 500,000 series would take at that rate.
func BenchmarkMonthRollup(b *testing.B) {
	n := benchEnterprises(b)
	start := time.Now()
	st := buildProvince(b, provinceConfig{Enterprises: n, Points: 100, From: monthFrom, Steps: 31 * 96, Step: 15 * time.Minute,
		Compact: true, ValueAdded: 10})
	b.Logf("built %d enterprises × 100 points × %d readings in %v", n, 31*96+1, time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	to := monthFrom.AddDate(0, 1, 0)
	// Hour is the single-enterprise balance's grid (the figures the
	// roll-up serves), read from the store's pre-totals; 1h-hours reads
	// every hour of it (the path before pre-totals); Day shows what a
	// coarser grid saves.
	for _, c := range []struct {
		name string
		src  Source
		iv   store.Interval
	}{{"1h", st, store.Hour}, {"1h-hours", hoursOnly{st}, store.Hour}, {"1d", st, store.Day}} {
		iv := c.iv
		b.Run(c.name, func(b *testing.B) {
			var series int
			cpu0 := cpuTime()
			for b.Loop() {
				snap, err := computeMonth(ctx, c.src, monthFrom, to, iv)
				if err != nil {
					b.Fatal(err)
				}
				series = snap.Series
				if len(snap.Figures[2026]) != n {
					b.Fatalf("%d of %d enterprises with figures", len(snap.Figures[2026]), n)
				}
			}
			perOp := b.Elapsed().Seconds() / float64(b.N)
			cpuPerOp := (cpuTime() - cpu0).Seconds() / float64(b.N)
			b.ReportMetric(float64(series)/perOp, "series/s")
			b.ReportMetric(500_000/(float64(series)/perOp), "s/500k-series")
			// On a shared machine the wall time depends on the load; the
			// process's CPU time does not.
			b.ReportMetric(cpuPerOp/float64(series)*500_000, "cpu-s/500k-series")
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// computeMonth is Compute's metered path over one period for every
// enterprise, then the roll-up.
func computeMonth(ctx context.Context, src Source, from, to time.Time, iv store.Interval) (*Snapshot, error) {
	opts := Options{Interval: iv, Headline: true}.withDefaults()
	prov, regions, parks, ents, err := registry(ctx, src, opts.Province)
	if err != nil {
		return nil, err
	}
	pts, err := src.Points(ctx, store.Filter{})
	if err != nil {
		return nil, err
	}
	s := &Snapshot{Figures: map[int]map[string]target.Year{2026: {}}}
	var ids []string
	known := map[string]bool{}
	for _, e := range ents {
		ids = append(ids, e.ID)
		known[e.ID] = true
	}
	points := byEnterprise(pts, known)
	recs, err := src.ProductionRecords(ctx, production.Filter{From: from, To: to})
	if err != nil {
		return nil, err
	}
	byEnt := map[string][]production.Record{}
	for _, r := range recs {
		byEnt[r.Enterprise] = append(byEnt[r.Enterprise], r)
	}
	s.Series, err = MeteredAll(ctx, src, ids, points, byEnt, from, to, opts, func(id string, m Metered) { s.Figures[2026][id] = m.Year(2026) })
	if err != nil {
		return nil, err
	}
	in := target.Input{Province: prov, Regions: regions, Parks: parks, Enterprises: ents, Figures: map[string][]target.Year{}}
	for id, f := range s.Figures[2026] {
		in.Figures[id] = []target.Year{f}
	}
	if s.Tree, err = target.Build(in); err != nil {
		return nil, err
	}
	_ = target.Progress(s.Tree.Province, 2026)
	return s, nil
}

// BenchmarkTargetsCached answers the province's targets from a cached
// snapshot: what GET /api/v1/targets costs once the year is computed.
func BenchmarkTargetsCached(b *testing.B) {
	n := benchEnterprises(b)
	st := buildProvince(b, provinceConfig{Enterprises: n, Points: 6, From: monthFrom, Steps: 96, Step: 15 * time.Minute,
		Compact: true, Declared: []int{2020, 2021, 2022, 2023, 2024, 2025}, ValueAdded: 10})
	now := monthFrom.AddDate(0, 0, 2)
	svc := &Service{Src: st, Now: func() time.Time { return now }}
	ctx := context.Background()
	if _, err := svc.Snapshot(ctx, 2026); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		for _, l := range []target.Level{target.LevelProvince, target.LevelIndustry} {
			if _, err := svc.Targets(l, "", 2026, false); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkYearSparse rolls up the year to date of 20 enterprises of 100
// points (2,000 series) whose only readings are in the period's last day
// (15-minute, compacted): a deployment's first year, or meters added late.
// The months and days without any reading must cost next to nothing.
func BenchmarkYearSparse(b *testing.B) {
	const n = 20
	last := time.Date(2026, 11, 27, 0, 0, 0, 0, production.Zone)
	st := buildProvince(b, provinceConfig{Enterprises: n, Points: 100, From: last, Steps: 96, Step: 15 * time.Minute, Compact: true, ValueAdded: 10})
	yearSparse(b, st, n, last)
}

// yearSparse times the roll-up of 2026 to the end of the day last of the
// n enterprises in src (BenchmarkYearSparse's province).
func yearSparse(b *testing.B, src Source, n int, last time.Time) {
	ctx := context.Background()
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, production.Zone), last.AddDate(0, 0, 1)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ResetTimer()
	cpu0, alloc0 := cpuTime(), ms.TotalAlloc
	for b.Loop() {
		snap, err := computeMonth(ctx, src, from, to, store.Hour)
		if err != nil {
			b.Fatal(err)
		}
		if len(snap.Figures[2026]) != n {
			b.Fatalf("%d of %d enterprises with figures", len(snap.Figures[2026]), n)
		}
	}
	runtime.ReadMemStats(&ms)
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(ms.TotalAlloc-alloc0)/float64(b.N)/1e6, "MB-alloc/op")
}
