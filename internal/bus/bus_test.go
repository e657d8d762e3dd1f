package bus

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func startBus(t *testing.T) (*Embedded, *Conn) {
	t.Helper()
	e, err := StartEmbedded(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	c, err := Connect(context.Background(), Config{URL: e.URL(), Name: t.Name(), PublishTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return e, c
}

func publish(t *testing.T, c *Conn, m Message) (bool, error) {
	t.Helper()
	type res struct {
		dup bool
		err error
	}
	ch := make(chan res, 1)
	c.Publish(m, func(dup bool, err error) { ch <- res{dup, err} })
	select {
	case r := <-ch:
		return r.dup, r.err
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to a publish in 10 s")
		return false, nil
	}
}

func TestEmbeddedSyncsEveryWrite(t *testing.T) {
	e, _ := startBus(t)
	if !e.srv.JetStreamConfig().SyncAlways {
		t.Fatal("the embedded server acknowledges before fsync")
	}
}

// A retry is stored once; the sequencer gets what it did not acknowledge
// again, in stream order, before anything newer.
func TestPublishDedupAndRedelivery(t *testing.T) {
	_, c := startBus(t)
	at := time.Unix(1700000000, 123456789)
	for i := 1; i <= 4; i++ {
		dup, err := publish(t, c, Message{Raw: fmt.Appendf(nil, "reading %d", i), Source: "mqtt:test", Received: at, Key: "k"})
		if err != nil || dup {
			t.Fatalf("publish %d: dup %v, %v", i, dup, err)
		}
	}
	// A retry of a message (same body, so same ID: here reading 2, which
	// went alone) is stored once.
	body := EncodeBatch([]Message{{Raw: []byte("reading 2"), Source: "mqtt:test", Received: at, Key: "k"}})
	msg := nats.NewMsg(Subject)
	msg.Data = body
	if ack, err := c.js.PublishMsg(context.Background(), msg, jetstream.WithMsgID(MsgID(body))); err != nil || !ack.Duplicate || ack.Sequence != 2 {
		t.Fatalf("retry of a message: %+v, %v; want a duplicate of message 2", ack, err)
	}
	if n, err := c.Pending(context.Background()); err != nil || n != 4 {
		t.Fatalf("stream holds %d, %v; want 4", n, err)
	}

	consume := func(ack func(d *Delivery) bool, want int) []string {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var got []string
		done := make(chan error, 1)
		go func() {
			done <- c.Consume(ctx, func(d *Delivery) {
				r := d.Readings[0]
				got = append(got, string(r.Raw))
				if len(d.Readings) != 1 || r.Source != "mqtt:test" || !r.Received.Equal(at) || r.Key != "k" || d.Stored.IsZero() {
					t.Errorf("delivery %+v lost a field", d.Readings)
				}
				if ack(d) {
					if err := d.Ack(); err != nil {
						t.Error(err)
					}
				}
				if len(got) == want {
					cancel()
				}
			})
		}()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("consumed %q, want %d messages", got, want)
		}
		return got
	}
	// Acks are asynchronous: the server drops an acknowledged message soon
	// after, however loaded the machine (a restart before it has may get
	// the message again, which the ledger's deduplication absorbs).
	waitPending := func(want uint64) {
		t.Helper()
		for end := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			n, err := c.Pending(context.Background())
			if err == nil && n == want {
				return
			}
			if time.Now().After(end) {
				t.Fatalf("stream holds %d 30 s after the acks, %v; want %d", n, err, want)
			}
		}
	}
	// The first sequencer acknowledges readings 1 and 3 only, then stops.
	got := consume(func(d *Delivery) bool { return d.StreamSeq%2 == 1 }, 4)
	if fmt.Sprint(got) != "[reading 1 reading 2 reading 3 reading 4]" {
		t.Fatalf("first delivery %q", got)
	}
	waitPending(2)
	if _, err := publish(t, c, Message{Raw: []byte("reading 5"), Source: "mqtt:test", Received: at, Key: "k"}); err != nil {
		t.Fatal(err)
	}
	// The next gets 2 and 4 again, at once and before 5.
	got = consume(func(*Delivery) bool { return true }, 3)
	if fmt.Sprint(got) != "[reading 2 reading 4 reading 5]" {
		t.Fatalf("after a restart %q, want 2 and 4 again, then 5", got)
	}
	waitPending(0)
}

// With the server gone, a publish fails instead of being buffered.
func TestPublishFailsWithoutServer(t *testing.T) {
	e, c := startBus(t)
	e.Close()
	_, err := publish(t, c, Message{Raw: []byte("reading"), Received: time.Now()})
	if !errors.Is(err, ErrNotStored) {
		t.Fatalf("publish with the server down: %v, want ErrNotStored", err)
	}
}

// Readings published together share messages, in order.
func TestPublishBatches(t *testing.T) {
	_, c := startBus(t)
	const n = 300
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		c.Publish(Message{Raw: fmt.Appendf(nil, "reading %d", i), Source: "s", Received: time.Now()}, func(_ bool, err error) { errs <- err })
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := c.Pending(context.Background())
	if err != nil || msgs >= n/2 {
		t.Fatalf("%d readings in %d messages (%v): not batched", n, msgs, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []string
	go c.Consume(ctx, func(d *Delivery) {
		for _, r := range d.Readings {
			got = append(got, string(r.Raw))
		}
		if len(got) >= n {
			cancel()
		}
	})
	<-ctx.Done()
	for i, g := range got {
		if g != fmt.Sprintf("reading %d", i) {
			t.Fatalf("reading %d delivered as %q: out of order", i, g)
		}
	}
}

// While a message waits for its PubAck, readings gather into the next one
// (group commit): with a linger of a microsecond and one message in flight,
// a burst still travels in a few messages, each synced once.
func TestPublishGroupCommit(t *testing.T) {
	e, err := StartEmbedded(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	c, err := Connect(context.Background(), Config{URL: e.URL(), Linger: time.Microsecond, MaxInFlight: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	const n = 2000
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		c.Publish(Message{Raw: fmt.Appendf(nil, "reading %d", i), Source: "s", Received: time.Now()}, func(_ bool, err error) { errs <- err })
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := c.Pending(context.Background())
	if err != nil || msgs > 20 {
		t.Fatalf("%d readings in %d messages (%v): each did not wait for the message before it", n, msgs, err)
	}
	t.Logf("%d readings in %d messages", n, msgs)
}

// The sequencer's consumer holds at most pullBytes of messages it has not
// handled (a backlog stays in the stream, not in the sequencer's heap), and
// still takes messages of the largest size an edge publishes.
func TestConsumeBoundedByBytes(t *testing.T) {
	_, c := startBus(t)
	ctx := context.Background()
	// Messages as large as the edge's batches get (maxBatchBytes), more of
	// them than pullBytes holds.
	raw := make([]byte, maxBatchBytes-256)
	const n = 3 * pullBytes / maxBatchBytes
	for i := 0; i < n; i++ {
		raw[0], raw[1] = byte(i), byte(i>>8)
		body := EncodeBatch([]Message{{Raw: raw, Source: "s", Received: time.Unix(0, 0), Key: "k"}})
		msg := nats.NewMsg(Subject)
		msg.Data = body
		if _, err := c.js.PublishMsg(ctx, msg, jetstream.WithMsgID(MsgID(body))); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	first := make(chan struct{})
	release := make(chan struct{})
	got := 0
	done := make(chan error, 1)
	go func() {
		done <- c.Consume(cctx, func(d *Delivery) {
			if int(d.Readings[0].Raw[0])|int(d.Readings[0].Raw[1])<<8 != got {
				t.Errorf("message %d delivered as %d", got, d.Readings[0].Raw[0])
			}
			if got++; got == 1 {
				close(first)
				<-release // the sequencer is busy: the rest waits
			}
			if err := d.Ack(); err != nil {
				t.Error(err)
			}
			if got == n {
				cancel()
			}
		})
	}()
	<-first
	time.Sleep(500 * time.Millisecond) // let the client pull what it may
	cons, err := c.js.Consumer(ctx, StreamName, Durable)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if held := info.NumAckPending * maxBatchBytes; held > pullBytes+maxBatchBytes {
		t.Errorf("the consumer took %d messages (%d MiB) while the first was being handled; want at most %d MiB",
			info.NumAckPending, held>>20, (pullBytes+maxBatchBytes)>>20)
	}
	close(release)
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("consumed %d of %d messages of %d KiB: the consumer stalled", got, n, maxBatchBytes>>10)
	}
	if got != n {
		t.Fatalf("consumed %d of %d messages", got, n)
	}
}
