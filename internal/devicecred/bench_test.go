package devicecred

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// BenchmarkEdgeKeys is what a bus-mode edge spends keeping its keys in step
// with a store of SHUIXIAO_BENCH_METERS meters (default 100,000), each on a
// point of its own, its directory already loaded: a full reload (LoadAll,
// what refresh does every --edge-refresh) and a reload of the devices one
// key-change message names (Reload of 1 and of 100 IDs). cpu-ms/op is the
// process's CPU time (user+system, getrusage) per operation, which on a
// busy machine says more than ns/op.
func BenchmarkEdgeKeys(b *testing.B) {
	n := 100_000
	if s := os.Getenv("SHUIXIAO_BENCH_METERS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	st, ids := provinceStore(b, n)
	ctx := context.Background()
	creds := New(st, ingest.NewDirectory())
	if err := creds.LoadAll(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("LoadAll/meters=%d", n), func(b *testing.B) {
		cpu := cpuTime()
		for b.Loop() {
			if err := New(st, creds.dir).LoadAll(ctx); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, cpu)
	})
	for _, k := range []int{1, 100} {
		b.Run(fmt.Sprintf("Reload/ids=%d", k), func(b *testing.B) {
			cpu := cpuTime()
			i := 0
			for b.Loop() {
				batch := make([]string, k)
				for j := range batch {
					batch[j] = ids[i%len(ids)]
					i++
				}
				if err := creds.Reload(ctx, batch...); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// provinceStore is a SQLite store of n meters, each with a key and a point
// of its own, under one enterprise; it returns the meters' IDs.
func provinceStore(b *testing.B, n int) (*sqlite.Store, []string) {
	b.Helper()
	ctx := context.Background()
	st := enterpriseStore(b)
	ps := make([]meter.Point, n)
	ms := make([]meter.Meter, n)
	ids := make([]string, n)
	for i := range n {
		id := fmt.Sprintf("M-%06d", i)
		_, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName(id))
		if err != nil {
			b.Fatal(err)
		}
		ps[i] = meter.Point{ID: "PT-" + id, Enterprise: "EN", Name: "取水", Level: meter.Level2, Stage: meter.StageUse,
			Channels: []meter.Channel{totalChannel}}
		ms[i] = meter.Meter{ID: id, Point: ps[i].ID, Key: vkey, Signed: meter.SignedByMeter, Registered: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		ids[i] = id
	}
	if err := st.CreatePoints(ctx, ps); err != nil {
		b.Fatal(err)
	}
	if err := st.CreateMeters(ctx, ms, nil); err != nil {
		b.Fatal(err)
	}
	return st, ids
}

// cpuTime is this process's CPU time so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per operation since since.
func reportCPU(b *testing.B, since time.Duration) {
	b.ReportMetric(float64(cpuTime()-since)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}
