// Package broker is the embedded MQTT broker (MQTT 3.1.1 and 5, built on
// mochi-mqtt) through which meters deliver signed readings. It knows nothing of
// ledgers or stores: it authenticates devices, confines each device to its
// own topics (docs/mqtt.md) and hands every reading to a callback that
// answers later, so a QoS 1 PUBACK can wait until the reading is durable
// without stopping the device's connection from reading its next message.
package broker

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/shuixiao/shuixiao/internal/throttle"
	"github.com/shuixiao/shuixiao/reading"
)

// Topic prefixes of docs/mqtt.md.
const (
	ReadingsPrefix = "shuixiao/v1/readings/"
	ReceiptsPrefix = "shuixiao/v1/receipts/"
	CommandsPrefix = "shuixiao/v1/commands/"
	AcksPrefix     = "shuixiao/v1/acks/"
)

// MaxPacketSize bounds any MQTT packet; bigger ones end the connection.
const MaxPacketSize = 16 << 10

// Reason codes used in MQTT 5 PUBACKs (MQTT 5.0 §3.4.2.1).
const (
	CodeSuccess            byte = 0x00
	CodeUnspecified        byte = 0x80
	CodeImplementationErr  byte = 0x83
	CodeNotAuthorized      byte = 0x87
	CodeServerBusy         byte = 0x89
	CodeRateTooHigh        byte = 0x96
	CodePayloadFormatError byte = 0x99
)

// Defaults of the limits in Options.
const (
	DefaultMaxClients     = 10_000
	DefaultMaxPending     = 1_000
	DefaultConnectTimeout = 10 * time.Second
)

// DefaultFailedLogins lets an address fail 10 logins at once and one more
// every 10 s; DefaultPublishes lets a device publish 500 messages at once
// (a meter catching up after an outage) and 50 a second after that.
var (
	DefaultFailedLogins = Limit{Rate: 0.1, Burst: 10}
	DefaultPublishes    = Limit{Rate: 50, Burst: 500}
)

// maxThrottled bounds the addresses and devices whose buckets are kept.
const maxThrottled = 10_000

// Ack is the answer to one reading.
type Ack struct {
	Code    byte   // CodeSuccess or a failure code
	Message string // reason string (MQTT 5 only)
}

// Reading is one message published on a device's readings topic.
type Reading struct {
	Device  string // authenticated username = meter ID
	Payload []byte
	Source  string // remote host, without port
}

// Options configures a Broker.
type Options struct {
	// Addr is the TCP listen address, e.g. "127.0.0.1:1883".
	Addr string
	// TLS, if set, makes the listener MQTT over TLS (devices connect with
	// ssl:// or mqtts://); nil serves plain TCP.
	TLS *tls.Config
	// Authenticate checks a device's credentials.
	Authenticate func(device string, password []byte) bool
	// OnReading receives each reading; it must call ack exactly once, from
	// any goroutine. It may block to push back on a fast publisher.
	OnReading func(r Reading, ack func(Ack))
	// OnDeviceMessage receives messages devices publish on their acks topic.
	OnDeviceMessage func(device, topic string, payload []byte)
	// OnRefused is told of refused connections and publishes, for counting:
	// device is the authenticated or well-formed claimed username ("" if
	// malformed), source the remote host without port. An address over its
	// FailedLogins budget is told of now and then, not at every attempt.
	OnRefused func(device, reason, source string)
	// Logger receives the broker's own log lines, at most a line a second
	// after a burst of 20 (a stranger's refused connections log); nil
	// discards them.
	Logger *slog.Logger

	// MaxClients caps connected devices (default DefaultMaxClients); more
	// are refused with CONNACK 0x03 Server unavailable (3.1.1) or 0x89
	// Server busy (5).
	MaxClients int
	// MaxPending caps sockets that have not sent CONNECT yet (default
	// DefaultMaxPending); more are closed as soon as accepted.
	MaxPending int
	// ConnectTimeout closes a socket that has not sent CONNECT within it
	// (default DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// ValidUsername checks a username's form before anything else looks at
	// it (default reading.ValidID: at most 64 bytes of A-Z a-z 0-9 . _ -).
	ValidUsername func(string) error
	// FailedLogins is each remote host's budget of failed logins (default
	// DefaultFailedLogins): over it, a host is refused with 0x03 Server
	// unavailable (3.1.1) or 0x9F Connection rate exceeded (5) without
	// Authenticate being called.
	FailedLogins Limit
	// Publishes is each device's budget of publishes, readings and acks
	// together (default DefaultPublishes). Over it, a publish is refused: on
	// MQTT 5 with PUBACK 0x96 Message rate too high, on 3.1.1 (no negative
	// PUBACK) by ending the connection, so that the device resends it.
	Publishes Limit
}

func (o *Options) fill() {
	if o.MaxClients <= 0 {
		o.MaxClients = DefaultMaxClients
	}
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.ValidUsername == nil {
		o.ValidUsername = reading.ValidID
	}
	if o.FailedLogins == (Limit{}) {
		o.FailedLogins = DefaultFailedLogins
	}
	if o.Publishes == (Limit{}) {
		o.Publishes = DefaultPublishes
	}
}

// Stats counts what the broker's limits refused.
type Stats struct {
	PendingRefused  uint64 // sockets closed at accept: too many before CONNECT
	ConnectTimeouts uint64 // sockets closed for not sending CONNECT in time
	BadUsernames    uint64 // CONNECTs refused for the username's form
	LoginsThrottled uint64 // CONNECTs refused for their host's failed logins
	TakenOver       uint64 // sessions ended by a newer one of the same device
	RateLimited     uint64 // publishes refused over a device's budget
}

type counters struct {
	pendingRefused, connectTimeouts, badUsernames, loginsThrottled, takenOver, rateLimited atomic.Uint64
}

// Broker is a running embedded MQTT broker.
type Broker struct {
	srv  *mqtt.Server
	opts Options

	subMu sync.RWMutex
	subs  map[string]int // topic → subscribed sessions
	ln    *listeners.Net

	stats     counters
	logins    *throttle.Table // failed logins by host
	publishes *throttle.Table // publishes by device

	sessMu   sync.Mutex
	sessions map[string]*mqtt.Client // device → its current connection
}

// Stats returns the counters of refusals by the broker's limits.
func (b *Broker) Stats() Stats {
	c := &b.stats
	return Stats{PendingRefused: c.pendingRefused.Load(), ConnectTimeouts: c.connectTimeouts.Load(),
		BadUsernames: c.badUsernames.Load(), LoginsThrottled: c.loginsThrottled.Load(),
		TakenOver: c.takenOver.Load(), RateLimited: c.rateLimited.Load()}
}

// New creates a broker listening on opts.Addr. A port already in use is an
// error that names the address.
func New(opts Options) (*Broker, error) {
	if opts.Authenticate == nil || opts.OnReading == nil {
		return nil, errors.New("broker: Authenticate and OnReading are required")
	}
	opts.fill()
	logger := slog.New(slog.DiscardHandler)
	if opts.Logger != nil {
		logger = slog.New(newQuietHandler(opts.Logger.Handler()))
	}
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = MaxPacketSize
	// Devices receive little (receipts, commands); mochi's default of 8192
	// pending writes per client costs 64 KB of channel per connection.
	caps.MaximumClientWritesPending = 256
	caps.MaximumQos = 1 // readings are acknowledged once durable; QoS 2 adds nothing
	caps.RetainAvailable = 0
	caps.WildcardSubAvailable = 0
	caps.SharedSubAvailable = 0
	caps.MaximumSessionExpiryInterval = 3600
	caps.MaximumClients = int64(opts.MaxClients)
	srv := mqtt.New(&mqtt.Options{Capabilities: caps, Logger: logger, InlineClient: true})
	b := &Broker{srv: srv, opts: opts, subs: map[string]int{}, sessions: map[string]*mqtt.Client{},
		logins: throttle.New(opts.FailedLogins, maxThrottled), publishes: throttle.New(opts.Publishes, maxThrottled)}
	if err := srv.AddHook(&hook{b: b}, nil); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	raw, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		if isAddrInUse(err) {
			return nil, fmt.Errorf("MQTT address %s is already in use (is another broker such as Mosquitto running?); choose another with --mqtt: %w", opts.Addr, err)
		}
		return nil, fmt.Errorf("MQTT listen on %s: %w", opts.Addr, err)
	}
	// The connect guard closes sockets that send no CONNECT in time; TLS
	// wraps it, so the handshake runs on the connection's first read, in
	// the connection's own goroutine, under the same deadline.
	var ln net.Listener = newConnectGuard(raw, opts.ConnectTimeout, opts.MaxPending, &b.stats)
	if opts.TLS != nil {
		ln = tls.NewListener(ln, opts.TLS)
	}
	b.ln = listeners.NewNet("tcp", ln)
	if err := srv.AddListener(closingNet{b.ln, srv}); err != nil {
		raw.Close()
		return nil, fmt.Errorf("MQTT listen on %s: %w", opts.Addr, err)
	}
	return b, nil
}

func isAddrInUse(err error) bool {
	return err != nil && strings.Contains(err.Error(), "address already in use")
}

// Addr returns the address the broker listens on (useful with port 0).
func (b *Broker) Addr() string { return b.ln.Address() }

// Start serves connections in the background.
func (b *Broker) Start() error { return b.srv.Serve() }

// Close disconnects every client and stops the listener.
func (b *Broker) Close() error { return b.srv.Close() }

// closingNet is the broker's listener: mochi's, except for how it
// disconnects its clients when the server closes. Mochi's own way
// (Server.closeListenerClients → Clients.GetByListener) read-locks the
// client list and, holding it, read-locks it again (Clients.Len); a client
// whose connection ends in between waits for the write lock
// (Clients.Delete), and the second read lock then waits behind it for
// ever: Close hung (seen in TestCommandAndAck, and in a server shut down
// while devices disconnect). closeClients takes the list with one read
// lock and disconnects those clients, as mochi does.
type closingNet struct {
	*listeners.Net
	srv *mqtt.Server
}

// Close closes the listener and disconnects its clients.
func (l closingNet) Close(listeners.CloseFn) { l.Net.Close(l.closeClients) }

func (l closingNet) closeClients(id string) {
	for _, cl := range l.srv.Clients.GetAll() {
		if cl.Net.Listener == id && !cl.Closed() {
			_ = l.srv.DisconnectClient(cl, packets.ErrServerShuttingDown)
		}
	}
}

// Publish sends a message from the server, e.g. a receipt or a command.
func (b *Broker) Publish(topic string, payload []byte, qos byte) error {
	return b.srv.Publish(topic, payload, false, qos)
}

// Subscribed reports whether a device subscribes to topic (its own
// receipts or commands topic), so that the server can skip building
// messages nobody receives.
func (b *Broker) Subscribed(topic string) bool {
	b.subMu.RLock()
	defer b.subMu.RUnlock()
	return b.subs[topic] > 0
}

// Disconnect ends the connection of a device, e.g. after its key was revoked.
func (b *Broker) Disconnect(device string) {
	for _, cl := range b.srv.Clients.GetAll() {
		if string(cl.Properties.Username) == device {
			_ = b.srv.DisconnectClient(cl, packets.ErrNotAuthorized)
		}
	}
}

// Clients returns the number of connected devices (the server's own inline
// client is not one).
func (b *Broker) Clients() int {
	n := 0
	for _, cl := range b.srv.Clients.GetAll() {
		if !cl.Net.Inline && !cl.Closed() {
			n++
		}
	}
	return n
}

type hook struct {
	mqtt.HookBase
	b     *Broker
	conns sync.Map // *mqtt.Client → *connState
}

// connState is what the hook keeps of a connection for its readings, made
// at its first one: its device and host (the same for every PUBACK of the
// connection: one look-up a reading instead of a conversion, an address
// parse and a look-up) and its PUBACK writer.
type connState struct {
	dev  string
	host string // throttle.HostKey of the remote address
	acks *ackWriter
}

// state returns cl's connState, making it the first time.
func (h *hook) state(cl *mqtt.Client) *connState {
	if v, ok := h.conns.Load(cl); ok {
		return v.(*connState)
	}
	v, _ := h.conns.LoadOrStore(cl, &connState{dev: string(cl.Properties.Username), host: throttle.HostKey(cl.Net.Remote), acks: &ackWriter{cl: cl}})
	return v.(*connState)
}

// ackWriter sends one connection's PUBACKs. Answers arrive from the
// ingest pipeline in batches; the writer takes all that are waiting in one
// write, off the pipeline's goroutine, so that a batch is answered without
// one system call per reading on the path of the next batch, and a slow
// connection holds up only its own acknowledgements. The PUBACK that finds
// the writer idle starts its flush goroutine (about 0.6 CPU-µs more than
// writing inline, BenchmarkAckWriterIdle): a shared writer would spare it,
// but one device that stops reading its socket would then block every
// other device's PUBACKs.
type ackWriter struct {
	cl      *mqtt.Client
	mu      sync.Mutex
	buf     []byte // encoded PUBACKs waiting
	spare   []byte
	writing bool // a flush goroutine is running
}

// success queues the PUBACK of a durable reading. The 4-byte form is valid
// in MQTT 3.1.1 and, for reason code Success without properties, in MQTT 5
// (MQTT 5 §3.4.2.1).
func (w *ackWriter) success(id uint16) {
	w.mu.Lock()
	w.buf = append(w.buf, packets.Puback<<4, 2, byte(id>>8), byte(id))
	start := !w.writing
	w.writing = true
	w.mu.Unlock()
	if start {
		go w.flush()
	}
}

func (w *ackWriter) flush() {
	for {
		w.mu.Lock()
		b := w.buf
		if len(b) == 0 {
			w.writing = false
			w.mu.Unlock()
			return
		}
		w.buf, w.spare = w.spare[:0], nil
		w.mu.Unlock()
		// mochi writes under the client's lock too, so packets never
		// interleave. A closed connection loses its acks; the device resends
		// and gets the original index.
		w.cl.Lock()
		if !w.cl.Closed() && w.cl.Net.Conn != nil {
			_, _ = w.cl.Net.Conn.Write(b)
		}
		w.cl.Unlock()
		w.mu.Lock()
		if cap(b) <= 4096 {
			w.spare = b[:0]
		}
		w.mu.Unlock()
	}
}

func (h *hook) ID() string { return "shuixiao-devices" }

func (h *hook) Provides(x byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnect, mqtt.OnConnectAuthenticate, mqtt.OnSessionEstablish,
		mqtt.OnACLCheck, mqtt.OnPublish, mqtt.OnSubscribed, mqtt.OnUnsubscribed, mqtt.OnDisconnect}, []byte{x})
}

func (h *hook) refused(device, reason, remote string) {
	if h.b.opts.OnRefused != nil {
		h.b.opts.OnRefused(device, reason, throttle.HostKey(remote))
	}
}

// OnConnect screens a CONNECT before anyone looks up its credentials: the
// socket leaves the pre-CONNECT guard, a host over its failed-login budget
// is refused, and so is a username of the wrong form (which counts as a
// failed login). Refusals answer their own CONNACK, since mochi sends none
// when OnConnect fails.
func (h *hook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	connectSent(cl.Net.Conn)
	host := throttle.HostKey(cl.Net.Remote)
	if over, first := h.b.logins.Over(host, time.Now()); over {
		h.b.stats.loginsThrottled.Add(1)
		if first {
			h.refused("", "logins-throttled", cl.Net.Remote)
		}
		code := packets.ErrConnectionRateExceeded
		if cl.Properties.ProtocolVersion < 5 {
			code = packets.ErrServerUnavailable // 3.1.1 return code 0x03
		}
		_ = h.b.srv.SendConnack(cl, code, false, nil)
		return code
	}
	user := string(pk.Connect.Username)
	if user == "" {
		h.failedLogin("", "anonymous-connect", cl.Net.Remote)
		return nil // OnConnectAuthenticate refuses it
	}
	if err := h.b.opts.ValidUsername(user); err != nil {
		h.b.stats.badUsernames.Add(1)
		h.failedLogin("", "bad-username", cl.Net.Remote)
		_ = h.b.srv.SendConnack(cl, packets.ErrBadUsernameOrPassword, false, nil)
		return packets.ErrBadUsernameOrPassword
	}
	return nil
}

// failedLogin spends one of the host's failed-login tokens and reports the
// refusal, or, over the budget, reports now and then that the host is
// throttled.
func (h *hook) failedLogin(device, reason, remote string) {
	ok, first := h.b.logins.Take(throttle.HostKey(remote), time.Now())
	switch {
	case ok:
		h.refused(device, reason, remote)
	case first:
		h.refused("", "logins-throttled", remote)
	}
}

func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	user := string(pk.Connect.Username)
	if user == "" {
		return false // counted by OnConnect
	}
	if !h.b.opts.Authenticate(user, pk.Connect.Password) {
		h.failedLogin(user, "bad-credentials", cl.Net.Remote)
		return false
	}
	return true
}

// OnSessionEstablish keeps one connection per device: a newer one takes
// over, and the older is disconnected (0x8E Session taken over). mochi does
// this itself only for a reused client ID. It runs before the CONNACK (not
// in OnSessionEstablished, after it), so that of two connections the one
// answered later is the one kept: registered after the CONNACK, a slow
// first session could register after a second that its device opened once
// the first was answered, and disconnect the newer one.
func (h *hook) OnSessionEstablish(cl *mqtt.Client, pk packets.Packet) {
	if cl.Net.Inline {
		return
	}
	dev := string(cl.Properties.Username)
	h.b.sessMu.Lock()
	old := h.b.sessions[dev]
	h.b.sessions[dev] = cl
	h.b.sessMu.Unlock()
	if old != nil && old != cl && !old.Closed() {
		h.b.stats.takenOver.Add(1)
		_ = h.b.srv.DisconnectClient(old, packets.ErrSessionTakenOver)
	}
}

// OnACLCheck confines a device to its own topics: it publishes readings and
// acks, and subscribes to its receipts and commands.
func (h *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if cl.Net.Inline {
		return true
	}
	dev := cl.Properties.Username
	var ok bool
	if write {
		ok = ownTopic(topic, ReadingsPrefix, dev) || ownTopic(topic, AcksPrefix, dev)
	} else {
		ok = ownTopic(topic, ReceiptsPrefix, dev) || ownTopic(topic, CommandsPrefix, dev)
	}
	if !ok {
		h.refused(string(dev), "topic-not-allowed", cl.Net.Remote)
	}
	return ok
}

// ownTopic reports whether topic is prefix followed by the device's name
// (compared without building the topic: this runs for every reading).
func ownTopic(topic, prefix string, dev []byte) bool {
	rest, ok := strings.CutPrefix(topic, prefix)
	return ok && rest == string(dev)
}

// OnSubscribed counts granted subscriptions per topic.
func (h *hook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, codes []byte) {
	h.b.subMu.Lock()
	defer h.b.subMu.Unlock()
	for i, f := range pk.Filters {
		if i < len(codes) && codes[i] < 0x80 {
			h.b.subs[f.Filter]++
		}
	}
}

// OnUnsubscribed forgets a session's subscriptions.
func (h *hook) OnUnsubscribed(cl *mqtt.Client, pk packets.Packet) {
	h.b.subMu.Lock()
	defer h.b.subMu.Unlock()
	for _, f := range pk.Filters {
		if h.b.subs[f.Filter] > 0 {
			h.b.subs[f.Filter]--
		}
	}
}

// OnDisconnect forgets the subscriptions of a clean session.
func (h *hook) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	h.conns.Delete(cl)
	dev := string(cl.Properties.Username)
	h.b.sessMu.Lock()
	if h.b.sessions[dev] == cl {
		delete(h.b.sessions, dev)
	}
	h.b.sessMu.Unlock()
	if !expire {
		return // a persistent session keeps its subscriptions
	}
	h.b.subMu.Lock()
	defer h.b.subMu.Unlock()
	for f := range cl.State.Subscriptions.GetAll() {
		if h.b.subs[f] > 0 {
			h.b.subs[f]--
		}
	}
}

// OnPublish takes over readings: it returns ErrRejectPacket so that mochi
// neither acknowledges nor forwards the message, and the PUBACK is written
// when the callback answers.
func (h *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	st := h.state(cl)
	dev := st.dev
	if ok, first := h.b.publishes.Take(dev, time.Now()); !ok {
		h.b.stats.rateLimited.Add(1)
		if first {
			h.refused(dev, "rate-limited", cl.Net.Remote)
		}
		if cl.Properties.ProtocolVersion < 5 {
			_ = h.b.srv.DisconnectClient(cl, packets.ErrMessageRateTooHigh)
		} else if pk.FixedHeader.Qos > 0 {
			ack := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pk.PacketID, ReasonCode: CodeRateTooHigh}
			ack.Properties.ReasonString = fmt.Sprintf("message rate too high: at most %g a second after a burst of %d", h.b.opts.Publishes.Rate, h.b.opts.Publishes.Burst)
			_ = cl.WritePacket(ack)
		}
		return pk, packets.ErrRejectPacket
	}
	if strings.HasPrefix(pk.TopicName, AcksPrefix) {
		if h.b.opts.OnDeviceMessage != nil {
			h.b.opts.OnDeviceMessage(dev, pk.TopicName, append([]byte(nil), pk.Payload...))
		}
		if pk.FixedHeader.Qos > 0 {
			// The acknowledgement is handed over: confirm it, or a QoS 1
			// device would wait for a PUBACK that never comes.
			_ = cl.WritePacket(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pk.PacketID})
		}
		return pk, packets.ErrRejectPacket
	}
	id, qos, v5 := pk.PacketID, pk.FixedHeader.Qos, cl.Properties.ProtocolVersion == 5
	payload := append([]byte(nil), pk.Payload...)
	w := st.acks
	h.b.opts.OnReading(Reading{Device: dev, Payload: payload, Source: st.host}, func(a Ack) {
		if qos == 0 {
			return
		}
		if a.Code == CodeSuccess {
			w.success(id)
			return
		}
		ack := packets.Packet{
			FixedHeader: packets.FixedHeader{Type: packets.Puback},
			PacketID:    id,
		}
		if v5 {
			ack.ReasonCode = a.Code
			if a.Code != CodeSuccess {
				ack.Properties.ReasonString = a.Message
			}
		}
		_ = cl.WritePacket(ack) // a closed connection just loses the ack; the device resends
	})
	return pk, packets.ErrRejectPacket
}
