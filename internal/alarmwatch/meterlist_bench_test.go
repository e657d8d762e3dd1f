package alarmwatch

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// BenchmarkOfflineCheck is one offline check of the monitor at 50,000
// meters (SHUIXIAO_BENCH_METERS), every meter reporting: "registry" reads
// the meters from the store each check (the server before MeterList),
// "list" from a MeterList. cpu-ms/check is the process's CPU per check.
func BenchmarkOfflineCheck(b *testing.B) {
	n := 50000
	if v := os.Getenv("SHUIXIAO_BENCH_METERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("SHUIXIAO_BENCH_METERS=%q: want a positive count", v)
		}
	}
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "s.db"), sqlite.Options{ManualCompaction: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	total, _ := meter.StandardChannel("total_m3")
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}))
	must(st.CreateEnterprise(ctx, meter.Enterprise{ID: "E", Name: "企业", Region: "430000", Industry: "3120"}))
	now := time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)
	// One key pair under every meter's name: generating one per meter
	// would cost more than the benchmark.
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	must(err)
	var pts []meter.Point
	var ms []meter.Meter
	latest := make(map[string]time.Time, n)
	for i := range n {
		p := fmt.Sprintf("P%06d", i)
		pts = append(pts, meter.Point{ID: p, Enterprise: "E", Name: p, Level: 3, Stage: meter.StageUse, Channels: []meter.Channel{total}})
		id := fmt.Sprintf("M%06d", i)
		vkey, err := note.NewEd25519VerifierKey(reading.KeyName(id), pub)
		must(err)
		ms = append(ms, meter.Meter{ID: id, Point: p, Key: vkey, Signed: meter.SignedByMeter, Registered: now.Add(-time.Hour), Interval: time.Minute})
		latest[id] = now
	}
	must(st.CreatePoints(ctx, pts))
	must(st.CreateMeters(ctx, ms, nil))
	m := New(Options{Store: st, Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)})
	l := &MeterList{Store: st}
	if _, err := l.Meters(ctx); err != nil { // the server's first check
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name   string
		meters func(context.Context) ([]meter.Meter, error)
	}{
		{"registry", func(ctx context.Context) ([]meter.Meter, error) { return st.Meters(ctx, store.Filter{}) }},
		{"list", l.Meters},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				got, err := bc.meters(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != n {
					b.Fatalf("%d meters, want %d", len(got), n)
				}
				m.checkOffline(ctx, latest, got)
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1e3/float64(b.N), "cpu-ms/check")
		})
	}
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
