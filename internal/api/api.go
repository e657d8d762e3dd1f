// Package api is shuixiao's HTTP API (docs/api.md): the registry, readings
// and aggregates, ingest over HTTP, water balances, the ledger's keys and
// receipts, rejections, alarms, a live stream, and the OpenAPI document. It
// authenticates bearer tokens and confines park and enterprise tokens to
// their own tenants. It holds no state of its own beyond caches: everything
// comes from the store, the ledger and the ingest pipeline given to New.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/internal/alarms"
	"github.com/shuixiao/shuixiao/internal/dispatch"
	"github.com/shuixiao/shuixiao/internal/efficiency"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/mv"
	"github.com/shuixiao/shuixiao/internal/netreg"
	"github.com/shuixiao/shuixiao/internal/planuse"
	"github.com/shuixiao/shuixiao/internal/registries"
	"github.com/shuixiao/shuixiao/internal/registry"
	"github.com/shuixiao/shuixiao/internal/rights"
	"github.com/shuixiao/shuixiao/internal/rollup"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/throttle"
	"github.com/shuixiao/shuixiao/internal/watercarbon"
)

// Ledger is what the API needs of the ledger.
type Ledger interface {
	VerifierKey() string
	Origin() string
	Size(ctx context.Context) (uint64, error)
	Checkpoint(ctx context.Context) ([]byte, error)
	Proof(ctx context.Context, index uint64) ([]byte, error)
	SignNote(text string) ([]byte, error)
}

// Ingest is what the API needs of the ingest pipeline.
type Ingest interface {
	Submit(raw []byte, device, source string, done func(ingest.Result))
	SubmitEntry(ctx context.Context, e ingest.Entry) (uint64, error)
	SubmitEntries(ctx context.Context, es []ingest.Entry) ([]uint64, error)
}

// Options configures the API.
type Options struct {
	Store   store.Store
	Ledger  Ledger
	Ingest  Ingest
	Devices registry.Devices
	Live    *Live
	// Plants and Controls serve the control loops (api/control.go); nil
	// when the server runs none.
	Plants   Plants
	Controls store.Controls
	// Networks is the leak monitor of the registered pipe networks
	// (api/network.go); nil when the server runs none.
	Networks NetworkMonitor
	// Quota runs the retrofit-case life-cycle (api/efficiency.go); nil
	// makes one over Store with Now and the default policy.
	Quota *efficiency.Cases
	// ReportFont is the Chinese TrueType font of PDF reports (package
	// report); empty searches the usual system places.
	ReportFont string
	// Gateways serves the protocol gateways' registry and push endpoint.
	Gateways Gateways
	// WitnessPolicy is the policy text checkpoints must satisfy (empty: none).
	WitnessPolicy string
	Version       string
	Location      *time.Location // default Asia/Shanghai
	Now           func() time.Time
	Logger        *slog.Logger
	// Requests is each token's request budget (default
	// DefaultRequestLimit); over it, 429 with Retry-After.
	Requests RequestLimit
	// FailedAuth is each client host's budget of failed authentications;
	// the zero value means DefaultFailedAuth, a negative Rate none.
	FailedAuth throttle.Limit
	// Rollup answers the targets, evaluation and benchmark routes; nil
	// makes one over Store.
	Rollup *rollup.Service
	// Rights runs the water-rights certificates (api/certificates.go); nil
	// makes one over Store, Ledger and Ingest without M&V statements (it
	// issues nothing). One per ledger: it serialises the operations.
	Rights *rights.Service
	// Plans answers the plan and permit routes (api/plans.go); nil makes
	// one over Store when it keeps plans. Carbon answers /carbon; nil
	// makes one over Store.
	Plans  *planuse.Service
	Carbon *watercarbon.Service
}

// Server serves the API. It is an http.Handler for the /api/v1/ tree.
type Server struct {
	opts    Options
	mux     *http.ServeMux
	started time.Time
	tokens  tokenCache
	tickets ticketBook
	cache   ttlCache
	meters  *registry.Meters
	points  *registry.Points
	nets    *netreg.Registry // nil when the store keeps no networks
	// dispatch makes and changes work orders; nil with nets.
	dispatch *dispatch.Dispatch
	requests tokenLimiter
	// authFails counts failed authentications per client host (serveAs).
	authFails *throttle.Table
	// authFailures bounds the failed authentications recorded in the audit log.
	authFailures authFailureBucket
	// quota opens, moves and closes retrofit cases.
	quota *efficiency.Cases
	// rollup answers the targets, evaluation and benchmark routes.
	rollup *rollup.Service
	// plans tracks water-use plans and permits (nil: the store keeps
	// none); carbon answers the water–carbon accounts.
	plans  *planuse.Service
	carbon *watercarbon.Service
	// mv runs contract water saving's M&V (nil: the store keeps no contracts).
	mv *mv.Service
	// registries keeps the plan's registries; nil when the store has none.
	registries *registries.Service
	// alarms runs the operators' alarm use cases.
	alarms *alarms.Service
}

// New returns the API handler.
func New(opts Options) *Server {
	if opts.Location == nil {
		opts.Location = store.DefaultLocation()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Live == nil {
		opts.Live = NewLive()
	}
	if opts.Requests == (RequestLimit{}) {
		opts.Requests = DefaultRequestLimit
	}
	if opts.FailedAuth == (throttle.Limit{}) {
		opts.FailedAuth = DefaultFailedAuth
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), started: opts.Now(), requests: tokenLimiter{limit: opts.Requests},
		meters: &registry.Meters{Store: opts.Store, Ledger: opts.Ledger, Ingest: opts.Ingest, Devices: opts.Devices, Now: opts.Now},
		points: &registry.Points{Store: opts.Store, Ledger: opts.Ledger, Ingest: opts.Ingest, Now: opts.Now}}
	if ns, ok := opts.Store.(netreg.Store); ok {
		var mon netreg.Monitor
		if opts.Networks != nil {
			mon = opts.Networks
		}
		s.nets = netreg.New(ns, mon, opts.Now)
		if ds, ok := opts.Store.(dispatch.Store); ok {
			s.dispatch = &dispatch.Dispatch{Store: ds, Nets: s.nets, Now: opts.Now, Notify: opts.Live.Alarm}
		}
	}
	s.authFails = throttle.New(opts.FailedAuth, maxAuthHosts)
	s.alarms = &alarms.Service{Store: opts.Store, Now: opts.Now, Notify: opts.Live.Alarm}
	s.quota = opts.Quota
	if s.quota == nil {
		s.quota = &efficiency.Cases{Store: opts.Store, Now: opts.Now}
	}
	if s.rollup = opts.Rollup; s.rollup == nil {
		s.rollup = &rollup.Service{Src: opts.Store, Now: opts.Now}
	}
	// water-rights certificates (helper certs)
	if rs, ok := opts.Store.(rights.Store); ok && s.opts.Rights == nil && opts.Ledger != nil && opts.Ingest != nil {
		s.opts.Rights = &rights.Service{Store: rs, Ledger: opts.Ledger, Ingest: opts.Ingest, Now: opts.Now}
	}
	// Plans and permits, water–carbon (api/plans.go).
	if s.plans = opts.Plans; s.plans == nil {
		if src, ok := opts.Store.(planuse.Source); ok {
			s.plans = &planuse.Service{Src: src, Now: opts.Now}
		}
	}
	if s.carbon = opts.Carbon; s.carbon == nil {
		s.carbon = &watercarbon.Service{Src: opts.Store, Now: opts.Now}
	}
	s.mv = s.newMV() // contract water saving (helper mv)
	if rs, ok := opts.Store.(registries.Store); ok {
		s.registries = &registries.Service{Store: rs, Rollup: s.rollup, Invalidate: s.rollup.Invalidate, Now: opts.Now}
	}
	s.routes()
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(&responseWriter{ResponseWriter: w, log: s.opts.Logger, r: r}, r)
}

// responseWriter carries the server's logger and the request to writeJSON,
// so that an answer that cannot be encoded is logged once, where it fails.
type responseWriter struct {
	http.ResponseWriter
	log *slog.Logger
	r   *http.Request
}

// Flush lets the live stream flush through the wrapper.
func (w *responseWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap gives http.ResponseController the writer underneath.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// routes lists every endpoint; docs/api.md and openapi.go describe them.
func (s *Server) routes() {
	pub := func(pattern string, h http.HandlerFunc) { s.mux.HandleFunc(pattern, h) }
	// Every write route is audited (api/audit.go).
	auth := func(pattern string, h func(http.ResponseWriter, *http.Request, *Principal)) {
		s.mux.HandleFunc(pattern, s.authenticated(s.audited(pattern, h)))
	}
	pub("GET /api/v1/health", s.health)
	pub("GET /api/v1/openapi.json", s.openAPI)
	pub("GET /api/v1/ledger/key", s.ledgerKey)

	auth("GET /api/v1/me", s.me)
	auth("GET /api/v1/regions", s.listRegions)
	auth("GET /api/v1/parks", s.listParks)
	auth("GET /api/v1/parks/{id}", s.getPark)
	auth("POST /api/v1/parks", s.createPark)
	auth("GET /api/v1/enterprises", s.listEnterprises)
	auth("GET /api/v1/enterprises/{id}", s.getEnterprise)
	auth("POST /api/v1/enterprises", s.createEnterprise)
	auth("GET /api/v1/enterprises/{id}/balance", s.enterpriseBalance)
	auth("GET /api/v1/enterprises/{id}/report.xlsx", s.enterpriseReport(false))
	auth("GET /api/v1/enterprises/{id}/report.pdf", s.enterpriseReport(true))
	auth("GET /api/v1/enterprises/{id}/tree", s.enterpriseTree)
	auth("GET /api/v1/production", s.listProduction)
	auth("POST /api/v1/production", s.addProduction)
	auth("GET /api/v1/quota-board", s.quotaBoard)
	auth("GET /api/v1/quota-cases", s.listQuotaCases)
	auth("GET /api/v1/quota-cases/{id}", s.getQuotaCase)
	auth("POST /api/v1/quota-cases/{id}/transition", s.transitionQuotaCase)
	auth("POST /api/v1/quota-review", s.quotaReview)
	// Contract water saving and M&V statements (helper mv; api/mv.go).
	auth("GET /api/v1/contracts", s.listContracts)
	auth("POST /api/v1/contracts", s.createContract)
	auth("GET /api/v1/contracts/{id}", s.getContract)
	auth("POST /api/v1/contracts/{id}/declared", s.addDeclared)
	auth("GET /api/v1/contracts/{id}/preview", s.previewStatement)
	auth("POST /api/v1/contracts/{id}/statements", s.issueStatement)
	auth("GET /api/v1/mv/statements/{id}", s.getStatement)
	auth("GET /api/v1/mv/statements/{id}/carbon", s.statementCarbon)
	auth("GET /api/v1/mv/statements/{id}/report.xlsx", s.statementReport(false))
	auth("GET /api/v1/mv/statements/{id}/report.pdf", s.statementReport(true))
	auth("GET /api/v1/points", s.listPoints)
	auth("POST /api/v1/points", s.createPoint)
	auth("POST /api/v1/points/import", s.importPoints)
	auth("PUT /api/v1/points/{id}", s.updatePoint)
	auth("GET /api/v1/meters", s.listMeters)
	auth("GET /api/v1/meters/{id}", s.getMeter)
	auth("POST /api/v1/meters", s.registerMeter)
	auth("POST /api/v1/meters/import", s.importMeters)
	auth("POST /api/v1/meters/{id}/revoke", s.revokeMeter)
	auth("GET /api/v1/gateways", s.listGateways)
	auth("POST /api/v1/gateways", s.registerGateway)
	auth("POST /api/v1/gateways/{id}/revoke", s.revokeGateway)
	auth("GET /api/v1/gateway-devices", s.listGatewayDevices)
	auth("POST /api/v1/gateway-devices", s.putGatewayDevice)
	auth("DELETE /api/v1/gateway-devices", s.deleteGatewayDevice)
	auth("GET /api/v1/gateway/stats", s.gatewayStats)
	pub("POST /api/v1/gateway/push/{protocol}", s.push)

	auth("GET /api/v1/readings", s.readings)
	auth("GET /api/v1/series", s.series)
	auth("POST /api/v1/ingest", s.ingestBatch)
	auth("GET /api/v1/overview", s.overview)
	auth("GET /api/v1/targets", s.targets)
	auth("GET /api/v1/targets/report.xlsx", s.targetsReport)
	auth("GET /api/v1/evaluation/{enterprise}", s.evaluation)
	auth("GET /api/v1/benchmark", s.benchmark)
	// Planned use and permits, water–carbon (api/plans.go).
	auth("GET /api/v1/plans", s.plansOverview)
	auth("GET /api/v1/enterprises/{id}/plan", s.enterprisePlan)
	auth("PUT /api/v1/enterprises/{id}/plan", s.putPlan)
	auth("POST /api/v1/plans/import", s.importPlans)
	auth("GET /api/v1/enterprises/{id}/permits", s.enterprisePermits)
	auth("PUT /api/v1/permits/{id}", s.putPermit)
	auth("DELETE /api/v1/permits/{id}", s.deletePermit)
	auth("GET /api/v1/parks/{id}/headroom", s.parkHeadroom)
	auth("GET /api/v1/carbon", s.carbonAccounts)
	// The plan's registries and the evaluation's answers (registries.go).
	s.registryRoutes(auth)
	s.mux.HandleFunc("GET /api/v1/stream", s.ticketed(s.stream))
	auth("POST /api/v1/stream/ticket", s.streamTicket)

	auth("GET /api/v1/ledger/status", s.ledgerStatus)
	auth("GET /api/v1/proof", s.proof)
	auth("GET /api/v1/ledger/entry", s.entry)
	auth("GET /api/v1/rejections", s.rejections)
	auth("GET /api/v1/quarantine", s.quarantine)

	auth("GET /api/v1/alarms", s.listAlarms)
	auth("POST /api/v1/alarms/{id}/ack", s.ackAlarm)
	auth("POST /api/v1/alarms/{id}/clear", s.clearAlarm)
	auth("GET /api/v1/alarms/{id}/history", s.alarmHistory)

	auth("GET /api/v1/plants", s.listPlants)
	auth("POST /api/v1/plants", s.registerPlant)
	auth("GET /api/v1/plants/{id}", s.getPlant)
	auth("GET /api/v1/plants/{id}/history", s.plantHistory)
	auth("GET /api/v1/plants/{id}/commands", s.plantCommands)
	auth("POST /api/v1/plants/{id}/setpoints", s.changeSetpoint)
	auth("POST /api/v1/plants/{id}/actuators/{name}/mode", s.changeMode)
	auth("POST /api/v1/plants/{id}/cooling/accept-cycles", s.acceptCycles)
	auth("GET /api/v1/plants/{id}/ro", s.roTrend)
	auth("GET /api/v1/plants/{id}/sequences", s.sequenceTimeline)

	auth("GET /api/v1/networks", s.listNetworks)
	auth("POST /api/v1/networks", s.createNetwork)
	auth("GET /api/v1/networks/{id}", s.getNetwork)
	auth("PUT /api/v1/networks/{id}", s.replaceNetwork)
	auth("GET /api/v1/networks/{id}/inp", s.networkINP)
	auth("GET /api/v1/networks/{id}/state", s.networkState)
	auth("GET /api/v1/networks/{id}/zones", s.networkZones)
	auth("GET /api/v1/networks/{id}/leaks", s.networkLeaks)
	auth("GET /api/v1/workorders", s.listWorkOrders)
	auth("POST /api/v1/workorders", s.createWorkOrder)
	auth("GET /api/v1/workorders/{id}", s.getWorkOrder)
	auth("POST /api/v1/workorders/{id}/assign", s.assignWorkOrder)
	auth("POST /api/v1/workorders/{id}/close", s.closeWorkOrder)

	auth("GET /api/v1/tokens", s.listTokens)
	auth("POST /api/v1/tokens", s.createToken)
	auth("POST /api/v1/tokens/{id}/revoke", s.revokeToken)
	auth("GET /api/v1/audit", s.auditLog)
	auth("GET /api/v1/audit.csv", s.auditLog)
	s.certificateRoutes(auth) // water-rights certificates (helper certs)

	pub("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
	})
}

// httpError carries a status with its message.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// writeJSON answers v as JSON. The answer is encoded whole before anything
// is written, so a value that cannot be encoded (NaN, ±Inf) becomes a 500
// with a message and a log line, never a half-written 200.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := encodeJSON(v)
	if err != nil {
		if aw, ok := w.(*responseWriter); ok {
			aw.log.Error("api: the answer cannot be encoded as JSON", "method", aw.r.Method, "path", aw.r.URL.Path, "status", status, "error", err)
		}
		status = http.StatusInternalServerError
		body, _ = encodeJSON(map[string]string{"error": "内部错误：应答无法编码 / internal error: the answer cannot be encoded: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// fail maps an error to its HTTP answer: httpError as given, a roll-up
// being computed to 202 (writeComputing), a failed one to 500 with its
// cause, store errors to 404/409/400, anything else to 500 (logged, with a
// generic message).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		he *httpError
		ce *rollup.ComputingError
		fe *rollup.FailedError
	)
	switch {
	case errors.As(err, &he):
		writeError(w, he.status, "%s", he.msg)
	case errors.As(err, &ce):
		writeComputing(w, r, ce)
	case errors.As(err, &fe):
		// Reported to whoever asks, not swallowed: the poller of a
		// computation learns that it failed, and why.
		s.opts.Logger.Error("api", "method", r.Method, "path", r.URL.Path, "error", err)
		writeError(w, http.StatusInternalServerError, "%v", fe)
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "%v", err)
	case errors.Is(err, store.ErrExists), errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, "%v", err)
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, "%v", err)
	case errors.Is(err, context.Canceled):
		// the client went away
	default:
		s.opts.Logger.Error("api", "method", r.Method, "path", r.URL.Path, "error", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// decode reads a JSON body of at most 1 MiB into v, refusing unknown fields
// and numbers or times out of bounds (checkBounds).
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(http.StatusBadRequest, "request body: %v", err)
	}
	return checkBounds(v)
}

// timeParam parses an RFC 3339 time or a YYYY-MM-DD date (local midnight).
func (s *Server) timeParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, checkTime("parameter "+name, t)
	}
	if t, err := time.ParseInLocation("2006-01-02", v, s.loc(r)); err == nil {
		return t, checkTime("parameter "+name, t)
	}
	return time.Time{}, errorf(http.StatusBadRequest, "parameter %s: %q is neither RFC 3339 nor YYYY-MM-DD", name, v)
}

// loc is the time zone of the request (tz=…) or the server's.
func (s *Server) loc(r *http.Request) *time.Location {
	if tz := r.URL.Query().Get("tz"); tz != "" {
		if l, err := time.LoadLocation(tz); err == nil {
			return l
		}
	}
	return s.opts.Location
}

func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, errorf(http.StatusBadRequest, "parameter %s: want an integer in [%d, %d], got %q", name, lo, hi, v)
	}
	return n, nil
}

// day returns [start, end) of the local day named by the date parameter
// (default today).
func (s *Server) day(r *http.Request) (time.Time, time.Time, error) {
	loc := s.loc(r)
	now := s.opts.Now().In(loc)
	def := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	start, err := s.timeParam(r, "date", def)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	start = start.In(loc)
	start = time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, loc)
	return start, start.AddDate(0, 0, 1), nil
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	size, err := s.opts.Ledger.Size(r.Context())
	status := "ok"
	if err != nil {
		status = "degraded"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status": status, "version": s.opts.Version, "ledger_size": size,
		"uptime_s": int64(s.opts.Now().Sub(s.started).Seconds()),
	})
}

// ttlCache memoises expensive answers (overviews, balances) for a few seconds.
type ttlCache struct {
	mu sync.Mutex
	m  map[string]ttlEntry
}

type ttlEntry struct {
	v       any
	expires time.Time
}

func (c *ttlCache) get(key string, now time.Time, ttl time.Duration, compute func() (any, error)) (any, error) {
	c.mu.Lock()
	if e, ok := c.m[key]; ok && now.Before(e.expires) {
		c.mu.Unlock()
		return e.v, nil
	}
	c.mu.Unlock()
	v, err := compute()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) > 4096 {
		c.m = map[string]ttlEntry{}
	}
	c.m[key] = ttlEntry{v: v, expires: now.Add(ttl)}
	c.mu.Unlock()
	return v, nil
}

func joinKey(parts ...string) string { return strings.Join(parts, "\x00") }
