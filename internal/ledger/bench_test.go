package ledger

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/verify"
)

// benchEntries returns n signed readings of about 300 bytes, signed in
// advance so that the benchmark measures the ledger, not the meters.
func benchEntries(b *testing.B, n int) [][]byte {
	meters := newTestMeters(b, 16)
	out := make([][]byte, n)
	for i := range out {
		out[i] = meters[i%len(meters)].next(b)
	}
	return out
}

// latencies records the duration of timed Append calls from many goroutines.
type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

// append times one Append call of entries.
func (lat *latencies) append(b *testing.B, l *Log, entries [][]byte) bool {
	t0 := time.Now()
	if _, err := l.Append(context.Background(), entries); err != nil {
		b.Error(err)
		return false
	}
	d := time.Since(t0)
	lat.mu.Lock()
	lat.all = append(lat.all, d)
	lat.mu.Unlock()
	return true
}

// latencyReport adds throughput and per-batch latency percentiles.
func latencyReport(b *testing.B, lat []time.Duration, entries int, elapsed time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(entries)/elapsed.Seconds(), "entries/s")
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkAppend measures Append's maximum throughput: 8 producers append
// batches back to back, and each batch's latency (Append call to durable)
// is recorded. One op is one batch.
func BenchmarkAppend(b *testing.B) {
	for _, batch := range []int{100, 500, 2000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			pool := benchEntries(b, 8*batch)
			opts := testOptions(b.TempDir())
			opts.CheckpointInterval = time.Second
			l := openTestLog(b, opts)
			const producers = 8
			var lat latencies
			var wg sync.WaitGroup
			next := make(chan struct{}, b.N)
			for range b.N {
				next <- struct{}{}
			}
			close(next)
			b.ResetTimer()
			start := time.Now()
			for p := range producers {
				wg.Add(1)
				go func(p int) {
					defer wg.Done()
					entries := pool[p*batch : (p+1)*batch]
					for range next {
						if !lat.append(b, l, entries) {
							return
						}
					}
				}(p)
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			latencyReport(b, lat.all, b.N*batch, elapsed)
		})
	}
}

// BenchmarkAppendPaced offers a steady 20,000 entries/s in batches that
// arrive on a timer (every 25 ms per producer for 100 and 500, every
// 100 ms for 2000), as the ingest pipeline does, and reports the rate
// achieved and the latency of each batch. One op is one batch.
func BenchmarkAppendPaced(b *testing.B) {
	const rate = 20000
	for _, batch := range []int{100, 500, 2000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			interval := 25 * time.Millisecond
			producers := rate * int(interval/time.Millisecond) / 1000 / batch
			if producers < 1 {
				producers = 1
				interval = time.Duration(batch) * time.Second / rate
			}
			pool := benchEntries(b, producers*batch)
			opts := testOptions(b.TempDir())
			opts.CheckpointInterval = time.Second
			l := openTestLog(b, opts)
			var lat latencies
			var wg sync.WaitGroup
			perProducer := (b.N + producers - 1) / producers
			b.ResetTimer()
			start := time.Now()
			for p := range producers {
				wg.Add(1)
				go func(p int) {
					defer wg.Done()
					entries := pool[p*batch : (p+1)*batch]
					tick := time.NewTicker(interval)
					defer tick.Stop()
					var inner sync.WaitGroup
					for range perProducer {
						<-tick.C
						inner.Add(1)
						go func() { // a batch does not wait for the previous one
							defer inner.Done()
							lat.append(b, l, entries)
						}()
					}
					inner.Wait()
				}(p)
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			latencyReport(b, lat.all, perProducer*producers*batch, elapsed)
		})
	}
}

// BenchmarkProof measures building and self-verifying one receipt.
func BenchmarkProof(b *testing.B) {
	l := openTestLog(b, testOptions(b.TempDir()))
	ctx := context.Background()
	pool := benchEntries(b, 4096)
	if _, err := l.Append(ctx, pool); err != nil {
		b.Fatal(err)
	}
	awaitSize(b, l, uint64(len(pool)))
	b.ResetTimer()
	for i := range b.N {
		if _, err := l.Proof(ctx, uint64(i*7919%len(pool))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyLog audits a log of signed readings with package verify
// (re-deriving root and tiles, rebuilding the key directory, checking every
// signature and chain) and reports entries/s. The log, SHUIXIAO_BENCH_ENTRIES
// entries (default 200,000; the report used 1,000,000), is built once and
// kept in the temporary directory, since building it costs far more than
// auditing it. One op is one full audit.
func BenchmarkVerifyLog(b *testing.B) {
	n := 200_000
	if v := os.Getenv("SHUIXIAO_BENCH_ENTRIES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("SHUIXIAO_BENCH_ENTRIES=%q", v)
		}
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("shuixiao-bench-verify-%d", n))
	vkeyPath := filepath.Join(dir, "log.vkey")
	if _, err := os.Stat(filepath.Join(dir, "complete")); err != nil {
		os.RemoveAll(dir)
		buildBenchLog(b, dir, n)
	}
	vkey, err := os.ReadFile(vkeyPath)
	if err != nil {
		b.Fatal(err)
	}
	logKey := mustVerifier(b, strings.TrimSpace(string(vkey)))
	f, err := verify.NewFetcher(filepath.Join(dir, "log"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var rep *verify.AuditReport
	for range b.N {
		rep, err = verify.Audit(context.Background(), f, verify.AuditOptions{LogKey: logKey})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Failed(true) || rep.Entries != uint64(n) {
			b.Fatalf("audit: %d entries, %d problems %+v, %d gaps", rep.Entries, rep.ProblemCount, rep.Problems, rep.GapCount)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(0, "ns/op")
}

// buildBenchLog writes a log of n entries: 1000 meters (fewer for small n),
// their key entries, then their readings round-robin.
func buildBenchLog(b *testing.B, dir string, n int) {
	b.Logf("building a %d-entry log in %s (once)", n, dir)
	ctx := context.Background()
	l, err := Open(ctx, Options{Dir: dir, Origin: "bench.shuixiao.local/ledger"})
	if err != nil {
		b.Fatal(err)
	}
	meters := newTestMeters(b, min(1000, n/10))
	var keys [][]byte
	for _, m := range meters {
		keys = append(keys, keyEntry(b, l, m))
	}
	if _, err := l.Append(ctx, keys); err != nil {
		b.Fatal(err)
	}
	const batch = 4096
	remaining := n - len(keys)
	next := 0
	for remaining > 0 {
		size := min(batch, remaining)
		entries := make([][]byte, size)
		var wg sync.WaitGroup
		for w := range runtime.GOMAXPROCS(0) {
			wg.Add(1)
			go func(w int) { // each meter is signed by one goroutine, in order
				defer wg.Done()
				for i := range entries {
					if m := (next + i) % len(meters); m%runtime.GOMAXPROCS(0) == w {
						entries[i] = meters[m].next(b)
					}
				}
			}(w)
		}
		wg.Wait()
		if _, err := l.Append(ctx, entries); err != nil {
			b.Fatal(err)
		}
		next += size
		remaining -= size
	}
	awaitSize(b, l, uint64(n))
	if err := l.Close(ctx); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "complete"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
}
