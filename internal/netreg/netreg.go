// Package netreg registers pipe networks for leak monitoring and serves
// their parsed models. A registration is checked before it is stored: the
// EPANET model reads and solves, the monitoring configuration (package
// netmon) fits it, the operator belongs to the park, and every metering
// point exists, has its channel and belongs to the operator or to an
// enterprise of the park. A registered network's model and configuration
// are parsed once and kept, keyed by network ID and checked against the
// stored text, so that a replaced network is parsed again and an unchanged
// one never is.
package netreg

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/internal/netmon"
	"github.com/shuixiao/shuixiao/internal/refusal"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/network"
	"github.com/shuixiao/shuixiao/reading"
)

// Errors classifying a refused registration; the error's text says why.
var (
	// ErrInvalid: the registration is malformed or does not fit the registry.
	ErrInvalid = errors.New("invalid network registration")
	// ErrExists: a network with that ID exists and the caller asked to create one.
	ErrExists = errors.New("network exists")
)

func invalid(format string, a ...any) error {
	return refusal.New(ErrInvalid, format, a...)
}

// Store is what the registry needs of the store.
type Store interface {
	PutNetwork(ctx context.Context, n store.Network) (created bool, err error)
	Network(ctx context.Context, id string) (store.Network, error)
	Enterprise(ctx context.Context, id string) (meter.Enterprise, error)
	Point(ctx context.Context, id string) (meter.Point, error)
}

// Monitor is told when a network's registration changed (netmon.Monitor).
type Monitor interface {
	Reload(id string)
}

// Registration is a request to register or replace a network.
type Registration struct {
	ID, Name, NameEN string
	// Park is the park the network supplies (default: the operator's);
	// Enterprise the operator, to which leak alarms and work orders belong.
	Park, Enterprise string
	INP              string          // the EPANET input file's text
	Config           json.RawMessage // netmon.Config
}

// Model is a registered network parsed. It is shared by every caller and
// must not be modified.
type Model struct {
	// Net is the hydraulic model; nil if the stored text does not read
	// (NetErr says why).
	Net    *network.Network
	NetErr error
	// Config is the monitoring configuration with its defaults; ConfigErr
	// is set if the stored configuration does not read.
	Config    netmon.Config
	ConfigErr error
}

// Clock returns the network's clock (real time if its configuration does
// not read).
func (m *Model) Clock() netmon.Clock {
	if m.ConfigErr != nil {
		return netmon.Clock{Speed: 1}
	}
	return m.Config.Clock
}

// Registry registers networks and keeps their parsed models. Its methods
// are safe for concurrent use.
type Registry struct {
	store   Store
	monitor Monitor
	now     func() time.Time

	mu     sync.Mutex
	models map[string]cached // by network ID
}

// cached is a parsed model with the text it was parsed from.
type cached struct {
	inp    string
	config string
	model  *Model
}

// New returns a registry of the networks in st. monitor, if not nil, is
// told of every change; now stamps the registrations.
func New(st Store, monitor Monitor, now func() time.Time) *Registry {
	return &Registry{store: st, monitor: monitor, now: now, models: map[string]cached{}}
}

// Model returns n's parsed model, parsing it only if the registry has not
// parsed this text for n.ID before.
func (r *Registry) Model(n store.Network) *Model {
	r.mu.Lock()
	c, ok := r.models[n.ID]
	r.mu.Unlock()
	if ok && c.inp == n.INP && c.config == string(n.Config) {
		return c.model
	}
	m := &Model{}
	if m.Net, m.NetErr = network.ParseBytes([]byte(n.INP)); m.NetErr != nil {
		m.Net = nil
	}
	m.Config, m.ConfigErr = netmon.ParseConfig(n.Config)
	r.keep(n, m)
	return m
}

func (r *Registry) keep(n store.Network, m *Model) {
	r.mu.Lock()
	r.models[n.ID] = cached{inp: n.INP, config: string(n.Config), model: m}
	r.mu.Unlock()
}

// Put registers a network, or replaces the one with the same ID if
// replace, after checking it (Check). It returns the stored record and
// whether it was created. A replacement that changes nothing is not
// stored again, so that the monitor keeps its calibration.
func (r *Registry) Put(ctx context.Context, req Registration, replace bool) (store.Network, bool, error) {
	old, err := r.store.Network(ctx, req.ID)
	exists := err == nil
	switch {
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return store.Network{}, false, err
	case exists && !replace:
		return store.Network{}, false, refusal.New(ErrExists, "network %s already exists", req.ID)
	}
	m, err := r.Check(ctx, &req)
	if err != nil {
		return store.Network{}, false, err
	}
	rec := store.Network{ID: req.ID, Name: req.Name, NameEN: req.NameEN, Park: req.Park, Enterprise: req.Enterprise,
		INP: req.INP, Config: req.Config, Updated: r.now()}
	if exists && old.Name == rec.Name && old.NameEN == rec.NameEN && old.Park == rec.Park && old.Enterprise == rec.Enterprise &&
		old.INP == rec.INP && jsonEqual(old.Config, rec.Config) {
		return old, false, nil
	}
	created, err := r.store.PutNetwork(ctx, rec)
	if err != nil {
		return store.Network{}, false, err
	}
	if r.monitor != nil {
		r.monitor.Reload(rec.ID)
	}
	stored, err := r.store.Network(ctx, rec.ID)
	if err != nil {
		return store.Network{}, false, err
	}
	r.keep(stored, m)
	return stored, created, nil
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ra, _ := json.Marshal(x)
	rb, _ := json.Marshal(y)
	return string(ra) == string(rb)
}

// Check validates a registration and returns its parsed model: the model
// reads and solves, the configuration fits it, the operator belongs to the
// park (req.Park defaults to the operator's), and every metering point
// exists, has its channel and belongs to the operator or to an enterprise
// of the park.
func (r *Registry) Check(ctx context.Context, req *Registration) (*Model, error) {
	if err := reading.ValidID(req.ID); err != nil {
		return nil, invalid("network id: %v", err)
	}
	if req.Name == "" {
		return nil, invalid("network %s: name is required", req.ID)
	}
	if req.Enterprise == "" {
		return nil, invalid("network %s: enterprise (the operator, e.g. the park's water utility) is required: leak alarms and work orders belong to it", req.ID)
	}
	op, err := r.store.Enterprise(ctx, req.Enterprise)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid("network %s: no enterprise %s", req.ID, req.Enterprise)
	}
	if err != nil {
		return nil, err
	}
	if req.Park == "" {
		req.Park = op.Park
	}
	if req.Park != "" && op.Park != req.Park {
		return nil, invalid("network %s: enterprise %s is not in park %s", req.ID, req.Enterprise, req.Park)
	}
	if len(req.INP) == 0 || len(req.INP) > store.MaxINPBytes {
		return nil, invalid("network %s: inp must hold the .inp text (1 to %d bytes)", req.ID, store.MaxINPBytes)
	}
	net, err := network.ParseBytes([]byte(req.INP))
	if err != nil {
		return nil, invalid("network %s: .inp: %v", req.ID, err)
	}
	if _, err := network.NewSolver(net); err != nil {
		return nil, invalid("network %s: .inp: %v", req.ID, err)
	}
	if len(req.Config) == 0 {
		return nil, invalid("network %s: config (sensor map) is required", req.ID)
	}
	cfg, err := netmon.ParseConfig(req.Config)
	if err != nil {
		return nil, invalid("network %s: %v", req.ID, err)
	}
	if err := cfg.Validate(net); err != nil {
		return nil, invalid("network %s: configuration: %v", req.ID, err)
	}
	need := map[string][]string{} // point → channels
	for _, sen := range cfg.Sensors {
		need[sen.Point] = append(need[sen.Point], sen.Channel)
	}
	for _, p := range cfg.ZonePoints() {
		need[p] = append(need[p], netmon.ZoneChannel)
	}
	ents := map[string]meter.Enterprise{op.ID: op}
	for _, id := range cfg.Points() {
		pt, err := r.store.Point(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, invalid("network %s: no metering point %s", req.ID, id)
		}
		if err != nil {
			return nil, err
		}
		for _, ch := range need[id] {
			if _, ok := pt.Channel(ch); !ok {
				return nil, invalid("network %s: point %s has no channel %s", req.ID, id, ch)
			}
		}
		e, ok := ents[pt.Enterprise]
		if !ok {
			if e, err = r.store.Enterprise(ctx, pt.Enterprise); err != nil {
				return nil, err
			}
			ents[e.ID] = e
		}
		if e.ID != op.ID && (req.Park == "" || e.Park != req.Park) {
			return nil, invalid("network %s: point %s belongs to %s, neither the operator nor an enterprise of park %s", req.ID, id, e.ID, req.Park)
		}
	}
	return &Model{Net: net, Config: cfg}, nil
}
