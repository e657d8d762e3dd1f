package sim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// Config configures a simulator run. The zero value of every field but
// MQTT and API has a working default.
type Config struct {
	// MQTT is the broker address (host:port); API the server's base URL.
	MQTT string
	API  string
	// TLS, if set, is used for the MQTT sessions and, unless HTTP is set,
	// for the API (e.g. a RootCAs pool with the server's CA).
	TLS *tls.Config
	// Token is the admin token. If empty, SHUIXIAO_ADMIN_TOKEN and then
	// DataDir/admin.token are used.
	Token string
	// DataDir is the server's data directory: the admin token, the ledger
	// files the "tamper" injection edits, and (unless StateDir is set) the
	// simulator's own state in DataDir/sim.
	DataDir string
	// StateDir keeps meter chains, totalisers and unacknowledged readings
	// across restarts. Empty (and no DataDir): nothing is kept and meter
	// keys derive from the seed.
	StateDir string
	// Enterprises is the number of simulated enterprises (default 16).
	Enterprises int
	// Rate is readings per second per meter (default 0.1: one every 10 s).
	Rate float64
	// Duration stops the run after this long (0: until the context ends).
	Duration time.Duration
	// Speed compresses the production and weather patterns: at 60 a
	// simulated day passes in 24 minutes. Timestamps and volumes stay in
	// real time, so totalisers agree with flows (default 1).
	Speed float64
	// Seed makes the province and its noise reproducible.
	Seed int64
	// Inject lists fault injections (see Injections).
	Inject []string
	// InjectAfter is the warm-up before injections (default 15 s); they are
	// applied one after another, InjectEvery apart (default 2 s).
	InjectAfter, InjectEvery time.Duration
	// AckLog receives "meter seq index" for every acknowledged reading.
	AckLog io.Writer
	// Log receives progress and injection messages (default os.Stderr).
	Log io.Writer
	// Inflight bounds unacknowledged publishes per meter (default 1).
	Inflight int
	// HTTP is the client for the API (default: 30 s timeout).
	HTTP *http.Client
	// StatsEvery is the interval of progress lines (default 60 s, <0 off).
	StatsEvery time.Duration
	// ServerWait is how long Run waits for the API to answer (default 60 s).
	ServerWait time.Duration
	// ProcessPlants attaches a controlled cooling tower and reuse train
	// (ProcessPlant) to this many enterprises; ProcessSpeed is their process
	// seconds per wall second (default 240) and ProcessTick their step
	// (default 1 s).
	ProcessPlants int
	ProcessSpeed  float64
	ProcessTick   time.Duration
	// ParkNetwork also simulates the supply network of the park with the
	// most enterprises (package parknet): its water utility, the utility's
	// pressure, flow, level and customer meters, and the network itself,
	// registered for leak monitoring.
	ParkNetwork bool
	// HJ212 and SZY206 are the server's protocol gateways (host:port):
	// when set, enterprises' discharge outfalls speak HJ 212 and every
	// third enterprise's intake meter SZY 206, and the gateway Gateway
	// (default GW-SERVER, serve --gateway-id) signs for them (legacy.go).
	HJ212, SZY206 string
	Gateway       string
	// ParkSpeed is the park network's own clock speed (default Speed): its
	// instruments report once per 5 network minutes.
	ParkSpeed float64
	// ParkHistory, on the park network's first start, begins its clock
	// the monitor's calibration days (and two hours more) in the past and
	// has its instruments upload that logged history as fast as the server
	// acknowledges it, so that the leak monitor is calibrated soon after
	// start. Only when the whole history is younger than the admission's
	// skew limit at the park speed (see parkHistoryFits); otherwise the
	// network starts now, as without it.
	ParkHistory bool
	// ReportOutput has the enterprises report their daily product output
	// through the API (output.go), for the quota board and retrofit cases,
	// and first declare their annual statistics since 2020 and this year's
	// value added (statistics.go), for the province's targets.
	ReportOutput bool
}

// Injections are the fault injections Config.Inject accepts.
var Injections = []string{"offline", "reset", "replace", "leak", "replay", "forged-signature", "tamper", "skew", "pipe-leak", "ro-seal",
	"hj212-bad-crc", "hj212-wrong-password", "hj212-split", "reconnect-storm"}

// Stats counts a run.
type Stats struct {
	Signed, Acked, Receipts, Admitted, Duplicates, Rejected, Unexpected uint64
	// RejectedByReason counts rejection receipts by reason.
	RejectedByReason map[string]uint64
	Pending          int
	Connected        int
	Meters           int
}

// Sim is a running virtual province.
type Sim struct {
	cfg   Config
	prov  *Province
	store *Store
	api   *API
	log   io.Writer
	start time.Time

	legacyWG sync.WaitGroup // legacy devices' frames in flight

	mu       sync.Mutex
	ents     []*entRuntime
	devices  map[string]*Device
	acklogMu sync.Mutex
	logged   map[string]uint64 // last seq written to the ack log per meter
	injected map[string]string // "meter seq" → injection tag

	connMu     sync.Mutex
	connLogged time.Time
	connErrors int

	signed, acked, receipts, admitted, dups, rejected, unexpected atomic.Uint64
	byReason                                                      sync.Map // reason → *atomic.Uint64
	injectionReports                                              []InjectionReport
	processPlants                                                 []*ProcessPlant
	park                                                          *parkRuntime
}

// entRuntime is an enterprise while the simulator runs.
type entRuntime struct {
	e       *Enterprise
	mu      sync.Mutex
	devices []*Device // aligned with e.Points
	leak    map[meter.Source]float64
}

// Device is a simulated meter: its instrument (register, error), its
// signing chain and its MQTT session.
type Device struct {
	ID    string
	Point *Point
	chain *Chain
	conn  *Conn
	rng   *rand.Rand
	// legacy, for an HJ 212 or SZY 206 device, is its link to the
	// server's gateway, which signs for it (legacy.go); nil for a meter
	// that signs.
	legacy *legacy

	mu      sync.Mutex
	bias    float64
	total   float64
	lastQ   float64
	lastT   time.Time
	offline bool
	retired bool
	resumed bool // register restored from the state: the first step bridges the downtime
	skew    time.Duration
	recent  []Outgoing // last acknowledged readings, for the replay injection
}

// InjectionReport says what an injection did, where.
type InjectionReport struct {
	Kind       string
	Enterprise string
	Meter      string
	Detail     string
	Time       time.Time
	// Index and Seq locate a tampered ledger entry.
	Index int64
	Seq   uint64
}

// New prepares a simulator: it generates the province and opens the state.
func New(cfg Config) (*Sim, error) {
	if cfg.MQTT == "" || cfg.API == "" {
		return nil, errors.New("sim: MQTT broker address and API URL are required")
	}
	if cfg.Enterprises == 0 {
		cfg.Enterprises = 16
	}
	if cfg.Rate == 0 {
		cfg.Rate = 0.1
	}
	if cfg.Rate < 0 || cfg.Rate > 1000 || math.IsNaN(cfg.Rate) {
		return nil, fmt.Errorf("sim: rate %v readings/s per meter, want 0-1000", cfg.Rate)
	}
	if cfg.Speed == 0 {
		cfg.Speed = 1
	}
	if cfg.Speed < 0 || cfg.Speed > 1e5 {
		return nil, fmt.Errorf("sim: speed %v, want 0-100000", cfg.Speed)
	}
	if cfg.InjectAfter == 0 {
		cfg.InjectAfter = 15 * time.Second
	}
	if cfg.InjectEvery == 0 {
		cfg.InjectEvery = 2 * time.Second
	}
	if cfg.StatsEvery == 0 {
		cfg.StatsEvery = time.Minute
	}
	if cfg.ServerWait == 0 {
		cfg.ServerWait = time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = os.Stderr
	}
	if cfg.Gateway == "" {
		cfg.Gateway = "GW-SERVER"
	}
	for _, k := range cfg.Inject {
		if !validInjection(k) {
			return nil, fmt.Errorf("sim: unknown injection %q (known: %s)", k, strings.Join(Injections, ", "))
		}
		if k == "tamper" && cfg.DataDir == "" {
			return nil, errors.New("sim: --inject tamper edits the server's ledger files and needs --data DIR (the server's data directory)")
		}
	}
	prov, err := Generate(cfg.Seed, cfg.Enterprises)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	stateDir := cfg.StateDir
	if stateDir == "" && cfg.DataDir != "" {
		stateDir = filepath.Join(cfg.DataDir, "sim")
	}
	var store *Store
	if stateDir != "" {
		if store, err = OpenStore(stateDir, cfg.Seed); err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
	} else {
		store = MemoryStore(cfg.Seed)
	}
	token := cfg.Token
	if token == "" {
		token = os.Getenv("SHUIXIAO_ADMIN_TOKEN")
	}
	if token == "" && cfg.DataDir != "" {
		if raw, err := os.ReadFile(filepath.Join(cfg.DataDir, "admin.token")); err == nil {
			token = strings.TrimSpace(string(raw))
		}
	}
	s := &Sim{cfg: cfg, prov: prov, store: store, log: cfg.Log,
		api:     &API{Base: cfg.API, Token: token, HTTP: httpClient(cfg)},
		devices: map[string]*Device{}, logged: map[string]uint64{}, injected: map[string]string{}}
	return s, nil
}

func validInjection(k string) bool {
	for _, v := range Injections {
		if v == k {
			return true
		}
	}
	return false
}

// Province returns the generated province.
func (s *Sim) Province() *Province { return s.prov }

// Store returns the simulator's state store.
func (s *Sim) Store() *Store { return s.store }

// httpClient is the API client of a Config: its HTTP, else one that uses
// its TLS configuration (nil: the API's default client).
func httpClient(cfg Config) *http.Client {
	if cfg.HTTP != nil || cfg.TLS == nil {
		return cfg.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg.TLS}}
}

// API returns the simulator's API client.
func (s *Sim) API() *API { return s.api }

// Device returns the device with a meter ID (nil if unknown).
func (s *Sim) Device(id string) *Device {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.devices[id]
}

// InjectionReports returns what the injections did so far.
func (s *Sim) InjectionReports() []InjectionReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]InjectionReport(nil), s.injectionReports...)
}

// Stats returns the run's counters; it may be called while Run goes on.
func (s *Sim) Stats() Stats {
	st := Stats{Signed: s.signed.Load(), Acked: s.acked.Load(), Receipts: s.receipts.Load(),
		Admitted: s.admitted.Load(), Duplicates: s.dups.Load(), Rejected: s.rejected.Load(),
		Unexpected: s.unexpected.Load(), RejectedByReason: map[string]uint64{}}
	s.byReason.Range(func(k, v any) bool {
		st.RejectedByReason[k.(string)] = v.(*atomic.Uint64).Load()
		return true
	})
	s.mu.Lock()
	for _, d := range s.devices {
		st.Meters++
		if d.conn != nil {
			cs := d.conn.Stats()
			st.Pending += cs.Pending
			if cs.Connected {
				st.Connected++
			}
		}
	}
	s.mu.Unlock()
	return st
}

func (s *Sim) logf(format string, a ...any) {
	fmt.Fprintf(s.log, time.Now().Format("15:04:05 ")+format+"\n", a...)
}

// modelTime maps real time to the time of the production and weather
// patterns (compressed by Speed).
func (s *Sim) modelTime(t time.Time) time.Time {
	if s.cfg.Speed == 1 {
		return t
	}
	return s.start.Add(time.Duration(float64(t.Sub(s.start)) * s.cfg.Speed))
}

func (s *Sim) interval() time.Duration {
	return time.Duration(float64(time.Second) / s.cfg.Rate)
}

// Run registers the province with the server and publishes readings until
// ctx ends or Config.Duration has passed. It returns after a clean
// shutdown: readings on the wire are given a moment to be acknowledged and
// the state is saved.
func (s *Sim) Run(ctx context.Context) error {
	if s.cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.Duration)
		defer cancel()
	}
	defer s.store.Close()
	s.start = time.Now()
	c := s.prov.Count()
	s.logf("模拟省份 / simulated province: %d 个园区 parks, %d 家企业 enterprises, %d 个计量点 points (一级 L1 %d, 二级 L2 %d, 三级 L3 %d), seed %d",
		c.Parks, c.Enterprises, c.Points, c.ByLevel[meter.Level1], c.ByLevel[meter.Level2], c.ByLevel[meter.Level3], s.prov.Seed)
	if err := s.waitServer(ctx); err != nil {
		return err
	}
	if err := s.register(ctx); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil
	}
	s.logf("已注册，开始发布 / registered; publishing %d meters at %.3g readings/s each to %s", len(s.devices), s.cfg.Rate, s.cfg.MQTT)
	for _, d := range s.allDevices() {
		s.connect(d)
	}
	var wg sync.WaitGroup
	for i, er := range s.ents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Stagger enterprises over one interval.
			phase := time.Duration(float64(s.interval()) * float64(i) / float64(len(s.ents)))
			s.runEnterprise(ctx, er, phase)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.housekeeping(ctx)
	}()
	if s.cfg.ReportOutput {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.declareStatistics(ctx) // statistics.go
			s.declarePlans(ctx)      // plans.go (plancarbon)
			// The plan's registries (registries.go); the case link waits for
			// the quota review, so it runs beside the output reports.
			go s.seedRegistries(ctx)
			s.reportOutput(ctx)
		}()
	}
	if err := s.startParkNetwork(ctx, &wg); err != nil {
		s.logf("园区管网未启动 / park network not started: %v", err)
	}
	if err := s.startProcessPlants(ctx, &wg); err != nil {
		s.logf("受控装置未启动 / controlled plants not started: %v", err)
	}
	if len(s.cfg.Inject) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.runInjections(ctx)
		}()
	}
	<-ctx.Done()
	wg.Wait()
	s.shutdown()
	st := s.Stats()
	s.logf("结束 / done: signed %d, acked %d, admitted %d, duplicates %d, rejected %d (unexpected %d), pending %d",
		st.Signed, st.Acked, st.Admitted, st.Duplicates, st.Rejected, st.Unexpected, st.Pending)
	return nil
}

func (s *Sim) waitServer(ctx context.Context) error {
	deadline := time.Now().Add(s.cfg.ServerWait)
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.api.Health(cctx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sim: server %s not answering: %w", s.cfg.API, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (s *Sim) allDevices() []*Device {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Device, 0, len(s.devices))
	for _, er := range s.ents {
		er.mu.Lock()
		out = append(out, er.devices...)
		er.mu.Unlock()
	}
	if s.park != nil {
		out = append(out, s.park.devices...)
	}
	return out
}

// register creates parks, enterprises, points and meters (409 = already
// there) and sets up each point's current meter from the state.
func (s *Sim) register(ctx context.Context) error {
	if s.api.Token == "" {
		return errors.New("sim: no admin token: give --token, set SHUIXIAO_ADMIN_TOKEN, or --data DIR with DIR/admin.token")
	}
	ignoreExists := func(err error) error {
		if err == nil || IsExists(err) {
			return nil
		}
		return err
	}
	for _, p := range s.prov.Parks {
		if err := ignoreExists(s.api.CreatePark(ctx, p)); err != nil {
			return fmt.Errorf("sim: register park %s: %w", p.ID, err)
		}
	}
	// Enterprises and their points in parallel; within an enterprise,
	// parents before children.
	errs := make(chan error, len(s.prov.Enterprises))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, e := range s.prov.Enterprises {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := ignoreExists(s.api.CreateEnterprise(ctx, e.Enterprise)); err != nil {
				errs <- fmt.Errorf("sim: register enterprise %s: %w", e.ID, err)
				return
			}
			for _, pt := range e.Points {
				if err := ignoreExists(s.api.CreatePoint(ctx, pt.Point)); err != nil {
					errs <- fmt.Errorf("sim: register point %s: %w", pt.ID, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	// Devices, then their keys, in parallel.
	var all []*Device
	for ei, e := range s.prov.Enterprises {
		er := &entRuntime{e: e, leak: map[meter.Source]float64{}}
		for _, pt := range e.Points {
			d, err := s.newDevice(pt)
			if err != nil {
				return err
			}
			d.legacy = s.newLegacy(d, ei)
			er.devices = append(er.devices, d)
			all = append(all, d)
		}
		s.ents = append(s.ents, er)
	}
	errs = make(chan error, len(all))
	for _, d := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := s.registerMeter(ctx, d); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	s.mu.Lock()
	for _, d := range all {
		s.devices[d.ID] = d
	}
	s.mu.Unlock()
	return nil
}

// newDevice builds the device currently installed on a point: the
// original meter, or its replacement from the state.
func (s *Sim) newDevice(pt *Point) (*Device, error) {
	id, bias, base := pt.Meter.ID, pt.Meter.Bias, pt.Meter.Base
	if r, ok := s.store.Replacement(pt.ID); ok {
		id, bias, base = r.New, r.Bias, r.Base
	}
	skey, _, err := MeterKey(s.store.Secret(), id)
	if err != nil {
		return nil, err
	}
	st, known := s.store.Meter(id)
	prev, err := st.PrevHash()
	if err != nil {
		return nil, fmt.Errorf("sim: state of %s: %w", id, err)
	}
	chain, err := NewChainFromKey(id, pt.ID, skey, st.Seq, prev)
	if err != nil {
		return nil, err
	}
	d := &Device{ID: id, Point: pt, chain: chain, bias: bias, total: base,
		rng: rand.New(rand.NewPCG(uint64(s.prov.Seed), regionKey(id)))}
	if known && !st.Time.IsZero() {
		d.total = st.Total
		d.lastT = st.Time // the register kept counting while the simulator was down
		d.resumed = true
	}
	d.retired = st.Revoked
	return d, nil
}

func (s *Sim) registerMeter(ctx context.Context, d *Device) error {
	return s.registerMeterEvery(ctx, d, max(1, int(math.Round(1/s.cfg.Rate))))
}

// registerMeterEvery registers a meter that reports every intervalS seconds.
func (s *Sim) registerMeterEvery(ctx context.Context, d *Device, intervalS int) error {
	if d.legacy != nil {
		return s.registerLegacy(ctx, d, intervalS)
	}
	_, vkey, err := MeterKey(s.store.Secret(), d.ID)
	if err != nil {
		return err
	}
	reg := MeterRegistration{ID: d.ID, Point: d.Point.ID, Key: vkey, Signed: string(d.Point.Meter.Signed),
		IntervalS: intervalS, MQTTPassword: MQTTPassword(s.store.Secret(), d.ID)}
	_, created, err := s.api.RegisterMeter(ctx, reg)
	if created {
		return nil
	}
	if err != nil && !IsExists(err) {
		return fmt.Errorf("sim: register meter %s: %w", d.ID, err)
	}
	// Already registered: check the key and catch up with the server's
	// view of the chain (state lost or kept elsewhere).
	info, err := s.api.Meter(ctx, d.ID)
	if err != nil {
		return fmt.Errorf("sim: meter %s: %w", d.ID, err)
	}
	if info.Key != "" && info.Key != vkey {
		s.logf("警告 warning: meter %s is registered with another key (state from another --data/--seed?); its readings will be rejected", d.ID)
	}
	if info.Revoked {
		s.logf("警告 warning: meter %s is revoked on the server; it stays silent", d.ID)
		d.retired = true
		return nil
	}
	if info.LastSeq > d.chain.Seq() {
		total := d.total
		if rs, err := s.api.Readings(ctx, d.ID, time.Time{}, time.Time{}, 1, true); err == nil && len(rs) > 0 {
			if v, ok := rs[0].Values["total_m3"]; ok {
				total = v
			}
		}
		s.logf("同步 sync: meter %s continues after the server's seq %d (local %d); its next reading is flagged as a gap", d.ID, info.LastSeq, d.chain.Seq())
		d.chain.seq, d.chain.prev = info.LastSeq, reading.Hash{}
		d.total = total
		s.store.SetChain(d.ID, info.LastSeq, reading.Hash{}, total)
	}
	return nil
}

// connect starts a device's MQTT session and queues its unacknowledged readings.
func (s *Sim) connect(d *Device) {
	d.mu.Lock()
	retired := d.retired
	d.mu.Unlock()
	if retired || d.legacy != nil {
		return
	}
	conn := Dial(ConnConfig{Broker: s.cfg.MQTT, TLS: s.cfg.TLS, Username: d.ID, Password: MQTTPassword(s.store.Secret(), d.ID),
		Inflight: s.cfg.Inflight,
		OnAck: func(a Ack) {
			s.acked.Add(1)
			s.store.Acked(a.Meter, a.Seq)
			if a.Tag == "" {
				d.mu.Lock()
				d.recent = append(d.recent, Outgoing{Seq: a.Seq, Note: a.Note})
				if len(d.recent) > 16 {
					d.recent = d.recent[1:]
				}
				d.mu.Unlock()
			}
		},
		OnReceipt: s.onReceipt,
		OnState: func(connected bool, err error) {
			if err != nil && !connected {
				s.connectionError(d.ID, err)
			}
		},
	})
	// Under s.mu: Stats reads the sessions of s.devices while the run goes
	// on, and a device may be in s.devices before its session opens (the
	// park network's are registered first).
	s.mu.Lock()
	d.conn = conn
	s.mu.Unlock()
	if st, ok := s.store.Meter(d.ID); ok {
		for _, msg := range st.Pending {
			if r, err := reading.Parse(msg); err == nil {
				d.conn.Send(Outgoing{Seq: r.Seq, Time: r.Time, Note: msg})
			}
		}
	}
}

// connectionError logs MQTT connection failures, at most one line every
// 10 s, so that a server restart does not print a line per meter.
func (s *Sim) connectionError(meterID string, err error) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	s.connErrors++
	if time.Since(s.connLogged) < 10*time.Second {
		return
	}
	more := ""
	if s.connErrors > 1 {
		more = fmt.Sprintf(" (%d connection errors in all since the last line)", s.connErrors)
	}
	s.logf("连接 connection %s: %v%s", meterID, err, more)
	s.connLogged, s.connErrors = time.Now(), 0
}

func (s *Sim) onReceipt(r Receipt) {
	s.receipts.Add(1)
	key := r.Meter + " " + strconv.FormatUint(r.Seq, 10)
	s.mu.Lock()
	tag, injected := s.injected[key]
	s.mu.Unlock()
	if r.Rejected != "" {
		s.rejected.Add(1)
		v, _ := s.byReason.LoadOrStore(r.Rejected, new(atomic.Uint64))
		v.(*atomic.Uint64).Add(1)
		if injected {
			s.logf("拒收（预期）rejected as expected: meter %s seq %d (%s): %s", r.Meter, r.Seq, tag, r.Rejected)
		} else {
			s.unexpected.Add(1)
			s.logf("拒收 rejected: meter %s seq %d: %s", r.Meter, r.Seq, r.Rejected)
		}
		return
	}
	s.admitted.Add(1)
	if r.Has("dup") {
		s.dups.Add(1)
		if injected {
			s.logf("重复提交（预期）duplicate as expected: meter %s seq %d (%s) → original index %d", r.Meter, r.Seq, tag, r.Index)
		}
	}
	if s.cfg.AckLog == nil {
		return
	}
	s.acklogMu.Lock()
	defer s.acklogMu.Unlock()
	if r.Seq <= s.logged[r.Meter] {
		return
	}
	s.logged[r.Meter] = r.Seq
	fmt.Fprintf(s.cfg.AckLog, "%s %d %d\n", r.Meter, r.Seq, r.Index)
}

func (s *Sim) runEnterprise(ctx context.Context, er *entRuntime, phase time.Duration) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(phase):
	}
	tick := time.NewTicker(s.interval())
	defer tick.Stop()
	s.step(er, time.Now())
	for {
		select {
		case <-ctx.Done():
			return
		case t := <-tick.C:
			s.step(er, t)
		}
	}
}

// step samples the enterprise's water system, signs one reading per
// online meter, journals them and hands them to the MQTT sessions.
func (s *Sim) step(er *entRuntime, now time.Time) {
	er.mu.Lock()
	leak := make(map[meter.Source]float64, len(er.leak))
	for k, v := range er.leak {
		leak[k] = v
	}
	devices := append([]*Device(nil), er.devices...)
	er.mu.Unlock()
	_, samples := er.e.Sample(&s.prov.Params, s.modelTime(now), leak)
	var b signedBatch
	for i, d := range devices {
		if d.legacy != nil {
			if at, values, ok := d.sample(now, samples[i], s.prov.Params.FlowNoise); ok {
				s.legacyStep(d, at, values)
			}
			continue
		}
		o, ok, err := d.measure(now, samples[i], s.prov.Params.FlowNoise)
		s.keep(&b, d, o, ok, err)
	}
	if err := s.send(&b); err != nil {
		s.logf("状态写入失败 state journal: %v", err)
	}
}

// signedBatch is one step's signed readings, journaled before they are sent.
type signedBatch struct {
	devices []*Device
	outs    []Outgoing
}

// keep journals a reading a device just signed (ok false: the meter is
// offline or silent) and adds it to the batch.
func (s *Sim) keep(b *signedBatch, d *Device, o Outgoing, ok bool, err error) {
	if err != nil {
		s.logf("签名失败 signing failed: %s: %v", d.ID, err)
		return
	}
	if !ok {
		return
	}
	if err := s.store.Signed(d.ID, o.Seq, d.Total(), o.Time, o.Note); err != nil {
		s.logf("状态写入失败 state journal: %v", err)
	}
	b.devices = append(b.devices, d)
	b.outs = append(b.outs, o)
}

// send syncs the journal, then hands the batch to the MQTT sessions: a
// reading on the wire is never lost from the state, so a restart never
// signs its seq again with other values. If the sync fails nothing is sent.
func (s *Sim) send(b *signedBatch) error {
	if err := s.store.Sync(); err != nil {
		return err
	}
	for i, d := range b.devices {
		s.signed.Add(1)
		if d.conn != nil {
			d.conn.Send(b.outs[i])
		}
	}
	return nil
}

// Total is the device's register, m³.
func (d *Device) Total() float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.total
}

var decimals = map[string]int{"total_m3": 3, "flow_m3h": 3, "pressure_mpa": 3, "ph": 2, "cond_us_cm": 1,
	"turb_ntu": 2, "cod_mg_l": 1, "nh3n_mg_l": 2}

// measure advances the register to now and, if the meter is online,
// signs a reading. The register integrates the true flow with the meter's
// systematic error; the flow reading adds random noise.
func (d *Device) measure(now time.Time, smp Sample, noise float64) (Outgoing, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	values, t, ok := d.read(now, smp, noise)
	if !ok {
		return Outgoing{}, false, nil
	}
	msg, seq, err := d.chain.Next(t, values)
	if err != nil {
		return Outgoing{}, false, err
	}
	return Outgoing{Seq: seq, Time: t, Note: msg}, true, nil
}

// sample advances the register to now and, if the device is online,
// returns the values a legacy device sends and their time.
func (d *Device) sample(now time.Time, smp Sample, noise float64) (time.Time, map[string]float64, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	values, t, ok := d.read(now, smp, noise)
	if !ok {
		return time.Time{}, nil, false
	}
	out := make(map[string]float64, len(values))
	for _, v := range values {
		out[v.Channel] = v.Value
	}
	return t, out, true
}

// read advances the register to now and, if the device is online, reads
// its channels (rounded as the meter shows them) at its own clock's time.
// d.mu is held.
func (d *Device) read(now time.Time, smp Sample, noise float64) ([]reading.Value, time.Time, bool) {
	if !d.lastT.IsZero() && now.After(d.lastT) {
		h := math.Min(now.Sub(d.lastT).Hours(), 7*24)
		q0 := d.lastQ
		if d.resumed {
			q0 = smp.Flow // the flow while the simulator was down is not known
		}
		d.total += (q0 + smp.Flow) / 2 * (1 + d.bias) * h
	}
	d.lastQ, d.lastT, d.resumed = smp.Flow, now, false
	if d.offline || d.retired {
		return nil, time.Time{}, false
	}
	flow := smp.Flow * (1 + d.bias) * (1 + noise*d.rng.NormFloat64())
	values := make([]reading.Value, 0, len(d.Point.Spec.Channels))
	for _, ch := range d.Point.Spec.Channels {
		var v float64
		switch ch {
		case "total_m3":
			v = d.total
		case "flow_m3h":
			v = math.Max(flow, 0)
		default:
			v = smp.Quality[ch]
		}
		dec, ok := decimals[ch]
		if !ok {
			dec = 3
		}
		text := strconv.FormatFloat(v, 'f', dec, 64)
		v, _ = strconv.ParseFloat(text, 64)
		values = append(values, reading.Value{Channel: ch, Value: v, Text: text})
	}
	return values, now.Add(d.skew), true
}

func (s *Sim) housekeeping(ctx context.Context) {
	snap := time.NewTicker(30 * time.Second)
	defer snap.Stop()
	var stats <-chan time.Time
	if s.cfg.StatsEvery > 0 {
		t := time.NewTicker(s.cfg.StatsEvery)
		defer t.Stop()
		stats = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-snap.C:
			if err := s.store.Snapshot(); err != nil {
				s.logf("状态保存失败 state snapshot: %v", err)
			}
		case <-stats:
			st := s.Stats()
			reasons := make([]string, 0, len(st.RejectedByReason))
			for k, v := range st.RejectedByReason {
				reasons = append(reasons, fmt.Sprintf("%s=%d", k, v))
			}
			sort.Strings(reasons)
			s.logf("进度 progress: signed %d, acked %d, admitted %d, rejected %d [%s], pending %d, connected %d/%d",
				st.Signed, st.Acked, st.Admitted, st.Rejected, strings.Join(reasons, " "), st.Pending, st.Connected, st.Meters)
		}
	}
}

// shutdown gives queued readings a moment to be acknowledged, closes the
// sessions and keeps what is left as pending in the state.
func (s *Sim) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	devs := s.allDevices()
	s.legacyWG.Wait()
	var wg sync.WaitGroup
	for _, d := range devs {
		if d.legacy != nil {
			d.legacy.close()
		}
		if d.conn == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.conn.Flush(ctx)
			d.conn.Close()
		}()
	}
	wg.Wait()
}
