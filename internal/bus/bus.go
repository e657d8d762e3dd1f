// Package bus carries signed readings from edge nodes to the sequencer over
// a NATS JetStream stream (bus mode, docs/architecture.md).
//
// An edge node terminates device connections, checks each reading's
// signature and publishes the signed note to the stream; the device's PUBACK
// waits for the stream's PubAck. Readings published within Linger of each
// other, or while the edge's previous messages wait for their PubAck, travel
// in one message (a batch, encoded by EncodeBatch): a stream that syncs
// every write to disk syncs once per message, 0.4–0.7 ms on an idle disk
// here, so one reading a message would cap the bus near 2,000 readings/s. The message ID is the SHA-256 of the batch, so the client's
// own retry of a publish inside the stream's duplicate window is stored
// once; a device's retry travels in another batch and is recognised by the
// sequencer (an exact resubmission maps to its original index). The one sequencer of the log reads the stream with
// a durable pull consumer in stream order and acknowledges a message only
// after the reading's outcome is final: in the ledger and the store, or
// refused for good. A message it never acknowledged is delivered again,
// and an exact resubmission maps to its original ledger index, so the
// ledger holds every published reading once.
package bus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Names of the stream, its subject and the sequencer's durable consumer.
const (
	StreamName = "SHUIXIAO_READINGS"
	Subject    = "shuixiao.readings"
	Durable    = "sequencer"
)

// Config says which NATS server and what stream.
type Config struct {
	// URL of the NATS server(s), e.g. nats://127.0.0.1:4222 (comma-separated
	// for a cluster).
	URL string
	// Name identifies this connection in the server's monitoring.
	Name string
	// Replicas of the stream (1 or 3; default 1). Only the node that
	// creates the stream decides; the others use it as it is.
	Replicas int
	// DuplicateWindow is how long the stream remembers message IDs
	// (default 2 minutes). A retry after it is still caught by the
	// sequencer: an exact resubmission maps to its original index.
	DuplicateWindow time.Duration
	// PublishTimeout bounds the wait for a PubAck (default 5 s): past it
	// the device is told the reading was not taken.
	PublishTimeout time.Duration
	// MaxPending bounds publishes waiting for their PubAck (default 16384).
	MaxPending int
	// Linger is how long a publish may wait for others to share its
	// message (default 2 ms); MaxBatch bounds readings per message
	// (default 1024).
	Linger   time.Duration
	MaxBatch int
	// MaxInFlight bounds this connection's messages waiting for their
	// PubAck (default 2). While they wait, new readings gather into the
	// next message: the batch grows with the stream's sync time instead of
	// the stream's queue (group commit).
	MaxInFlight int
	// AckWait is how long the sequencer may hold a message before the
	// server delivers it again (default 5 minutes).
	AckWait time.Duration
	// MaxAckPending bounds messages delivered to the sequencer and not yet
	// acknowledged (default 32768).
	MaxAckPending int
	// OnReconnect, if set, is called (on the client's callback goroutine)
	// each time the connection is back after a loss: what was published on
	// core NATS meanwhile never reached this connection (an edge reloads
	// its keys in full).
	OnReconnect func()
}

func (c *Config) fill() {
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.DuplicateWindow <= 0 {
		c.DuplicateWindow = 2 * time.Minute
	}
	if c.PublishTimeout <= 0 {
		c.PublishTimeout = 5 * time.Second
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 16384
	}
	if c.Linger <= 0 {
		c.Linger = 2 * time.Millisecond
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 1024
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 2
	}
	if c.AckWait <= 0 {
		c.AckWait = 5 * time.Minute
	}
	if c.MaxAckPending <= 0 {
		c.MaxAckPending = 32768
	}
}

// Conn is a connection to the bus with its stream in place.
type Conn struct {
	cfg    Config
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	// Publish queues readings for the batcher goroutine (see batch).
	mu       sync.Mutex
	queue    []publication // oldest first
	queued   int           // bytes of the queue's notes
	room     *sync.Cond    // on mu: the queue has room again, or the connection closed
	isClosed bool          // under mu
	// ready wakes the batcher: the queue had its first reading or holds a
	// full message.
	ready     chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
	batcher   sync.WaitGroup
	// reconnected is signalled when the connection is back after a loss.
	reconnected chan struct{}
	// receipts is this edge's receipts inbox (ListenReceipts), named on
	// every message it publishes.
	receipts atomic.Pointer[string]
}

// ErrReconnected is returned by Consume when the connection to the server
// was lost and is back: call Consume again, which resets the consumer so
// that what was delivered before the loss and not acknowledged comes again
// now rather than after AckWait.
var ErrReconnected = errors.New("bus: reconnected to NATS; consume again")

type publication struct {
	m    Message
	done func(dup bool, err error)
}

// StreamConfig is the readings stream: file storage, work-queue retention
// (a message is removed once the sequencer acknowledged it, that is once the
// reading is in the ledger and the store), the duplicate window, and the
// default synchronous persistence (never PersistMode async).
func StreamConfig(cfg Config) jetstream.StreamConfig {
	cfg.fill()
	return jetstream.StreamConfig{
		Name:        StreamName,
		Description: "signed meter readings from edge nodes to the sequencer",
		Subjects:    []string{Subject},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.WorkQueuePolicy,
		Replicas:    cfg.Replicas,
		Duplicates:  cfg.DuplicateWindow,
		Discard:     jetstream.DiscardOld,
	}
}

// Connect connects to the NATS server and creates the stream, or updates
// it to StreamConfig. While the server is unreachable, publishes fail at
// once (no client-side buffer): an edge must not answer a device before
// the stream has its reading.
func Connect(ctx context.Context, cfg Config) (*Conn, error) {
	cfg.fill()
	reconnected := make(chan struct{}, 1)
	nc, err := nats.Connect(cfg.URL, nats.Name(cfg.Name), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectBufSize(-1), nats.RetryOnFailedConnect(false), nats.ReconnectHandler(func(*nats.Conn) {
			select {
			case reconnected <- struct{}{}:
			default:
			}
			if cfg.OnReconnect != nil {
				cfg.OnReconnect()
			}
		}))
	if err != nil {
		return nil, fmt.Errorf("connect to NATS %s: %w", cfg.URL, err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(cfg.MaxPending), jetstream.WithPublishAsyncTimeout(cfg.PublishTimeout))
	if err != nil {
		nc.Close()
		return nil, err
	}
	st, err := js.CreateOrUpdateStream(ctx, StreamConfig(cfg))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("JetStream stream %s on %s: %w", StreamName, cfg.URL, err)
	}
	c := &Conn{cfg: cfg, nc: nc, js: js, stream: st, ready: make(chan struct{}, 1), closed: make(chan struct{}), reconnected: reconnected}
	c.room = sync.NewCond(&c.mu)
	c.batcher.Add(1)
	go c.batch()
	return c, nil
}

// Close ends the connection; publishes waiting for a PubAck fail.
func (c *Conn) Close() {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.isClosed = true
		c.room.Broadcast()
		c.mu.Unlock()
		close(c.closed)
	})
	c.batcher.Wait()
	c.nc.Close()
}

// Message is a reading on the bus.
type Message struct {
	Raw      []byte    // the signed note, exactly as the meter signed it
	Source   string    // e.g. mqtt:10.0.0.7
	Received time.Time // when the edge received it
	// Key is the note verifier key the edge checked the signature with.
	// The sequencer skips the check only if it is still the meter's key.
	Key string
	// Device is the authenticated sender (an MQTT username: the meter, or
	// the gateway forwarding it), to whom a receipt goes.
	Device string
	// Receipt says the device subscribes to its receipts: the sequencer
	// sends the reading's outcome back to the edge (SendReceipts).
	Receipt bool
}

// MsgID is a message's ID: the hex SHA-256 of its body.
func MsgID(raw []byte) string {
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:])
}

// ErrNotStored is wrapped by Publish's error when the stream did not take
// the reading.
var ErrNotStored = errors.New("bus: the stream did not take the reading")

// Publish hands a reading to the stream; done is called once, from
// another goroutine, with nil after the stream's PubAck of the message that
// carries it (dup: the stream already had that message), or with an error
// wrapping ErrNotStored if the server refused it, is unreachable or did not
// answer in PublishTimeout. Publish blocks while the batcher is behind
// (queueBatches full messages wait), which pushes back on the devices.
//
// A reading is queued under a mutex, and the batcher is woken only by the
// first reading of a message and when a message is full: not once a
// reading, as a channel between them did (BenchmarkPublishParallel).
func (c *Conn) Publish(m Message, done func(dup bool, err error)) {
	c.mu.Lock()
	for len(c.queue) >= queueBatches*c.cfg.MaxBatch && !c.isClosed {
		c.room.Wait()
	}
	if c.isClosed {
		c.mu.Unlock()
		go done(false, fmt.Errorf("%w: connection closed", ErrNotStored))
		return
	}
	c.queue = append(c.queue, publication{m, done})
	c.queued += len(m.Raw)
	first, full := len(c.queue) == 1, c.fullLocked()
	c.mu.Unlock()
	if first || full {
		wake(c.ready)
	}
}

// queueBatches is how many full messages Publish queues before it blocks.
const queueBatches = 2

// fullLocked reports whether the queue holds a full message; c.mu is held.
func (c *Conn) fullLocked() bool {
	return len(c.queue) >= c.cfg.MaxBatch || c.queued >= maxBatchBytes
}

func (c *Conn) full() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fullLocked()
}

// wake wakes the goroutine waiting on ch (capacity 1), or leaves it a
// token if it is busy.
func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// take removes the next message's readings from the head of the queue:
// up to MaxBatch of them, and no more once they reach maxBatchBytes.
func (c *Conn) take() []publication {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, size := 0, 0
	for n < len(c.queue) && n < c.cfg.MaxBatch && size < maxBatchBytes {
		size += len(c.queue[n].m.Raw)
		n++
	}
	pubs := c.queue[:n:n]
	c.queue = append(make([]publication, 0, max(len(c.queue)-n, c.cfg.MaxBatch)), c.queue[n:]...)
	c.queued -= size
	c.room.Broadcast()
	return pubs
}

// batch gathers what Publish queues into messages of up to MaxBatch
// readings and publishes them in order: a message leaves Linger after its
// first reading, or later if MaxInFlight messages still wait for their
// PubAck, gathering what arrives meanwhile. A stream that syncs every
// message then takes one sync per batch however slow the disk is at the
// moment: with a fixed linger alone, a sync slower than the linger (a disk
// busy with the ledger's own syncs) would queue messages in the server and
// every PUBACK behind them.
func (c *Conn) batch() {
	defer c.batcher.Done()
	slots := make(chan struct{}, c.cfg.MaxInFlight)
	release := func() { <-slots }
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		c.mu.Lock()
		empty := len(c.queue) == 0
		c.mu.Unlock()
		if empty {
			select {
			case <-c.closed:
				c.failQueued()
				return
			case <-c.ready:
			}
			continue
		}
		timer.Reset(c.cfg.Linger)
		lingering, haveSlot := true, false
		for lingering || !haveSlot {
			if c.full() {
				if !haveSlot { // full: wait only for a slot
					select {
					case slots <- struct{}{}:
					case <-c.closed:
						timer.Stop()
						c.failQueued()
						return
					}
				}
				break
			}
			var timeout <-chan time.Time
			if lingering {
				timeout = timer.C
			}
			var slot chan<- struct{}
			if !haveSlot {
				slot = slots
			}
			select {
			case <-c.ready: // more readings: full yet?
			case <-timeout:
				lingering = false
			case slot <- struct{}{}:
				haveSlot = true
			case <-c.closed:
				timer.Stop()
				c.failQueued()
				return
			}
		}
		timer.Stop()
		c.publish(c.take(), release)
	}
}

// failQueued answers the publications the connection closed before
// sending.
func (c *Conn) failQueued() {
	c.mu.Lock()
	pubs := c.queue
	c.queue, c.queued = nil, 0
	c.mu.Unlock()
	if len(pubs) == 0 {
		return
	}
	go func() {
		for _, p := range pubs {
			p.done(false, fmt.Errorf("%w: connection closed", ErrNotStored))
		}
	}()
}

// maxBatchBytes keeps a message well under the server's default 1 MB limit.
const maxBatchBytes = 512 << 10

// pullBytes bounds what the sequencer's consumer holds in memory ahead of
// the pipeline: 16 MiB, about 32,000 readings (twice what the pipeline
// queues itself), and room for 32 full messages, so a pull is never smaller
// than one message. Bounded by count instead (1,024 messages of up to
// 512 KiB), a backlog in the stream moved into the sequencer's heap —
// 55 MB of 183 MB live at 20,000/s on a loaded machine, the collector then
// running against the memory limit (docs/architecture.md, "Bus mode").
const pullBytes = 32 * maxBatchBytes

// publish sends one message; release is called once its PubAck (or
// failure) is in.
func (c *Conn) publish(pubs []publication, release func()) {
	ms := make([]Message, len(pubs))
	for i, p := range pubs {
		ms[i] = p.m
	}
	answer := func(dup bool, err error) {
		for _, p := range pubs {
			p.done(dup, err)
		}
	}
	body := EncodeBatch(ms)
	msg := nats.NewMsg(Subject)
	msg.Data = body
	if inbox := c.receipts.Load(); inbox != nil {
		msg.Header.Set(headerReceipts, *inbox)
	}
	f, err := c.js.PublishMsgAsync(msg, jetstream.WithMsgID(MsgID(body)), jetstream.WithExpectStream(StreamName))
	if err != nil {
		release()
		go answer(false, fmt.Errorf("%w: %v", ErrNotStored, err))
		return
	}
	go func() {
		select {
		case ack := <-f.Ok():
			release()
			answer(ack.Duplicate, nil)
		case err := <-f.Err():
			release()
			answer(false, fmt.Errorf("%w: %v", ErrNotStored, err))
		}
	}()
}

// Delivery is a message handed to the sequencer: the readings of one
// batch, in the order they were published.
type Delivery struct {
	Readings []Message
	// Stored is when the stream stored the message (its PubAck).
	Stored time.Time
	// Delivered counts deliveries of this message, 1 the first time.
	Delivered uint64
	// StreamSeq is the message's place in the stream.
	StreamSeq uint64
	msg       jetstream.Msg
	// receiptsTo is the publishing edge's receipts inbox, if it listens.
	receiptsTo string
}

// Ack tells the stream the outcome of every reading of the delivery is
// final; the message is then removed. Call it only after each reading is in
// the ledger and the store, or refused for good.
func (d *Delivery) Ack() error { return d.msg.Ack() }

// Consume reads the stream in order and calls handle for each message, on
// one goroutine, until ctx ends or the subscription fails. handle may
// block, which holds the stream back.
//
// It first replaces the durable consumer with a new one delivering from
// the first message still in the stream. With work-queue retention that is
// the oldest message no sequencer acknowledged, so after a restart the
// readings of a stopped sequencer come again in their original order before
// anything newer (a durable consumer would otherwise deliver them only
// after AckWait, behind newer readings of the same meters, which admission
// would then refuse as replays). Only one sequencer may consume a stream.
func (c *Conn) Consume(ctx context.Context, handle func(*Delivery)) error {
	if err := c.js.DeleteConsumer(ctx, StreamName, Durable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("reset consumer %s: %w", Durable, err)
	}
	cons, err := c.js.CreateOrUpdateConsumer(ctx, StreamName, jetstream.ConsumerConfig{
		Durable:       Durable,
		Description:   "the sequencer: ledger and store",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.cfg.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: c.cfg.MaxAckPending,
		FilterSubject: Subject,
	})
	if err != nil {
		return fmt.Errorf("consumer %s: %w", Durable, err)
	}
	it, err := cons.Messages(jetstream.PullMaxBytes(pullBytes))
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	select { // a reconnection before this round is no news to it
	case <-c.reconnected:
	default:
	}
	done := make(chan struct{})
	defer close(done)
	var lost atomic.Bool
	go func() {
		select {
		case <-c.reconnected:
			lost.Store(true)
			it.Stop()
		case <-done:
		}
	}()
	for {
		m, err := it.Next()
		if err != nil {
			if lost.Load() {
				return ErrReconnected
			}
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return ctx.Err()
			}
			return err
		}
		d, err := delivery(m)
		if err != nil {
			// Not ours (published by hand?): it can never be sequenced.
			_ = m.Term()
			continue
		}
		handle(d)
	}
}

func delivery(m jetstream.Msg) (*Delivery, error) {
	md, err := m.Metadata()
	if err != nil {
		return nil, err
	}
	rs, err := DecodeBatch(m.Data())
	if err != nil {
		return nil, err
	}
	return &Delivery{Readings: rs, Stored: md.Timestamp, Delivered: md.NumDelivered, StreamSeq: md.Sequence.Stream, msg: m,
		receiptsTo: m.Headers().Get(headerReceipts)}, nil
}

// Pending returns the messages in the stream: published and not yet
// acknowledged by the sequencer.
func (c *Conn) Pending(ctx context.Context) (uint64, error) {
	info, err := c.stream.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}
