package gateway

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/registry"
	"github.com/shuixiao/shuixiao/meter"
)

// BenchmarkSinkDeliver measures frames a second through the signing sink
// into the real ingest pipeline, ledger (synced) and SQLite store, from 64
// and 512 devices delivering concurrently (as protocol connections do): each
// frame is mapped, signed, archived (group-committed fsync) and
// acknowledged. Figures: frames/s and the mean time to acknowledge.
func BenchmarkSinkDeliver(b *testing.B) {
	for _, devices := range []int{64, 512} {
		b.Run(fmt.Sprintf("devices=%d", devices), func(b *testing.B) { benchSinkDeliver(b, devices) })
	}
}

func benchSinkDeliver(b *testing.B, devices int) {
	s := newStackB(b)
	ctx := context.Background()
	sk := s.sinkB(b)
	for i := range devices {
		id := fmt.Sprintf("V-B%03d", i)
		if _, err := s.reg.Register(ctx, registry.Registration{ID: id, Point: "D-1", Gateway: "GW-1"}); err != nil {
			b.Fatal(err)
		}
		d := meter.DeviceMapping{Protocol: "hj212", Device: fmt.Sprintf("8888888%07d", i), Gateway: "GW-1",
			Fields: []meter.FieldMapping{{Field: "w00000-Cou", Meter: id, Channel: "interval_m3", Kind: meter.Interval},
				{Field: "w01018-Avg", Meter: id, Channel: "cod_mg_l", Kind: meter.Rate}}}
		if _, err := s.maps.Put(ctx, d, ""); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	start := time.Now()
	b.ResetTimer()
	var wg sync.WaitGroup
	per := (b.N + devices - 1) / devices
	for i := range devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range per {
				at := s.t0.Add(-time.Duration(per-k) * time.Second)
				f := Frame{Protocol: "hj212", Device: fmt.Sprintf("8888888%07d", i), Raw: fmt.Appendf(nil, "frame %d %d", i, k), Time: at,
					Values: map[string]float64{"w00000-Cou": float64(k), "w01018-Avg": 30}}
				if err := sk.Deliver(ctx, f); err != nil {
					b.Error(err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.ReportMetric(float64(n.Load())/el.Seconds(), "frames/s")
	b.ReportMetric(float64(el.Milliseconds())*float64(devices)/float64(n.Load()), "ms/ack")
}
