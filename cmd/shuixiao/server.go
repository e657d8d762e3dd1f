package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/net/netutil"
	"k8s.io/klog/v2"

	"github.com/shuixiao/shuixiao/internal/actuate"
	"github.com/shuixiao/shuixiao/internal/alarmwatch"
	"github.com/shuixiao/shuixiao/internal/api"
	"github.com/shuixiao/shuixiao/internal/atomicfile"
	"github.com/shuixiao/shuixiao/internal/broker"
	"github.com/shuixiao/shuixiao/internal/bus"
	"github.com/shuixiao/shuixiao/internal/control"
	"github.com/shuixiao/shuixiao/internal/devicecred"
	"github.com/shuixiao/shuixiao/internal/efficiency"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/internal/mv"
	"github.com/shuixiao/shuixiao/internal/netmon"
	"github.com/shuixiao/shuixiao/internal/planuse"
	"github.com/shuixiao/shuixiao/internal/registry"
	"github.com/shuixiao/shuixiao/internal/rights"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/tokens"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/rejection"
	"github.com/shuixiao/shuixiao/web"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

var klogOnce sync.Once

// routeKlog sends Tessera's klog lines into our logger. klog's logger is a
// process global, so this is done once, by the command, before any log opens.
func routeKlog(log *slog.Logger) {
	klogOnce.Do(func() { klog.SetSlogLogger(log.With("part", "tessera")) })
}

// serverConfig is what serve and demo share.
type serverConfig struct {
	Data     string
	HTTPAddr string
	MQTTAddr string
	// Store is where the store lives: "" for SQLite in Data, or a
	// PostgreSQL URL (see openStore).
	Store         string
	WitnessPolicy string // file
	Origin        string
	// TLS certificate and key files (PEM); empty: plain HTTP and MQTT.
	// See serverTLS.
	TLSCert, TLSKey         string
	MQTTTLSCert, MQTTTLSKey string
	// Admission bounds seq jumps and clocks ahead; zero fields take
	// ingest.DefaultPolicy's.
	Admission ingest.Policy
	Logger    *slog.Logger
	// ControlClock is the control plane's time (nil: the wall clock): the
	// control loops step on it and the actuation layer times commands,
	// acknowledgements and refreshes by it. A test driving a paced
	// simulated plant gives the plant's, so that the server and the plant
	// pause together.
	ControlClock control.Clock
	// MQTT holds the broker's limits (MaxClients, MaxPending,
	// ConnectTimeout, FailedLogins, Publishes); zero fields take the
	// broker's defaults, and openServer sets the rest.
	MQTT broker.Options
	// HTTPReadTimeout bounds reading a request, body included, and
	// HTTPWriteTimeout writing its answer; defaults httpReadTimeout and
	// httpWriteTimeout.
	HTTPReadTimeout, HTTPWriteTimeout time.Duration
	// HTTPMaxConns caps open HTTP connections; default httpMaxConns. Past
	// it, new connections wait in the kernel's backlog until one closes.
	HTTPMaxConns int
	// Quota is the retrofit-case policy (deadline, evidence months); zero
	// fields take the defaults of package quotacase.
	Quota efficiency.Policy
	// ReportFont is the Chinese TrueType font PDF reports embed; empty
	// searches the usual system places (report.FontCandidates).
	ReportFont string
	// Gateways configures the server's own protocol gateway (off unless a
	// listener, a Modbus map or Enable is given).
	Gateways gatewayConfig
	// Bus is the role of this process in bus mode (busmode.go).
	Bus busConfig
}

// server is the whole platform in one process.
type server struct {
	cfg      serverConfig
	store    serverStore
	ledger   *ledger.Log
	dir      *ingest.Directory
	pipeline *ingest.Pipeline
	broker   *broker.Broker
	live     *api.Live
	alarms   *alarmwatch.Monitor
	plans    *planuse.Service // plan and permit tracking (plancarbon)
	http     *http.Server
	httpLn   net.Listener
	https    bool // httpLn serves TLS (http.Server may set TLSConfig itself, for HTTP/2)
	devices  *devicecred.Credentials
	control  *controlPlane
	leaks    *netmon.Monitor
	quota    *efficiency.Cases
	gateway  *serverGateway
	token    string
	metrics  *prometheus.Registry
	stopBg   context.CancelFunc
	bg       sync.WaitGroup
	bus      *sequencerBus // --role sequencer
	// edgeKeys is where the sequencer tells the edges of key changes
	// (keysChanged), once its bus is open; until then a sequencer keeps
	// the changed devices in keysPending (those the catch-up with the
	// ledger applied among them) and startBus sends them. keysMu orders
	// the two.
	edgeKeys    atomic.Pointer[bus.Conn]
	keysMu      sync.Mutex
	keysPending map[string]bool
	// rights runs the water-rights certificates; its Statements are
	// helper mv's M&V statements, wired at merge (nil: none issued).
	rights *rights.Service
	// meterList is the registry's meters for the offline check, kept in
	// step with registrations and revocations (devices.OnChange).
	meterList *alarmwatch.MeterList
}

// Timeouts of the HTTP server: reading a request with its body, writing the
// answer, and keeping an idle connection.
const (
	httpReadTimeout  = 30 * time.Second
	httpWriteTimeout = 2 * time.Minute
	httpIdleTimeout  = 2 * time.Minute
	httpMaxConns     = 4096
)

// adminTokenFile is where a data directory keeps its admin token.
const adminTokenFile = "admin.token"

// openServer opens (or creates) a data directory and starts every part:
// store, ledger (with catch-up), key directory, ingest pipeline, MQTT broker
// and HTTP server. Addresses in use are reported before anything is created.
func openServer(ctx context.Context, cfg serverConfig) (*server, error) {
	log := cfg.Logger
	httpTLS, mqttTLS, err := serverTLS(cfg)
	if err != nil {
		return nil, err
	}
	// Listen first: a port in use is the commonest start-up failure.
	httpLn, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		if strings.Contains(err.Error(), "address already in use") {
			return nil, fmt.Errorf("HTTP address %s is already in use; choose another with --http", cfg.HTTPAddr)
		}
		return nil, fmt.Errorf("HTTP listen on %s: %w", cfg.HTTPAddr, err)
	}
	ok := false
	defer func() {
		if !ok {
			httpLn.Close()
		}
	}()
	if err := os.MkdirAll(cfg.Data, 0o750); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	s := &server{cfg: cfg, httpLn: httpLn, https: httpTLS != nil, live: api.NewLive(), dir: ingest.NewDirectory(), metrics: prometheus.NewRegistry()}
	s.metrics.MustRegister(collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
		collectors.MetricsGC, collectors.MetricsMemory, collectors.MetricsScheduler)), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	st, where, err := openStore(ctx, cfg.Store, cfg.Data, log)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	log.Info("store opened / 存储已打开", "store", where)
	s.store = st
	defer func() {
		if !ok {
			s.closeParts(context.Background())
		}
	}()
	var policy []byte
	if cfg.WitnessPolicy != "" {
		if policy, err = os.ReadFile(cfg.WitnessPolicy); err != nil {
			return nil, fmt.Errorf("witness policy: %w", err)
		}
	}
	lg, err := ledger.Open(ctx, ledger.Options{Dir: filepath.Join(cfg.Data, "ledger"), Origin: cfg.Origin,
		WitnessPolicy: policy, Registerer: s.metrics, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	s.ledger = lg
	if err := s.ensureAdminToken(ctx); err != nil {
		return nil, err
	}
	if err := seedRegions(ctx, st); err != nil {
		return nil, err
	}
	s.devices = devicecred.New(st, s.dir)
	if cfg.Bus.Role == roleSequencer {
		s.keysPending = map[string]bool{}
	}
	s.devices.OnCredentialChange = s.keysChanged // bus mode: to the edges, from the catch-up on
	if err := s.devices.LoadAll(ctx); err != nil {
		return nil, err
	}
	logKey, err := note.NewVerifier(lg.VerifierKey())
	if err != nil {
		return nil, err
	}
	// Water-rights certificates: one service keeps their fold, from the
	// catch-up on (its pipeline and statements are set once they exist).
	s.rights = &rights.Service{Store: st, Ledger: lg}
	n, quarantined, err := ingest.CatchUp(ctx, lg, st, logKey, s.dir, cfg.Admission, func(ctx context.Context, ke *reading.KeyEntry) error {
		if ke.IsGateway() {
			return s.devices.KeyApplied(ctx, ke, "")
		}
		if ke.Action == reading.ActionRevoke {
			s.dir.Revoke(ke.Meter)
			s.keysChanged(ke.Meter)
			return nil
		}
		return s.devices.Registered(ctx, ke.Meter, "")
	}, func(ctx context.Context, index uint64, entry []byte) error {
		if reading.Kind(entry) == reading.RightHeader { // water-rights certificates (helper certs)
			err := s.rights.ApplyEntry(ctx, index, entry)
			if errors.Is(err, store.ErrInvalid) {
				log.Error("certificate entry refused by the fold; skipped (verify log reports it)", "index", index, "error", err)
				return nil
			}
			return err
		}
		if reading.Kind(entry) != reading.CommandHeader {
			log.Warn("ledger entry of an unknown kind; skipped", "index", index)
			return nil
		}
		ce, err := reading.ParseCommandEntry(entry)
		if err != nil {
			log.Error("command entry does not parse; skipped", "index", index, "error", err)
			return nil
		}
		return actuate.Recover(ctx, st, ce, index)
	}, time.Now(), log)
	if err != nil {
		return nil, fmt.Errorf("catch up with the ledger: %w", err)
	}
	if n > 0 || len(quarantined) > 0 {
		log.Info("store caught up with the ledger", "entries", n, "quarantined", len(quarantined))
	}
	states, err := st.AdmissionStates(ctx)
	if err != nil {
		return nil, err
	}
	init := make(map[string]ingest.MeterState, len(states))
	for _, ms := range states {
		init[ms.Meter] = ingest.MeterState{Seq: ms.Seq, Hash: ms.Hash, Index: ms.Index, Known: true}
	}
	s.live.Load(states, func(m string) string {
		if d, ok := s.dir.Get(m); ok {
			return d.Enterprise
		}
		return ""
	})
	// Plan and permit tracking, shared by the API and the plan alarms.
	s.plans = &planuse.Service{Src: st}
	s.alarms = alarmwatch.New(alarmwatch.Options{Store: st, Notify: s.live.Alarm, Logger: log, Balance: alarmwatch.BalanceCheck{Store: st},
		Plan: alarmwatch.PlanCheck{Boards: s.plans}})
	s.alarms.Quarantined(quarantined) // raised once the monitor runs
	s.leaks = netmon.New(netmon.Options{Store: st, Notify: s.live.Alarm, Logger: log.With("part", "netmon")})
	s.pipeline, err = ingest.New(ingest.Options{Ledger: lg, Store: s.alarms.CommitsTo(st), Directory: s.dir, States: init, Logger: log, Policy: cfg.Admission,
		OnCommitted: s.committed, Registerer: s.metrics, Quarantined: len(quarantined),
		Linger: cfg.Bus.ingestLinger()}) // bus mode: longer batches (busmode.go)
	if err != nil {
		return nil, err
	}
	if err := s.openControl(ctx); err != nil {
		return nil, err
	}
	if err := s.pointsOnLedger(ctx); err != nil {
		return nil, err
	}
	if err := s.collectorsOnLedger(ctx); err != nil {
		return nil, err
	}
	s.meterList = &alarmwatch.MeterList{Store: st}
	s.devices.OnChange = func(ids ...string) { s.meterList.Changed(ids...); s.alarms.RegistryChanged(ids...) }
	s.devices.OnRevoke = func(id string) {
		if s.broker != nil {
			s.broker.Disconnect(id)
		}
	}
	bo := cfg.MQTT
	bo.Addr = cfg.MQTTAddr
	bo.TLS = mqttTLS
	bo.Authenticate = s.devices.Authenticate
	bo.OnReading = s.onMQTTReading
	// Devices publish command acknowledgements besides readings.
	bo.OnDeviceMessage = s.onDeviceMessage
	bo.OnRefused = s.onMQTTRefused
	bo.Logger = log.With("part", "mqtt")
	s.broker, err = broker.New(bo)
	if err != nil {
		return nil, err
	}
	b := s.broker
	s.metrics.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shuixiao_mqtt_clients",
		Help: "Devices connected to the embedded MQTT broker."}, func() float64 { return float64(b.Clients()) }))
	for limit, count := range map[string]func(broker.Stats) uint64{
		"pending":         func(st broker.Stats) uint64 { return st.PendingRefused },
		"connect-timeout": func(st broker.Stats) uint64 { return st.ConnectTimeouts },
		"bad-username":    func(st broker.Stats) uint64 { return st.BadUsernames },
		"login-throttle":  func(st broker.Stats) uint64 { return st.LoginsThrottled },
		"takeover":        func(st broker.Stats) uint64 { return st.TakenOver },
		"publish-rate":    func(st broker.Stats) uint64 { return st.RateLimited },
	} {
		s.metrics.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shuixiao_mqtt_limited_total",
			Help: "Connections and publishes the MQTT broker's limits refused or ended.", ConstLabels: prometheus.Labels{"limit": limit}},
			func() float64 { return float64(count(b.Stats())) }))
	}
	live := s.live
	s.metrics.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shuixiao_live_streams",
		Help: "Live event streams (server-sent events) open."}, func() float64 { return float64(live.Subscribers()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shuixiao_live_streams_dropped_total",
			Help: "Live event streams closed for falling behind."}, func() float64 { return float64(live.Dropped()) }))
	if err := s.broker.Start(); err != nil {
		return nil, fmt.Errorf("start MQTT broker: %w", err)
	}
	s.quota = &efficiency.Cases{Store: st, Policy: cfg.Quota}
	if cfg.Gateways.on() {
		if err := s.openGateway(ctx, states); err != nil {
			return nil, err
		}
	}
	if err := s.startBus(ctx); err != nil {
		return nil, err
	}
	// Water-rights certificates, issued from the M&V statements the store keeps.
	s.rights.Ingest, s.rights.Statements = s.pipeline, &mv.Service{Store: st}
	apiSrv := api.New(api.Options{Store: st, Ledger: lg, Ingest: s.pipeline, Devices: s.devices, Live: s.live,
		WitnessPolicy: string(policy), Version: version, Logger: log, Plants: s.control.runner, Controls: st, Networks: s.leaks, Quota: s.quota,
		ReportFont: cfg.ReportFont, Gateways: s.apiGateways(), Rights: s.rights, Plans: s.plans})
	mux := http.NewServeMux()
	mux.Handle("/api/", apiSrv)
	tiles := http.StripPrefix("/ledger", lg.Handler())
	mux.Handle("/ledger/", tiles)
	// Entry bundles hold every tenant's readings and commands; checkpoints
	// and hash tiles stay public (docs/api.md, "What the ledger shows").
	mux.Handle("/ledger/tile/entries/", apiSrv.AuditorsOnly(tiles))
	mux.Handle("GET /metrics", apiSrv.AuditorsOnly(promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{})))
	mux.Handle("/", web.Handler())
	readTimeout, writeTimeout := cfg.HTTPReadTimeout, cfg.HTTPWriteTimeout
	if readTimeout <= 0 {
		readTimeout = httpReadTimeout
	}
	if writeTimeout <= 0 {
		writeTimeout = httpWriteTimeout
	}
	// Every request is bounded in time: headers, body, the answer and an
	// idle keep-alive. Live streams and CSV exports set their own deadlines
	// (api.streaming, api/live.go).
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: min(10*time.Second, readTimeout), ReadTimeout: readTimeout,
		WriteTimeout: writeTimeout, IdleTimeout: httpIdleTimeout, TLSConfig: httpTLS,
		ErrorLog: httpErrorLog(log.With("part", "http"))}
	maxConns := cfg.HTTPMaxConns
	if maxConns <= 0 {
		maxConns = httpMaxConns
	}
	// The connection cap counts TCP connections; TLS runs inside it.
	var served net.Listener = netutil.LimitListener(httpLn, maxConns)
	go func() {
		var err error
		if httpTLS != nil {
			err = s.http.ServeTLS(served, "", "") // the certificate is in TLSConfig
		} else {
			err = s.http.Serve(served)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP server", "error", err)
		}
	}()
	bg, cancel := context.WithCancel(context.Background())
	s.stopBg = cancel
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.alarms.Run(bg, s.live.Received, s.meterList.Meters)
	}()
	s.runControl(bg)
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.leaks.Run(bg)
	}()
	// The quota review (retrofit cases) of the last complete month, at the
	// start and then daily: idempotent, so a restart repeats nothing.
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		qlog := log.With("part", "quota")
		s.quota.Run(bg, 24*time.Hour, func(format string, a ...any) { qlog.Info(fmt.Sprintf(format, a...)) })
	}()
	ok = true
	return s, nil
}

// committed fans a pipeline commit out to the live stream, receipts and alarms.
func (s *server) committed(c *ingest.Committed) {
	s.live.Committed(c)
	s.alarms.Committed(c)
	s.leaks.Committed(c)
	if s.control != nil {
		s.control.runner.Observe(c.Readings)
	}
}

// onMQTTReading hands an MQTT reading to the pipeline and answers the PUBACK
// and the receipt topic when it is durable.
func (s *server) onMQTTReading(r broker.Reading, ack func(broker.Ack)) {
	s.pipeline.Submit(r.Payload, r.Device, "mqtt:"+r.Source, func(res ingest.Result) {
		if res.Reject != nil {
			ack(rejectAck(res.Reject))
		} else {
			ack(broker.Ack{Code: broker.CodeSuccess})
		}
		if topic := broker.ReceiptsPrefix + r.Device; s.broker.Subscribed(topic) {
			_ = s.broker.Publish(topic, []byte(receiptText(res)), 0)
		}
	})
}

// onMQTTRefused records a refused connection or publish. A username that is
// not a registered meter is recorded without a meter (named in the detail
// only), so that made-up names cannot add counter rows: the store keeps one
// per reason and meter, and one per reason, meter and host in its log.
func (s *server) onMQTTRefused(dev, reason, host string) {
	s.pipeline.Reject(mqttRefusal(s.dir, dev, reason, host))
}

// mqttRefusal is the rejection an MQTT refusal is counted as (an edge in bus
// mode builds it too, and sends it to the sequencer).
func mqttRefusal(dir *ingest.Directory, dev, reason, host string) rejection.Rejection {
	detail := "MQTT " + strings.ReplaceAll(reason, "-", " ")
	if _, ok := dir.Get(dev); !ok && dev != "" {
		detail += fmt.Sprintf(" (username %q is no registered meter)", dev)
		dev = ""
	}
	return rejection.Rejection{Time: time.Now(), Meter: dev, Reason: reason, Source: "mqtt:" + host, Detail: detail}
}

// receiptText is what a device subscribed to its receipts topic is told of
// a reading: "seq 42 index 1234 [dup] [flags…]" or "seq 42 rejected reason".
func receiptText(res ingest.Result) string {
	var receipt string
	if res.Reject != nil {
		receipt = "rejected " + res.Reject.Reason
	} else {
		receipt = fmt.Sprintf("index %d", res.Index)
		if res.Duplicate {
			receipt += " dup"
		}
		for _, f := range res.Flags.Names() {
			receipt += " " + f
		}
	}
	if res.Seq > 0 {
		receipt = fmt.Sprintf("seq %d %s", res.Seq, receipt)
	}
	return receipt
}

// ensureAdminToken makes the admin token of the data directory: from
// SHUIXIAO_ADMIN_TOKEN if set, else DIR/admin.token (created on first start,
// mode 0600).
func (s *server) ensureAdminToken(ctx context.Context) error {
	secret := strings.TrimSpace(os.Getenv("SHUIXIAO_ADMIN_TOKEN"))
	path := filepath.Join(s.cfg.Data, adminTokenFile)
	if secret == "" {
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			secret = strings.TrimSpace(string(b))
			if len(secret) < minAdminSecret {
				// Emptied or cut short (a crash while an older build wrote
				// it, a full disk): the secret it held is lost either way.
				// Keep the file for inspection and mint a new token rather
				// than refuse to start.
				aside := fmt.Sprintf("%s.damaged-%s", path, time.Now().UTC().Format("20060102T150405.000000000Z"))
				if err := os.Rename(path, aside); err != nil {
					return fmt.Errorf("set aside damaged admin token: %w", err)
				}
				if secret, err = newAdminTokenFile(path); err != nil {
					return err
				}
				s.cfg.Logger.Warn("管理员令牌文件已损坏（少于 16 个字符），已另存并生成新的管理员令牌 / "+
					"the admin token file was damaged (under 16 characters); it was set aside and a new admin token minted",
					"file", path, "set_aside", aside)
			}
		case errors.Is(err, os.ErrNotExist):
			if secret, err = newAdminTokenFile(path); err != nil {
				return err
			}
		default:
			return fmt.Errorf("read admin token: %w", err)
		}
	}
	if len(secret) < minAdminSecret {
		return fmt.Errorf("SHUIXIAO_ADMIN_TOKEN must have at least %d characters", minAdminSecret)
	}
	s.token = secret
	h := store.HashToken(secret)
	if _, err := s.store.TokenByHash(ctx, h); err == nil {
		return nil
	}
	id := fmt.Sprintf("admin-%x", h[:4])
	ts, err := s.store.Tokens(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.ID == id && !t.Revoked.IsZero() {
			// An admin revoked this very secret through the API: it stays
			// revoked, and the server runs without it.
			s.token = ""
			s.cfg.Logger.Warn("管理员令牌已被吊销，服务照常启动但该令牌无效；删除该文件（或给 SHUIXIAO_ADMIN_TOKEN 新值）后重启即生成新的管理员令牌 / "+
				"the data directory's admin token was revoked; serving without it. Remove the file (or give SHUIXIAO_ADMIN_TOKEN a new secret) and restart to mint a new admin token",
				"token", id, "revoked", t.Revoked, "file", adminTokenPath(s.cfg))
			return nil
		}
	}
	// A new admin secret (first start, or SHUIXIAO_ADMIN_TOKEN changed):
	// retire the earlier admin tokens of the data directory, store this one.
	for _, t := range ts {
		if t.Name == dataDirAdmin && t.Revoked.IsZero() {
			if err := s.store.RevokeToken(ctx, t.ID, time.Now()); err != nil {
				return err
			}
			if err := s.auditStartup(ctx, "startup token.revoke", t.ID); err != nil {
				return err
			}
		}
	}
	if err := s.store.CreateToken(ctx, store.Token{ID: id, Name: dataDirAdmin, Role: store.RoleAdmin, Created: time.Now()}, h); err != nil {
		return err
	}
	return s.auditStartup(ctx, "startup token.create", id)
}

// auditStartup records a token event of the start-up in the audit log: no
// caller, the process itself on this host.
func (s *server) auditStartup(ctx context.Context, action, tokenID string) error {
	_, err := s.store.AppendAudit(ctx, store.AuditRecord{Time: time.Now(), Action: action, Target: tokenID,
		Status: http.StatusOK, Remote: "local", Detail: "admin token of the data directory"})
	return err
}

// minAdminSecret is the shortest admin secret accepted.
const minAdminSecret = 16

// newAdminTokenFile makes a new admin secret and writes it to path
// atomically (mode 0600), so that a crash leaves no half-written token.
func newAdminTokenFile(path string) (string, error) {
	secret := tokens.NewSecret()
	if err := atomicfile.Write(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	return secret, nil
}

// dataDirAdmin names the admin token that the data directory's admin.token holds.
const dataDirAdmin = "admin (data directory)"

// seedRegions puts the Hunan regions of the embedded GB/T 2260 table in the registry.
func seedRegions(ctx context.Context, st store.Registry) error {
	for _, r := range meter.HunanRegions() {
		if err := st.CreateRegion(ctx, r); err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("seed region %s: %w", r.Code, err)
		}
	}
	return nil
}

// Close stops taking work, drains the pipeline and closes every part.
func (s *server) Close(ctx context.Context) {
	if s.http != nil {
		sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_ = s.http.Shutdown(sctx)
		cancel()
	}
	if s.stopBg != nil {
		s.stopBg()
		s.bg.Wait()
	}
	s.closeParts(ctx)
}

func (s *server) closeParts(ctx context.Context) {
	s.gateway.close()
	if s.broker != nil {
		s.broker.Close()
	}
	s.stopBus()
	if s.pipeline != nil {
		s.pipeline.Close()
	}
	s.closeBus()
	if s.ledger != nil {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = s.ledger.Close(cctx)
		cancel()
	}
	if s.store != nil {
		_ = s.store.Close()
	}
}

// URL returns the HTTP base URL (https:// when serving TLS).
func (s *server) URL() string {
	if s.https {
		return "https://" + s.httpLn.Addr().String()
	}
	return "http://" + s.httpLn.Addr().String()
}

// MQTTAddr returns the broker's address as printed for people: host:port,
// or mqtts://host:port when it takes only TLS.
func (s *server) MQTTAddr() string {
	if s.cfg.TLSCert != "" || s.cfg.MQTTTLSCert != "" {
		return "mqtts://" + s.broker.Addr()
	}
	return s.broker.Addr()
}

// pointsMigratedFile marks, in the data directory, that every point the
// store held when it was written is on the ledger; points registered since
// go through the ledger anyway (registry.Points).
const pointsMigratedFile = "points-on-ledger"

// pointsOnLedger puts on the ledger the points of a data directory written
// before points were ledger entries (registry.Points.Migrate). The marker
// file saves later starts the ledger scan; without it the migration runs
// again and, being idempotent, adds nothing that is already there.
func (s *server) pointsOnLedger(ctx context.Context) error {
	marker := filepath.Join(s.cfg.Data, pointsMigratedFile)
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	ps := &registry.Points{Store: s.store, Ledger: s.ledger, Ingest: s.pipeline, Now: time.Now}
	n, err := ps.Migrate(ctx, s.ledger)
	if err != nil {
		return fmt.Errorf("put the registered points on the ledger: %w", err)
	}
	if n > 0 {
		s.cfg.Logger.Info("registered points put on the ledger", "points", n)
	}
	return atomicfile.Write(marker, []byte(fmt.Sprintf("points on the ledger since %s\n", time.Now().UTC().Format(time.RFC3339))), 0o640)
}

// collectorsMigratedFile marks, in the data directory, that every meter
// the store held behind a data collector when it was written has a key
// entry naming that collector; meters registered since name it anyway.
const collectorsMigratedFile = "collectors-on-ledger"

// collectorsOnLedger re-states on the ledger, with its collector, the key
// entry of each meter registered behind a data collector before key
// entries named one (registry.Meters.MigrateCollectors). Like
// pointsOnLedger, the marker only saves later starts the ledger scan: a
// start that stops half-way has no marker, and the next one re-states only
// the meters still missing their collector on the ledger.
func (s *server) collectorsOnLedger(ctx context.Context) error {
	marker := filepath.Join(s.cfg.Data, collectorsMigratedFile)
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	ms := &registry.Meters{Store: s.store, Ledger: s.ledger, Ingest: s.pipeline, Devices: s.devices, Now: time.Now}
	res, err := ms.MigrateCollectors(ctx, s.ledger)
	if err != nil {
		return fmt.Errorf("put the meters' data collectors on the ledger: %w", err)
	}
	if res.Added > 0 {
		s.cfg.Logger.Info("meters' data collectors put on the ledger", "meters", res.Added)
	}
	for _, why := range res.Left {
		s.cfg.Logger.Warn("meter's data collector left off the ledger; the ledger keeps the meter behind none", "detail", why)
	}
	return atomicfile.Write(marker, []byte(fmt.Sprintf("collectors on the ledger since %s\n", time.Now().UTC().Format(time.RFC3339))), 0o640)
}
