package bus

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPublish: readings published to the embedded server (every write
// synced) and acknowledged by a consumer, as an edge and the sequencer do.
// ns/op is per reading; go test -bench Publish -benchtime 20000x.
func BenchmarkPublish(b *testing.B) {
	var acked sync.WaitGroup
	acked.Add(b.N)
	c := benchConn(b, func(d *Delivery) {
		d.Ack()
		acked.Add(-len(d.Readings))
	})
	raw := make([]byte, 300)
	var wg sync.WaitGroup
	wg.Add(b.N)
	now := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		copy(raw, fmt.Sprintf("reading %d ", i))
		c.Publish(Message{Raw: append([]byte{}, raw...), Source: "bench", Received: now}, func(_ bool, err error) {
			if err != nil {
				b.Error(err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	acked.Wait()
}

// benchConn connects to an embedded server (every write synced) whose
// messages handle consumes until the benchmark ends.
func benchConn(b *testing.B, handle func(*Delivery)) *Conn {
	e, err := StartEmbedded(b.TempDir(), "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Close)
	c, err := Connect(context.Background(), Config{URL: e.URL()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	go c.Consume(ctx, handle)
	return c
}

// BenchmarkPublishLatency: an edge's readings offered at 20,000/s to the
// embedded server (every write synced) while a neighbour on the same disk
// writes and syncs 64 KiB files back to back, as the ledger does: the time
// from Publish to the PubAck, with group commit (two messages in flight) and
// without (messages every Linger however many wait, as edges did before).
//
//	go test ./internal/bus -run XXX -bench PublishLatency -benchtime 60000x
func BenchmarkPublishLatency(b *testing.B) {
	for _, c := range []struct {
		name     string
		inFlight int
		maxBatch int
	}{{"linger-only", 1 << 20, 256}, {"group-commit-2", 2, 1024}, {"group-commit-4", 4, 1024}} {
		b.Run(c.name, func(b *testing.B) { benchPublishLatency(b, c.inFlight, c.maxBatch) })
	}
}

func benchPublishLatency(b *testing.B, inFlight, maxBatch int) {
	const rate = 20000
	dir := b.TempDir()
	e, err := StartEmbedded(dir+"/nats", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	c, err := Connect(context.Background(), Config{URL: e.URL(), MaxInFlight: inFlight, MaxBatch: maxBatch})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Consume(ctx, func(d *Delivery) { d.Ack() })
	go syncNeighbour(ctx, dir)
	raw := make([]byte, 300)
	lat := make([]float64, b.N)
	var wg sync.WaitGroup
	wg.Add(b.N)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; {
		due := int(time.Since(start).Seconds() * rate)
		for ; i < b.N && i <= due; i++ {
			at, n := time.Now(), i
			c.Publish(Message{Raw: raw, Source: "bench", Received: at}, func(_ bool, err error) {
				if err != nil {
					b.Error(err)
				}
				lat[n] = time.Since(at).Seconds() * 1e3
				wg.Done()
			})
		}
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(lat[len(lat)/2], "p50-ms")
	b.ReportMetric(lat[len(lat)*99/100], "p99-ms")
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "readings/s")
}

// syncNeighbour writes and syncs 64 KiB files in dir until ctx ends.
func syncNeighbour(ctx context.Context, dir string) {
	buf := make([]byte, 64<<10)
	for i := 0; ctx.Err() == nil; i++ {
		f, err := os.Create(fmt.Sprintf("%s/neighbour-%d", dir, i%8))
		if err != nil {
			return
		}
		f.Write(buf)
		f.Sync()
		f.Close()
	}
}

// BenchmarkPublishParallel: readings offered at 20,000/s by 200 goroutines
// (an edge's device connections, 100 readings/s each), each spending
// 40 µs of CPU on a reading before it publishes it (the edge's signature
// check), to the embedded server, acknowledged by a consumer. It reports
// the process's CPU time per reading (cpu-µs/reading: the server, the
// consumer, the senders and the Conn) and the time from Publish to the
// PubAck (p50-ms, p99-ms): with the CPU busy, a hand-off to the batcher
// for each reading waits behind the runnable senders.
//
//	go test ./internal/bus -run XXX -bench PublishParallel -benchtime 200000x
func BenchmarkPublishParallel(b *testing.B) {
	const rate, senders, work = 20000, 200, 40 * time.Microsecond
	c := benchConn(b, func(d *Delivery) { d.Ack() })
	raw := make([]byte, 300)
	lat := make([]float64, b.N)
	var wg sync.WaitGroup
	wg.Add(b.N)
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for s := range senders {
		go func() {
			// Sender s sends readings s, s+senders, …, each at its time.
			for i := s; i < b.N; i += senders {
				if d := time.Until(start.Add(time.Duration(i) * time.Second / rate)); d > 0 {
					time.Sleep(d)
				}
				for t := time.Now(); time.Since(t) < work; {
				}
				at := time.Now()
				c.Publish(Message{Raw: raw, Source: "bench", Received: at}, func(_ bool, err error) {
					if err != nil {
						b.Error(err)
					}
					lat[i] = time.Since(at).Seconds() * 1e3
					wg.Done()
				})
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1e3/float64(b.N), "cpu-µs/reading")
	slices.Sort(lat)
	b.ReportMetric(lat[len(lat)/2], "p50-ms")
	b.ReportMetric(lat[len(lat)*99/100], "p99-ms")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
