package ledger

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"
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
			var mu sync.Mutex
			var lat []time.Duration
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
						t0 := time.Now()
						if _, err := l.Append(context.Background(), entries); err != nil {
							b.Error(err)
							return
						}
						d := time.Since(t0)
						mu.Lock()
						lat = append(lat, d)
						mu.Unlock()
					}
				}(p)
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			latencyReport(b, lat, b.N*batch, elapsed)
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
			var mu sync.Mutex
			var lat []time.Duration
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
							t0 := time.Now()
							if _, err := l.Append(context.Background(), entries); err != nil {
								b.Error(err)
								return
							}
							d := time.Since(t0)
							mu.Lock()
							lat = append(lat, d)
							mu.Unlock()
						}()
					}
					inner.Wait()
				}(p)
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			latencyReport(b, lat, perProducer*producers*batch, elapsed)
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
