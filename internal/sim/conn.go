package sim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Topic prefixes of docs/mqtt.md.
const (
	ReadingsTopic = "shuixiao/v1/readings/"
	ReceiptsTopic = "shuixiao/v1/receipts/"
	CommandsTopic = "shuixiao/v1/commands/"
	AcksTopic     = "shuixiao/v1/acks/"
)

// Outgoing is a signed reading waiting in a meter's outbox.
type Outgoing struct {
	Seq  uint64
	Time time.Time // the reading's own time (kept when it is sent late)
	Note []byte
	// Enqueued is when the reading entered the outbox.
	Enqueued time.Time
	// Tag marks injected readings in logs ("" for ordinary readings).
	Tag string
}

// Ack reports a reading the broker acknowledged (MQTT PUBACK).
type Ack struct {
	Meter     string
	Seq       uint64
	Tag       string
	Note      []byte
	Enqueued  time.Time
	Published time.Time
	Acked     time.Time
}

// ConnConfig configures a meter's MQTT session.
type ConnConfig struct {
	// Broker is host:port, or a URL such as tcp://host:port or
	// ssl://host:port.
	Broker string
	// TLS, if set, connects over TLS with this configuration (a host:port
	// Broker then means ssl://host:port).
	TLS      *tls.Config
	Username string // the meter ID
	Password string
	// ClientID defaults to "sim-" + Username.
	ClientID string
	// Inflight bounds unacknowledged publishes (default 1: strictly one at
	// a time, so seq order survives any server).
	Inflight int
	// Outbox bounds buffered readings (default 100000); when full the
	// oldest unsent reading is dropped and counted.
	Outbox int
	// AckTimeout is how long a PUBACK may take before the connection is
	// considered broken (default 30 s).
	AckTimeout time.Duration
	// NoReceipts disables the subscription to the receipts topic.
	NoReceipts bool
	// OnCommand, if set, subscribes to shuixiao/v1/commands/<meter> (QoS 1)
	// and receives each command; the device answers with PublishAck.
	OnCommand func(payload []byte)
	// OnAck, OnReceipt and OnState are called from the connection's
	// goroutines and must not block.
	OnAck     func(Ack)
	OnReceipt func(Receipt)
	OnState   func(connected bool, err error)
}

// ConnStats counts a connection's life.
type ConnStats struct {
	Published, Acked, Dropped, Connects, Failures uint64
	Pending                                       int
	Connected                                     bool
	LastError                                     string
}

// Conn is one meter's MQTT 3.1.1 session: it publishes the readings put in
// its outbox at QoS 1, in order, to shuixiao/v1/readings/<meter>, keeps
// them until the broker acknowledges them (store-and-forward), reconnects
// with back-off, and reports receipts from shuixiao/v1/receipts/<meter>.
type Conn struct {
	cfg    ConnConfig
	topic  string
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	notify chan struct{}

	mu       sync.Mutex
	outbox   []Outgoing
	inflight int // items at the head of outbox published on the current connection
	stats    ConnStats
	paused   bool
	cli      mqtt.Client // the live connection, for acknowledgements
}

// Dial starts a meter's session in the background; it never blocks. Call
// Close to stop it.
func Dial(cfg ConnConfig) *Conn {
	if cfg.Inflight <= 0 {
		cfg.Inflight = 1
	}
	if cfg.Outbox <= 0 {
		cfg.Outbox = 100000
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 30 * time.Second
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "sim-" + cfg.Username
	}
	if !strings.Contains(cfg.Broker, "://") {
		if cfg.TLS != nil {
			cfg.Broker = "ssl://" + cfg.Broker
		} else {
			cfg.Broker = "tcp://" + cfg.Broker
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Conn{cfg: cfg, topic: ReadingsTopic + cfg.Username, ctx: ctx, cancel: cancel,
		done: make(chan struct{}), notify: make(chan struct{}, 1)}
	go c.run()
	return c
}

// Send puts a reading in the outbox.
func (c *Conn) Send(o Outgoing) {
	if o.Enqueued.IsZero() {
		o.Enqueued = time.Now()
	}
	c.mu.Lock()
	if len(c.outbox) >= c.cfg.Outbox {
		// Drop the oldest reading that is not on the wire.
		i := c.inflight
		if i < len(c.outbox) {
			c.outbox = append(c.outbox[:i], c.outbox[i+1:]...)
			c.stats.Dropped++
		}
	}
	c.outbox = append(c.outbox, o)
	c.mu.Unlock()
	c.wake()
}

func (c *Conn) wake() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// Pause disconnects the meter and keeps it offline, buffering what it is
// sent, until Resume.
func (c *Conn) Pause() { c.setPaused(true) }

// Resume lets a paused meter reconnect and backfill.
func (c *Conn) Resume() { c.setPaused(false) }

func (c *Conn) setPaused(p bool) {
	c.mu.Lock()
	c.paused = p
	c.mu.Unlock()
	c.wake()
}

func (c *Conn) isPaused() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paused
}

// Stats returns the connection's counters.
func (c *Conn) Stats() ConnStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Pending = len(c.outbox)
	return s
}

// Pending returns a copy of the readings not yet acknowledged, oldest first.
func (c *Conn) Pending() []Outgoing {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Outgoing(nil), c.outbox...)
}

// Flush waits until the outbox is empty, the context ends or the
// connection is closed.
func (c *Conn) Flush(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if c.Stats().Pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return errors.New("connection closed")
		case <-t.C:
		}
	}
}

// Close stops the session and returns the readings never acknowledged.
func (c *Conn) Close() []Outgoing {
	c.cancel()
	<-c.done
	return c.Pending()
}

func (c *Conn) setState(connected bool, err error) {
	c.mu.Lock()
	c.stats.Connected = connected
	if err != nil {
		c.stats.LastError = err.Error()
	}
	if connected {
		c.stats.Connects++
	} else if err != nil {
		c.stats.Failures++
	}
	c.inflight = 0
	c.mu.Unlock()
	if c.cfg.OnState != nil {
		c.cfg.OnState(connected, err)
	}
}

func (c *Conn) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (c *Conn) run() {
	defer close(c.done)
	backoff := 250 * time.Millisecond
	for c.ctx.Err() == nil {
		if c.isPaused() {
			select {
			case <-c.ctx.Done():
				return
			case <-c.notify:
			}
			continue
		}
		lost := make(chan error, 1)
		opts := mqtt.NewClientOptions().AddBroker(c.cfg.Broker).SetClientID(c.cfg.ClientID).
			SetUsername(c.cfg.Username).SetPassword(c.cfg.Password).SetCleanSession(true).
			SetAutoReconnect(false).SetConnectRetry(false).SetKeepAlive(30 * time.Second).
			SetConnectTimeout(10 * time.Second).SetWriteTimeout(10 * time.Second).SetTLSConfig(c.cfg.TLS).
			SetConnectionLostHandler(func(_ mqtt.Client, err error) {
				select {
				case lost <- err:
				default:
				}
			})
		cli := mqtt.NewClient(opts)
		tok := cli.Connect()
		if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
			err := tok.Error()
			if err == nil {
				err = errors.New("connect timed out")
			}
			cli.Disconnect(0)
			c.setState(false, fmt.Errorf("connect %s as %s: %w", c.cfg.Broker, c.cfg.Username, err))
			if !c.sleep(backoff) {
				return
			}
			backoff = min(2*backoff, 30*time.Second)
			continue
		}
		backoff = 250 * time.Millisecond
		c.setState(true, nil)
		if !c.cfg.NoReceipts && c.cfg.OnReceipt != nil {
			st := cli.Subscribe(ReceiptsTopic+c.cfg.Username, 0, func(_ mqtt.Client, m mqtt.Message) {
				if r, err := ParseReceipt(c.cfg.Username, m.Payload()); err == nil {
					c.cfg.OnReceipt(r)
				}
			})
			st.WaitTimeout(10 * time.Second)
		}
		if c.cfg.OnCommand != nil {
			st := cli.Subscribe(CommandsTopic+c.cfg.Username, 1, func(_ mqtt.Client, m mqtt.Message) {
				c.cfg.OnCommand(append([]byte(nil), m.Payload()...))
			})
			st.WaitTimeout(10 * time.Second)
		}
		c.mu.Lock()
		c.cli = cli
		c.mu.Unlock()
		err := c.pump(cli, lost)
		c.mu.Lock()
		c.cli = nil
		c.mu.Unlock()
		cli.Disconnect(100)
		c.setState(false, err)
		if err != nil && !c.sleep(backoff) {
			return
		}
	}
}

// flight is a reading published and not yet acknowledged.
type flight struct {
	tok  mqtt.Token
	at   time.Time
	item Outgoing
}

// pump publishes the outbox on a live connection, keeping up to Inflight
// readings unacknowledged, until the connection fails or the Conn stops.
func (c *Conn) pump(cli mqtt.Client, lost <-chan error) error {
	var flights []flight
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if c.isPaused() {
			return nil
		}
		c.mu.Lock()
		for len(flights) < c.cfg.Inflight && c.inflight < len(c.outbox) {
			it := c.outbox[c.inflight]
			c.inflight++
			c.stats.Published++
			c.mu.Unlock()
			flights = append(flights, flight{tok: cli.Publish(c.topic, 1, false, it.Note), at: time.Now(), item: it})
			c.mu.Lock()
		}
		c.mu.Unlock()
		var done <-chan struct{}
		if len(flights) > 0 {
			done = flights[0].tok.Done()
			timer.Reset(time.Until(flights[0].at.Add(c.cfg.AckTimeout)))
		}
		select {
		case <-done:
			f := flights[0]
			if err := f.tok.Error(); err != nil {
				return fmt.Errorf("publish seq %d: %w", f.item.Seq, err)
			}
			flights = flights[1:]
			c.acked(f)
		case <-c.notify:
		case err := <-lost:
			return fmt.Errorf("connection lost: %w", err)
		case <-timer.C:
			if len(flights) > 0 {
				return fmt.Errorf("no PUBACK for seq %d within %v", flights[0].item.Seq, c.cfg.AckTimeout)
			}
		case <-c.ctx.Done():
			return c.drain(flights)
		}
	}
}

// drain waits briefly for readings already on the wire when the Conn stops,
// so that a clean shutdown does not resend them on the next start.
func (c *Conn) drain(flights []flight) error {
	deadline := time.Now().Add(2 * time.Second)
	for _, f := range flights {
		if !f.tok.WaitTimeout(time.Until(deadline)) || f.tok.Error() != nil {
			return nil
		}
		c.acked(f)
	}
	return nil
}

// acked removes an acknowledged reading from the head of the outbox and
// reports it.
func (c *Conn) acked(f flight) {
	c.mu.Lock()
	// Only unsent readings are ever dropped, so the head is this one.
	if len(c.outbox) > 0 && c.outbox[0].Seq == f.item.Seq && c.inflight > 0 {
		c.outbox = c.outbox[1:]
		c.inflight--
	}
	c.stats.Acked++
	c.mu.Unlock()
	if c.cfg.OnAck != nil {
		c.cfg.OnAck(Ack{Meter: c.cfg.Username, Seq: f.item.Seq, Tag: f.item.Tag, Note: f.item.Note, Enqueued: f.item.Enqueued, Published: f.at, Acked: time.Now()})
	}
}

// PublishAck sends an acknowledgement of a command on
// shuixiao/v1/acks/<meter> (QoS 1) over the live connection; it fails when
// the device is not connected (the server then retries the command).
func (c *Conn) PublishAck(payload []byte) error {
	c.mu.Lock()
	cli := c.cli
	c.mu.Unlock()
	if cli == nil {
		return errors.New("not connected")
	}
	tok := cli.Publish(AcksTopic+c.cfg.Username, 1, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("publish ack: %v", tok.Error())
	}
	return nil
}

// Receipt is a server receipt for one reading (docs/mqtt.md):
// "seq <n> index <i> [dup] [gap] [skew]" or "seq <n> rejected <reason>".
type Receipt struct {
	Meter    string
	Seq      uint64
	Index    uint64
	Rejected string // reason; empty when admitted
	Flags    []string
}

// Has reports whether the receipt carries a flag (dup, gap, skew, …).
func (r Receipt) Has(flag string) bool {
	for _, f := range r.Flags {
		if f == flag {
			return true
		}
	}
	return false
}

// String formats the receipt as the server sends it.
func (r Receipt) String() string {
	if r.Rejected != "" {
		return fmt.Sprintf("seq %d rejected %s", r.Seq, r.Rejected)
	}
	s := fmt.Sprintf("seq %d index %d", r.Seq, r.Index)
	for _, f := range r.Flags {
		s += " " + f
	}
	return s
}

// ParseReceipt parses a receipt payload for a meter.
func ParseReceipt(meterID string, payload []byte) (Receipt, error) {
	if len(payload) > 1024 {
		return Receipt{}, fmt.Errorf("receipt of %d bytes", len(payload))
	}
	f := strings.Fields(string(payload))
	if len(f) < 3 || f[0] != "seq" {
		return Receipt{}, fmt.Errorf("receipt %q: want \"seq <n> index <i>\" or \"seq <n> rejected <reason>\"", payload)
	}
	seq, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return Receipt{}, fmt.Errorf("receipt %q: seq: %w", payload, err)
	}
	r := Receipt{Meter: meterID, Seq: seq}
	switch f[2] {
	case "index":
		if len(f) < 4 {
			return Receipt{}, fmt.Errorf("receipt %q: no index", payload)
		}
		if r.Index, err = strconv.ParseUint(f[3], 10, 64); err != nil {
			return Receipt{}, fmt.Errorf("receipt %q: index: %w", payload, err)
		}
		r.Flags = f[4:]
	case "rejected":
		if len(f) < 4 {
			return Receipt{}, fmt.Errorf("receipt %q: no reason", payload)
		}
		r.Rejected = strings.Join(f[3:], " ")
	default:
		return Receipt{}, fmt.Errorf("receipt %q: unknown verdict %q", payload, f[2])
	}
	return r, nil
}
