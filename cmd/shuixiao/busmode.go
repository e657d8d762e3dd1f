package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shuixiao/shuixiao/internal/broker"
	"github.com/shuixiao/shuixiao/internal/bus"
	"github.com/shuixiao/shuixiao/internal/devicecred"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/rejection"
)

// Roles of a serve process (docs/architecture.md, "Bus mode").
const (
	roleAll       = "all"       // one process: MQTT, pipeline, ledger, store, API (the default)
	roleEdge      = "edge"      // MQTT and signature checks; publishes to the bus
	roleSequencer = "sequencer" // consumes the bus: pipeline, ledger, store, API
)

// busConfig is how a serve process takes part in bus mode.
type busConfig struct {
	Role string
	// NATS is the bus: nats://HOST:PORT[,…], or embedded[:DIR] to run a
	// NATS server with JetStream in this process storing in DIR (default
	// DATA/nats), listening on Listen.
	NATS     string
	Listen   string
	Replicas int
	// Refresh is how often an edge reloads every meter key, revocation and
	// MQTT password from the store, besides the devices the sequencer names
	// as changed (bus.KeysSubject) and a full reload after each reconnection
	// to NATS: the safety net for a key-change message lost (core NATS is
	// at most once).
	Refresh time.Duration
}

// defaultEdgeRefresh is an edge's --edge-refresh. A full reload costs
// 12–14 CPU-µs a meter (BenchmarkEdgeKeys): every 10 s, as before the
// sequencer sent key changes, 12–14 % of a core at 100,000 meters; now it
// only makes good what a lost message missed.
const defaultEdgeRefresh = 5 * time.Minute

func busFlags(fs *flag.FlagSet, c *busConfig) {
	fs.StringVar(&c.Role, "role", roleAll, "all (one process), edge (MQTT, signature checks, publish to --nats) or sequencer (consume --nats: ledger, store, API)")
	fs.StringVar(&c.NATS, "nats", "", "bus of --role edge|sequencer: nats://HOST:PORT, or embedded[:DIR] for a NATS server in this process (JetStream in DIR, default DATA/nats; every write synced)")
	fs.StringVar(&c.Listen, "nats-listen", "127.0.0.1:4222", "listen address of the embedded NATS server (--nats embedded)")
	fs.IntVar(&c.Replicas, "nats-replicas", 1, "replicas of the readings stream when this process creates it (1, or 3 on a NATS cluster)")
	fs.DurationVar(&c.Refresh, "edge-refresh", defaultEdgeRefresh, "edge: reload every meter key, revocation and MQTT password from the store this often (and after each reconnection to NATS); the devices the sequencer reports changed are reloaded at once")
}

func (c busConfig) check() error {
	switch c.Role {
	case roleAll, "":
		if c.NATS != "" {
			return errors.New("--nats needs --role edge or sequencer / --nats 需与 --role edge 或 sequencer 同用")
		}
	case roleEdge, roleSequencer:
		if c.NATS == "" {
			return fmt.Errorf("--role %s needs --nats URL / --role %s 需要 --nats", c.Role, c.Role)
		}
	default:
		return fmt.Errorf("--role %q: want all, edge or sequencer / --role 应为 all、edge 或 sequencer", c.Role)
	}
	return nil
}

// sequencerLinger is the least time between two ledger appends of a
// sequencer. In --role all a device's PUBACK waits for its batch, so the
// pipeline's default (25 ms) keeps that wait short; a sequencer answers no
// device (the edge's PUBACK came with the stream's PubAck), so it gathers
// four times as many readings per append. Every append rewrites and syncs
// the tree's right edge and commits one store transaction whatever its size:
// CPU per reading falls, the time from PubAck to ledger grows by ~75 ms
// (bench ingest --profile: docs/architecture.md, "Bus mode").
const sequencerLinger = 100 * time.Millisecond

// ingestLinger is the pipeline's Linger for this role (0: its default).
func (c busConfig) ingestLinger() time.Duration {
	if c.Role == roleSequencer {
		return sequencerLinger
	}
	return 0
}

// sequencerMemoryLimit is the soft memory limit of a sequencer (unless
// GOMEMLIMIT says otherwise). Besides the pipeline, ledger and store of
// --role all it holds the messages it consumes until each is acknowledged
// and, with --nats embedded, the NATS server's block buffers: its live heap
// was 90–130 MB under load, so under defaultMemoryLimit the heap could not
// grow defaultGCPercent past it and the collector took 11 % of the
// process's CPU, 6 % under this limit (bench ingest --nats embedded
// --profile; docs/architecture.md, "Bus mode").
const sequencerMemoryLimit = 512 << 20

// memoryLimit is the soft memory limit of a serve process of this role.
func (c busConfig) memoryLimit() int64 {
	if c.Role == roleSequencer {
		return sequencerMemoryLimit
	}
	return defaultMemoryLimit
}

// natsBus connects to the bus of c, first starting the embedded server if c
// names one.
type natsBus struct {
	embedded *bus.Embedded
	conn     *bus.Conn
	url      string
}

func openBus(ctx context.Context, c busConfig, data, name string, onReconnect func()) (*natsBus, error) {
	nb := &natsBus{}
	url := c.NATS
	if dir, ok := strings.CutPrefix(c.NATS, "embedded"); ok && (dir == "" || dir[0] == ':') {
		dir = strings.TrimPrefix(dir, ":")
		if dir == "" {
			dir = filepath.Join(data, "nats")
		}
		e, err := bus.StartEmbedded(dir, c.Listen)
		if err != nil {
			return nil, fmt.Errorf("%w; choose another address with --nats-listen", err)
		}
		nb.embedded, url = e, e.URL()
	}
	conn, err := bus.Connect(ctx, bus.Config{URL: url, Name: name, Replicas: c.Replicas, OnReconnect: onReconnect})
	if err != nil {
		nb.Close()
		return nil, err
	}
	nb.conn, nb.url = conn, url
	return nb, nil
}

func (nb *natsBus) URL() string {
	if nb.embedded != nil {
		return nb.url + " (embedded)"
	}
	return nb.url
}

func (nb *natsBus) Close() {
	if nb.conn != nil {
		nb.conn.Close()
	}
	if nb.embedded != nil {
		nb.embedded.Close()
	}
}

// sequencerBus feeds the pipeline from the bus (--role sequencer).
type sequencerBus struct {
	*natsBus
	stop context.CancelFunc
	done chan struct{}
}

// startBus starts consuming the bus if this server is the sequencer
// (bus.Sequencer: a message is acknowledged once each of its readings has
// its final outcome; an unavailable one stops the consumer, which starts
// again from the oldest unacknowledged message).
func (s *server) startBus(ctx context.Context) error {
	if s.cfg.Bus.Role != roleSequencer {
		return nil
	}
	nb, err := openBus(ctx, s.cfg.Bus, s.cfg.Data, "shuixiao-sequencer", nil)
	if err != nil {
		return err
	}
	seq := bus.NewSequencer(nb.conn, s.pipeline, bus.SequencerOptions{Logger: s.cfg.Logger.With("part", "bus"), Registerer: s.metrics,
		Receipt: receiptText})
	b := &sequencerBus{natsBus: nb, done: make(chan struct{})}
	// What edges pass on besides readings: their devices' command
	// acknowledgements, and what they refused (counted in the store as the
	// refusals of --role all are).
	if err := nb.conn.ListenDeviceMessages(s.onDeviceMessage); err != nil {
		nb.Close()
		return err
	}
	if err := nb.conn.ListenRefusals(s.pipeline.Reject); err != nil {
		nb.Close()
		return err
	}
	s.bus = b
	s.openEdgeKeys(nb.conn)
	bg, stop := context.WithCancel(context.Background())
	b.stop = stop
	go func() {
		defer close(b.done)
		seq.Run(bg)
	}()
	return nil
}

// stopBus stops taking messages; what the pipeline holds is still
// acknowledged as it completes, until closeBus.
func (s *server) stopBus() {
	if s.bus != nil {
		s.bus.stop()
		<-s.bus.done
	}
}

func (s *server) closeBus() {
	if s.bus != nil {
		s.edgeKeys.Store(nil)
		s.bus.Close()
	}
}

// keysChanged tells the edges which devices' keys, revocations or MQTT
// passwords changed in the store (devices.OnCredentialChange), for them to
// load those again; if the bus cannot take it, an edge's next full reload
// will. A sequencer whose bus is not open yet (catching up with its ledger
// at start) keeps them for openEdgeKeys: an edge that stayed connected to
// NATS through the sequencer's restart does no full reload then.
func (s *server) keysChanged(ids ...string) {
	if len(ids) == 0 {
		return
	}
	s.keysMu.Lock()
	conn := s.edgeKeys.Load()
	if conn == nil && s.keysPending != nil {
		for _, id := range ids {
			s.keysPending[id] = true
		}
	}
	s.keysMu.Unlock()
	if conn != nil {
		s.publishKeyChanges(conn, ids)
	}
}

// openEdgeKeys makes conn where key changes go and sends those kept
// until now.
func (s *server) openEdgeKeys(conn *bus.Conn) {
	s.keysMu.Lock()
	s.edgeKeys.Store(conn)
	ids := slices.Sorted(maps.Keys(s.keysPending))
	s.keysPending = nil
	s.keysMu.Unlock()
	if len(ids) > 0 {
		s.publishKeyChanges(conn, ids)
	}
}

func (s *server) publishKeyChanges(conn *bus.Conn, ids []string) {
	if err := conn.PublishKeyChanges(ids); err != nil {
		s.cfg.Logger.Warn("密钥变更未发往边缘节点，待其下次全量加载 / key changes not sent to the edges; they load them at their next full reload",
			"devices", len(ids), "error", err)
	}
}

// edge is a serve process with --role edge: the MQTT broker, device logins
// and signature checks against the store's registry, and the bus. It keeps
// no ledger and writes nothing to the store.
type busEdge struct {
	cfg     serverConfig
	store   serverStore
	dir     *ingest.Directory
	creds   atomic.Pointer[devicecred.Credentials]
	checker *ingest.EdgeChecker
	bus     *natsBus
	broker  *broker.Broker
	gateway *edgeGateway // protocol gateway (--hj212 …), if any
	stop    context.CancelFunc
	bg      sync.WaitGroup
	// What the keys loop (loadKeys) is told besides its ticker: the bus is
	// back after a loss (a full reload), devices the sequencer reports
	// changed (changed holds their IDs).
	reconnected chan struct{}
	changes     chan struct{}
	changedMu   sync.Mutex
	changed     map[string]bool
}

func openBusEdge(ctx context.Context, cfg serverConfig) (*busEdge, error) {
	log := cfg.Logger
	_, mqttTLS, err := serverTLS(cfg)
	if err != nil {
		return nil, err
	}
	var st serverStore
	where := "sqlite (the sequencer's) " + filepath.Join(cfg.Data, "store.db")
	if cfg.Store == "" || cfg.Store == "sqlite" {
		// The sequencer's file on this machine: an edge only reads it, and
		// leaves compaction to the sequencer.
		st, err = sqlite.Open(filepath.Join(cfg.Data, "store.db"), sqlite.Options{ManualCompaction: true,
			Logf: func(f string, a ...any) { log.Error(fmt.Sprintf(f, a...)) }})
	} else {
		st, where, err = openStore(ctx, cfg.Store, cfg.Data, log)
	}
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	log.Info("store opened / 存储已打开", "store", where, "role", roleEdge)
	e := &busEdge{cfg: cfg, store: st, dir: ingest.NewDirectory(), reconnected: make(chan struct{}, 1), changes: make(chan struct{}, 1),
		changed: map[string]bool{}}
	ok := false
	defer func() {
		if !ok {
			e.Close()
		}
	}()
	if e.bus, err = openBus(ctx, cfg.Bus, cfg.Data, "shuixiao-edge", func() { wake(e.reconnected) }); err != nil {
		return nil, err
	}
	// Listen to key changes before the first load: a change stored after
	// it read the registry is then reloaded by the keys loop.
	if err := e.bus.conn.ListenKeyChanges(e.keysChanged); err != nil {
		return nil, err
	}
	if err := e.refresh(ctx); err != nil {
		return nil, err
	}
	e.checker = ingest.NewEdgeChecker(e.dir)
	bo := cfg.MQTT
	bo.Addr, bo.TLS = cfg.MQTTAddr, mqttTLS
	bo.Authenticate = func(id string, pw []byte) bool { return e.creds.Load().Authenticate(id, pw) }
	bo.OnReading = e.onReading
	// Command acknowledgements go to the sequencer's control plane.
	bo.OnDeviceMessage = func(device, topic string, payload []byte) {
		if err := e.bus.conn.PublishDeviceMessage(device, topic, payload); err != nil {
			log.Warn("device message not forwarded to the sequencer", "device", device, "topic", topic, "error", err)
		}
	}
	bo.OnRefused = func(dev, reason, host string) { e.refused(mqttRefusal(e.dir, dev, reason, host)) }
	bo.Logger = log.With("part", "mqtt")
	if e.broker, err = broker.New(bo); err != nil {
		return nil, err
	}
	// The sequencer answers with receipts (the ledger index) for devices
	// that subscribe to them, and publishes commands for devices: each is
	// delivered if the device is connected here.
	if err := e.bus.conn.ListenReceipts(func(rs []bus.Receipt) {
		for _, r := range rs {
			_ = e.broker.Publish(broker.ReceiptsPrefix+r.Device, []byte(r.Text), 0)
		}
	}); err != nil {
		return nil, err
	}
	if err := e.bus.conn.ListenCommands(func(topic string, payload []byte, qos byte) {
		if e.broker.Subscribed(topic) {
			_ = e.broker.Publish(topic, payload, qos)
		}
	}); err != nil {
		return nil, err
	}
	if err := e.broker.Start(); err != nil {
		return nil, fmt.Errorf("start MQTT broker: %w", err)
	}
	if cfg.Gateways.on() {
		if err := e.openGateway(ctx); err != nil {
			return nil, err
		}
	}
	bg, stop := context.WithCancel(context.Background())
	e.stop = stop
	e.bg.Add(1)
	go func() {
		defer e.bg.Done()
		e.loadKeys(bg)
	}()
	ok = true
	return e, nil
}

// wake wakes the loop that waits on c, once however often it is called.
func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// keysChanged takes the devices the sequencer reports changed, for the
// keys loop to reload.
func (e *busEdge) keysChanged(ids []string) {
	e.changedMu.Lock()
	for _, id := range ids {
		e.changed[id] = true
	}
	e.changedMu.Unlock()
	wake(e.changes)
}

// loadKeys keeps the key directory and passwords in step with the store
// until ctx ends: the devices reported changed at once, every device each
// --edge-refresh and after each reconnection to NATS. One goroutine does
// every load, so that a full reload's older read of a device never
// overwrites a newer one. A load that fails is tried again after
// keyRetryDelay (the devices of a partial one kept for it), up to
// keyRetries times in a row; then the next full reload makes it good.
func (e *busEdge) loadKeys(ctx context.Context) {
	log := e.cfg.Logger
	t := time.NewTicker(max(e.cfg.Bus.Refresh, time.Second))
	defer t.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	failures := 0       // loads failed in a row
	fullFailed := false // the last failure was a full reload's
	for {
		full := false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			full = true
		case <-e.reconnected:
			full = true
		case <-e.changes:
		case <-retry.C:
			full = fullFailed
		}
		var err error
		if full {
			err = e.refresh(ctx)
		} else if ids := e.takeChanged(); len(ids) > max(16, e.dir.Len()/8) {
			// Past an eighth of the registry one read of all costs
			// less (BenchmarkEdgeKeys: a full reload ~14 CPU-µs a
			// meter, a reload of one ~120).
			full, err = true, e.refresh(ctx)
		} else if err = e.creds.Load().Reload(ctx, ids...); err != nil {
			e.keepChanged(ids) // for the retry
		}
		if err == nil {
			if full || !fullFailed {
				failures, fullFailed = 0, false
				retry.Stop()
			}
			continue
		}
		if ctx.Err() != nil {
			return
		}
		failures++
		fullFailed = fullFailed || full
		delay, again := keyRetryDelay(failures)
		if again {
			retry.Reset(delay)
			log.Error("边缘节点从存储加载密钥失败，沿用原有密钥，稍后重试 / edge: loading keys from the store failed; keeping the previous ones, trying again",
				"error", err, "in", delay, "attempt", failures)
		} else {
			log.Error("边缘节点多次加载密钥失败，待下次全量加载 / edge: loading keys from the store failed again; the next full reload will",
				"error", err, "attempts", failures)
		}
	}
}

// keyRetries bounds the retries of a failed key load in a row.
const keyRetries = 10

// keyRetryDelay is the wait before the attempt-th retry of a failed key
// load (attempt from 1): 250 ms doubling to at most 30 s, and whether to
// retry at all (keyRetries in a row: some 2 minutes in all).
func keyRetryDelay(attempt int) (time.Duration, bool) {
	if attempt < 1 || attempt > keyRetries {
		return 0, false
	}
	return min(250*time.Millisecond<<(attempt-1), 30*time.Second), true
}

// keepChanged puts back devices whose reload failed, without waking the
// keys loop (its retry does).
func (e *busEdge) keepChanged(ids []string) {
	e.changedMu.Lock()
	for _, id := range ids {
		e.changed[id] = true
	}
	e.changedMu.Unlock()
}

// takeChanged returns the devices reported changed since it was last
// called.
func (e *busEdge) takeChanged() []string {
	e.changedMu.Lock()
	defer e.changedMu.Unlock()
	ids := make([]string, 0, len(e.changed))
	for id := range e.changed {
		ids = append(ids, id)
	}
	clear(e.changed)
	return ids
}

// refresh loads every meter's and gateway's key and revocation into the
// directory with a new password cache (a changed MQTT password takes
// effect); devices revoked since the last load are disconnected.
func (e *busEdge) refresh(ctx context.Context) error {
	creds := devicecred.New(e.store, e.dir)
	creds.OnRevoke = e.disconnect
	if err := creds.LoadAll(ctx); err != nil {
		return err
	}
	e.creds.Store(creds)
	return nil
}

// disconnect ends a revoked device's MQTT session, if the broker runs.
func (e *busEdge) disconnect(id string) {
	if e.broker != nil {
		e.broker.Disconnect(id)
	}
}

// onReading checks a reading and publishes it; the PUBACK waits for the
// stream's PubAck, and reports a failure if the stream did not take it.
func (e *busEdge) onReading(r broker.Reading, ack func(broker.Ack)) {
	received := time.Now()
	key, rej := e.checker.Check(r.Payload, r.Device)
	if rej != nil {
		ack(rejectAck(rej))
		rej.Time, rej.Source = received, "mqtt:"+r.Source
		e.refused(*rej)
		if topic := broker.ReceiptsPrefix + r.Device; e.broker.Subscribed(topic) {
			_ = e.broker.Publish(topic, []byte(receiptText(ingest.Result{Reject: rej})), 0)
		}
		return
	}
	m := bus.Message{Raw: r.Payload, Source: "mqtt:" + r.Source, Received: received, Key: key,
		Device: r.Device, Receipt: e.broker.Subscribed(broker.ReceiptsPrefix + r.Device)}
	e.bus.conn.Publish(m, func(_ bool, err error) {
		if err != nil {
			ack(broker.Ack{Code: broker.CodeServerBusy, Message: ingest.ReasonUnavailable + ": " + err.Error()})
			return
		}
		ack(broker.Ack{Code: broker.CodeSuccess})
	})
}

// refused sends a refusal to the sequencer, which counts it in the store
// with the others; if the bus cannot take it, it is logged here.
func (e *busEdge) refused(r rejection.Rejection) {
	if err := e.bus.conn.PublishRefusal(r); err != nil {
		e.cfg.Logger.Warn("refusal not sent to the sequencer", "meter", r.Meter, "reason", r.Reason, "error", err)
	}
}

// Close stops the broker first (no PUBACK after), then the bus and store.
func (e *busEdge) Close() {
	if e.stop != nil {
		e.stop()
		e.bg.Wait()
	}
	e.gateway.close()
	if e.broker != nil {
		e.broker.Close()
	}
	if e.bus != nil {
		e.bus.Close()
	}
	if e.store != nil {
		_ = e.store.Close()
	}
}

// rejectAck is the PUBACK of a refused reading: its reason code and text.
func rejectAck(rej *rejection.Rejection) broker.Ack {
	code := broker.CodeImplementationErr
	switch rej.Reason {
	case ingest.ReasonMalformed, ingest.ReasonTooLarge, ingest.ReasonUnknownChannel, ingest.ReasonPointMismatch, ingest.ReasonInvalid:
		code = broker.CodePayloadFormatError
	case ingest.ReasonBadSignature, ingest.ReasonUnknownMeter, ingest.ReasonRevokedKey, ingest.ReasonWrongDevice, ingest.ReasonReplay, ingest.ReasonSeqJump:
		code = broker.CodeNotAuthorized
	case ingest.ReasonUnavailable:
		code = broker.CodeServerBusy
	}
	return broker.Ack{Code: code, Message: rej.Reason + ": " + rej.Detail}
}

// serveEdge runs serve --role edge until ctx ends.
func serveEdge(ctx context.Context, cfg serverConfig) int {
	e, err := openBusEdge(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		return 1
	}
	fmt.Printf("shuixiao %s edge serving\n  MQTT     %s\n  bus      %s\n  keys     from the store: changes as the sequencer reports them, all every %s\n", version, e.broker.Addr(), e.bus.URL(), cfg.Bus.Refresh)
	if e.gateway != nil {
		for proto, addr := range e.gateway.servers.addrs {
			fmt.Printf("  %-8s %s (gateway %s)\n", proto, addr, cfg.Gateways.ID)
		}
	}
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "shutting down…")
	e.Close()
	return 0
}
