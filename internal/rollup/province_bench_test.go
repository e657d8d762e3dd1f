package rollup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/production"
)

// hoursOnly hides a store's consumption pre-totals: the roll-up then reads
// every hour of every series, the path before pre-totals.
type hoursOnly struct{ *sqlite.Store }

func (h hoursOnly) ConsumptionTotals() {} // shadows the store's method, so hoursOnly is no store.TotalsReader

var _ Source = hoursOnly{}

// BenchmarkProvinceMonth is the month roll-up of the province:
// 5,000 enterprises × 100 metering points (SHUIXIAO_BENCH_ENTERPRISES,
// default 5000), one month (October 2026, Asia/Shanghai), read from the
// store's pre-totals (month totals kept at compaction), then target.Build.
//
// The store is built once and kept at SHUIXIAO_BENCH_STORE (default: a
// file under the system's temporary directory named after the size).
// Building 500,000 series of 15-minute readings (1.5 billion readings)
// is out of reach here, so every meter reports its register once a day at
// local midnight, October 1 to November 1 (32 readings a series, 16
// million in all), committed in batches and compacted by the store's own
// compaction every 250 enterprises, which builds the hour summaries and the day and month
// pre-totals. What the roll-up reads — one month total a series — is the
// same whatever the reading cadence; BenchmarkMonthRollup measures the
// 15-minute case at a smaller size, pre-totals against hours.
func BenchmarkProvinceMonth(b *testing.B) {
	n := 5000
	if os.Getenv("SHUIXIAO_BENCH_ENTERPRISES") != "" {
		n = benchEnterprises(b)
	}
	path := os.Getenv("SHUIXIAO_BENCH_STORE")
	if path == "" {
		path = filepath.Join(os.TempDir(), fmt.Sprintf("shuixiao-bench-province-%d.db", n))
	}
	cfg := provinceConfig{Enterprises: n, Points: 100, From: monthFrom, Steps: 31, Step: 24 * time.Hour, Compact: true, CompactEvery: 250, ValueAdded: 10}
	var st *sqlite.Store
	if _, err := os.Stat(path + ".done"); err == nil {
		var err error
		if st, err = sqlite.Open(path, sqlite.Options{ManualCompaction: true, Location: production.Zone}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		// A build stopped part-way leaves readings in the head: compact
		// them (their pre-totals with them) before measuring.
		start := time.Now()
		if err := st.Compact(context.Background()); err != nil {
			b.Fatal(err)
		}
		if err := st.FillTotals(context.Background(), monthFrom, monthFrom.AddDate(0, 1, 0)); err != nil {
			b.Fatal(err)
		}
		b.Logf("reusing %s (compacted what was left and filled missing totals in %v)", path, time.Since(start).Round(time.Millisecond))
	} else {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
		start := time.Now()
		st = buildProvinceAt(b, cfg, path)
		if err := os.WriteFile(path+".done", nil, 0o644); err != nil {
			b.Fatal(err)
		}
		b.Logf("built %d enterprises × 100 points × %d daily readings in %v at %s", n, cfg.Steps+1, time.Since(start).Round(time.Second), path)
	}
	ctx := context.Background()
	to := monthFrom.AddDate(0, 1, 0)
	// SHUIXIAO_BENCH_CPUPROFILE profiles the roll-ups alone, not the
	// store's opening (use it instead of -cpuprofile).
	if path := os.Getenv("SHUIXIAO_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	b.ResetTimer()
	var series int
	cpu0 := cpuTime()
	for b.Loop() {
		snap, err := computeMonth(ctx, st, monthFrom, to, store.Hour)
		if err != nil {
			b.Fatal(err)
		}
		series = snap.Series
		if len(snap.Figures[2026]) != n {
			b.Fatalf("%d of %d enterprises with figures", len(snap.Figures[2026]), n)
		}
	}
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perOp, "s/rollup")
	b.ReportMetric(float64(series), "series")
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/rollup")
}
