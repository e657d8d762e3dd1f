// Package bus carries signed readings from edge nodes to the sequencer over
// a NATS JetStream stream (bus mode, docs/architecture.md).
//
// An edge node terminates device connections, checks each reading's
// signature and publishes the signed note to the stream; the device's PUBACK
// waits for the stream's PubAck. The message ID is the SHA-256 of the signed
// note, so a device's (or an edge's) retry inside the stream's duplicate
// window is stored once. The one sequencer of the log reads the stream with
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
	"strconv"
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

// Message headers besides Nats-Msg-Id.
const (
	headerSource   = "Shuixiao-Source"   // where the edge received it, e.g. mqtt:10.0.0.7
	headerReceived = "Shuixiao-Received" // edge receive time, Unix nanoseconds
	headerKey      = "Shuixiao-Key"      // the meter key the edge checked the signature with
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
	// AckWait is how long the sequencer may hold a message before the
	// server delivers it again (default 5 minutes).
	AckWait time.Duration
	// MaxAckPending bounds messages delivered to the sequencer and not yet
	// acknowledged (default 32768).
	MaxAckPending int
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
	nc, err := nats.Connect(cfg.URL, nats.Name(cfg.Name), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectBufSize(-1), nats.RetryOnFailedConnect(false))
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
	return &Conn{cfg: cfg, nc: nc, js: js, stream: st}, nil
}

// Close ends the connection; publishes waiting for a PubAck fail.
func (c *Conn) Close() { c.nc.Close() }

// Message is a reading on the bus.
type Message struct {
	Raw      []byte    // the signed note, exactly as the meter signed it
	Source   string    // e.g. mqtt:10.0.0.7
	Received time.Time // when the edge received it
	// Key is the note verifier key the edge checked the signature with.
	// The sequencer skips the check only if it is still the meter's key.
	Key string
}

// MsgID is a reading's message ID: the hex SHA-256 of the signed note (the
// same hash the ledger and the store keep).
func MsgID(raw []byte) string {
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:])
}

// NewMsg is the NATS message of a reading, without its message ID.
func NewMsg(m Message) *nats.Msg {
	msg := nats.NewMsg(Subject)
	msg.Data = m.Raw
	msg.Header.Set(headerSource, m.Source)
	msg.Header.Set(headerReceived, strconv.FormatInt(m.Received.UnixNano(), 10))
	if m.Key != "" {
		msg.Header.Set(headerKey, m.Key)
	}
	return msg
}

// ErrNotStored is wrapped by Publish's error when the stream did not take
// the reading.
var ErrNotStored = errors.New("bus: the stream did not take the reading")

// Publish hands a reading to the stream without waiting; done is called
// once, from another goroutine, with nil after the stream's PubAck (dup:
// the stream already had it), or with an error wrapping ErrNotStored if the
// server refused it, is unreachable or did not answer in PublishTimeout.
func (c *Conn) Publish(m Message, done func(dup bool, err error)) {
	f, err := c.js.PublishMsgAsync(NewMsg(m), jetstream.WithMsgID(MsgID(m.Raw)), jetstream.WithExpectStream(StreamName))
	if err != nil {
		go done(false, fmt.Errorf("%w: %v", ErrNotStored, err))
		return
	}
	go func() {
		select {
		case ack := <-f.Ok():
			done(ack.Duplicate, nil)
		case err := <-f.Err():
			done(false, fmt.Errorf("%w: %v", ErrNotStored, err))
		}
	}()
}

// Delivery is a message handed to the sequencer.
type Delivery struct {
	Message
	// Stored is when the stream stored the message (its PubAck).
	Stored time.Time
	// Delivered counts deliveries of this message, 1 the first time.
	Delivered uint64
	// StreamSeq is the message's place in the stream.
	StreamSeq uint64
	msg       jetstream.Msg
}

// Ack tells the stream the reading's outcome is final; the message is then
// removed. Call it only after the reading is in the ledger and the store,
// or refused for good.
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
	it, err := cons.Messages(jetstream.PullMaxMessages(1024))
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		m, err := it.Next()
		if err != nil {
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
	h := m.Headers()
	ns, err := strconv.ParseInt(h.Get(headerReceived), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("header %s: %w", headerReceived, err)
	}
	return &Delivery{
		Message:   Message{Raw: m.Data(), Source: h.Get(headerSource), Received: time.Unix(0, ns), Key: h.Get(headerKey)},
		Stored:    md.Timestamp,
		Delivered: md.NumDelivered,
		StreamSeq: md.Sequence.Stream,
		msg:       m,
	}, nil
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
