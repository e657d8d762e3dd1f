package bus

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkPublish: readings published to the embedded server (every write
// synced) and acknowledged by a consumer, as an edge and the sequencer do.
// ns/op is per reading; go test -bench Publish -benchtime 20000x.
func BenchmarkPublish(b *testing.B) {
	e, err := StartEmbedded(b.TempDir(), "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	c, err := Connect(context.Background(), Config{URL: e.URL()})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var acked sync.WaitGroup
	acked.Add(b.N)
	go c.Consume(ctx, func(d *Delivery) {
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
