package netmon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/network"
)

// KindLeak is the alarm kind of a detected leak.
const KindLeak = "leak"

// Store is what the Monitor needs of the store.
type Store interface {
	Network(ctx context.Context, id string) (store.Network, error)
	Networks(ctx context.Context, f store.NetworkFilter) ([]store.Network, error)
	RecordLeak(ctx context.Context, e alarm.Leak) error
	LeakEvents(ctx context.Context, network string, limit int) ([]alarm.Leak, error)
	RaiseAlarm(ctx context.Context, a alarm.Alarm) (alarm.Alarm, bool, error)
	Alarm(ctx context.Context, id int64) (alarm.Alarm, error)
	Meter(ctx context.Context, id string) (meter.Meter, error)
	Meters(ctx context.Context, f store.Filter) ([]meter.Meter, error)
	ScanReadings(ctx context.Context, q store.ReadingQuery, fn func(*store.Reading) error) error
}

// Options configures a Monitor.
type Options struct {
	Store Store
	// Notify is told of every leak alarm raised (the live stream).
	Notify func(alarm.Alarm)
	Now    func() time.Time
	Logger *slog.Logger
	// Tick is how often complete steps are assembled; default 1 s.
	Tick time.Duration
	// Queue bounds the committed batches waiting for the monitor; default
	// 4096. When it is full, batches are dropped (and counted): the
	// detector then holds or skips those steps.
	Queue int
}

// Monitor runs the leak detector of every registered network on the
// readings the ingest pipeline commits, raises leak alarms with their
// ranked candidate pipes, and re-arms a network's detector when its leak
// alarm is cleared (the repair work order was closed). At start, and when
// a network is registered or changed, it replays the network's recent
// readings from the store, so that a restart does not wait a whole
// calibration period again.
type Monitor struct {
	opts    Options
	batches chan []store.Reading
	reloads chan string
	dropped atomic.Uint64

	mu   sync.Mutex
	nets map[string]*watched

	// Used by Run's goroutine only.
	pointOf map[string]string // meter → point ("" for unknown meters)
}

type watched struct {
	rec       store.Network
	w         *Watcher
	openAlarm int64
	err       string
	anchor    string // the point leak alarms are raised on
}

// NetworkStatus is what the monitor knows about one network.
type NetworkStatus struct {
	Network string `json:"network"`
	// Error is why the network could not be watched, if it is not.
	Error string `json:"error,omitempty"`
	// OpenAlarm is the network's open leak alarm (0: none).
	OpenAlarm int64   `json:"open_alarm,omitempty"`
	Detector  *Status `json:"detector,omitempty"`
}

// New returns a monitor; call Run to start it.
func New(opts Options) *Monitor {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Notify == nil {
		opts.Notify = func(alarm.Alarm) {}
	}
	if opts.Tick <= 0 {
		opts.Tick = time.Second
	}
	if opts.Queue <= 0 {
		opts.Queue = 4096
	}
	return &Monitor{opts: opts, batches: make(chan []store.Reading, opts.Queue), reloads: make(chan string, 64),
		nets: map[string]*watched{}, pointOf: map[string]string{}}
}

// Committed hands a pipeline commit to the monitor. It never blocks.
func (m *Monitor) Committed(c *ingest.Committed) {
	if len(c.Readings) == 0 {
		return
	}
	select {
	case m.batches <- c.Readings:
	default:
		if m.dropped.Add(1)%1000 == 1 {
			m.opts.Logger.Warn("network monitor queue full: committed readings dropped", "batches", m.dropped.Load())
		}
	}
}

// Reload asks the monitor to (re)load a network after it was registered or
// changed. It never blocks.
func (m *Monitor) Reload(id string) {
	select {
	case m.reloads <- id:
	default:
		m.opts.Logger.Warn("network monitor: reload queue full", "network", id)
	}
}

// Status returns the monitor's view of a network.
func (m *Monitor) Status(id string) (NetworkStatus, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nets[id]
	if !ok {
		return NetworkStatus{}, false
	}
	st := NetworkStatus{Network: id, Error: n.err, OpenAlarm: n.openAlarm}
	if n.w != nil {
		s := n.w.Status()
		st.Detector = &s
	}
	return st, true
}

// Run loads the registered networks and watches until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	nets, err := m.opts.Store.Networks(ctx, store.NetworkFilter{})
	if err != nil {
		m.opts.Logger.Error("network monitor: list networks", "error", err)
	}
	for _, n := range nets {
		m.load(ctx, n)
	}
	tick := time.NewTicker(m.opts.Tick)
	defer tick.Stop()
	ticks := 0
	for {
		select {
		case <-ctx.Done():
			return
		case rs := <-m.batches:
			m.observe(ctx, rs)
		case id := <-m.reloads:
			n, err := m.opts.Store.Network(ctx, id)
			if err != nil {
				m.opts.Logger.Error("network monitor: reload", "network", id, "error", err)
				continue
			}
			m.load(ctx, n)
		case <-tick.C:
			// Cleared alarms are looked up every fifth tick.
			if ticks++; ticks%5 == 0 {
				m.checkRepairs(ctx)
			}
			m.advance(ctx, m.opts.Now())
		}
	}
}

// observe routes committed readings to the watchers that want them.
func (m *Monitor) observe(ctx context.Context, rs []store.Reading) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.nets) == 0 {
		return
	}
	for i := range rs {
		m.observeReading(ctx, &rs[i])
	}
}

// untrusted flags make a reading's time or values unfit for detection.
const untrusted = store.FlagSkew | store.FlagImplausible | store.FlagTimeReversed | store.FlagDuplicate | store.FlagPointMismatch

func (m *Monitor) observeReading(ctx context.Context, r *store.Reading) {
	if r.Flags&untrusted != 0 {
		return
	}
	point, ok := m.pointOf[r.Meter]
	if !ok {
		if mt, err := m.opts.Store.Meter(ctx, r.Meter); err == nil {
			point = mt.Point
		}
		m.pointOf[r.Meter] = point
	}
	if point == "" {
		return
	}
	for _, n := range m.nets {
		if n.w == nil {
			continue
		}
		for _, v := range r.Values {
			if n.w.Wants(point, v.Channel) {
				n.w.Observe(point, v.Channel, r.Time, v.Value)
			}
		}
	}
}

// advance assembles complete steps of every network and raises alarms.
func (m *Monitor) advance(ctx context.Context, now time.Time) {
	m.mu.Lock()
	type raise struct {
		n *watched
		f Finding
	}
	var raises []raise
	for _, n := range m.nets {
		if n.w == nil {
			continue
		}
		fs, err := n.w.Advance(now)
		if err != nil {
			n.err = err.Error()
			m.opts.Logger.Error("network monitor", "network", n.rec.ID, "error", err)
		}
		for _, f := range fs {
			raises = append(raises, raise{n, f})
		}
	}
	m.mu.Unlock()
	for _, r := range raises {
		m.raise(ctx, r.n, r.f)
	}
}

// raise stores a leak alarm and its details.
func (m *Monitor) raise(ctx context.Context, n *watched, f Finding) {
	rec := n.rec
	flow := f.FlowM3H
	if math.IsNaN(flow) || math.IsInf(flow, 0) {
		flow = 0
	}
	cands := make([]alarm.LeakCandidate, len(f.Candidates))
	for i, c := range f.Candidates {
		cands[i] = alarm.LeakCandidate{Rank: i + 1, Link: c.Link, Node: c.Node, FlowM3H: c.Flow, Misfit: c.Misfit}
	}
	a, _, err := m.opts.Store.RaiseAlarm(ctx, alarm.Alarm{Kind: KindLeak, Severity: alarm.SeverityMajor,
		Enterprise: rec.Enterprise, Point: n.anchor, Raised: f.Raised, Message: LeakMessage(rec, flow, f.Start, cands)})
	if err != nil {
		m.opts.Logger.Error("network monitor: raise leak alarm", "network", rec.ID, "error", err)
		return
	}
	ev := alarm.Leak{Alarm: a.ID, Network: rec.ID, Start: f.Start, Detected: f.Detected, Raised: f.Raised, FlowM3H: flow, Candidates: cands}
	if err := m.opts.Store.RecordLeak(ctx, ev); err != nil {
		m.opts.Logger.Error("network monitor: record leak", "network", rec.ID, "alarm", a.ID, "error", err)
	}
	m.mu.Lock()
	n.openAlarm = a.ID
	m.mu.Unlock()
	m.opts.Logger.Info("leak alarm", "network", rec.ID, "alarm", a.ID, "start", f.Start, "flow_m3h", flow, "candidates", len(cands))
	m.opts.Notify(a)
}

// LeakMessage is the text of a leak alarm, Chinese then English.
func LeakMessage(n store.Network, flowM3H float64, start time.Time, cands []alarm.LeakCandidate) string {
	where := ""
	if len(cands) > 0 {
		where = fmt.Sprintf("，最可能在管段 %s（节点 %s）附近", cands[0].Link, cands[0].Node)
	}
	whereEN := ""
	if len(cands) > 0 {
		whereEN = fmt.Sprintf(", most likely near pipe %s (node %s)", cands[0].Link, cands[0].Node)
	}
	at := start.In(store.DefaultLocation()).Format("01-02 15:04")
	return fmt.Sprintf("疑似漏损：%s 自 %s 起约 %.1f m³/h%s / Suspected leak in %s: about %.1f m³/h since %s%s",
		n.Name, at, flowM3H, where, n.ID, flowM3H, at, whereEN)
}

// checkRepairs re-arms the detectors whose leak alarm was cleared.
func (m *Monitor) checkRepairs(ctx context.Context) {
	m.mu.Lock()
	open := map[string]int64{}
	for id, n := range m.nets {
		if n.openAlarm != 0 {
			open[id] = n.openAlarm
		}
	}
	m.mu.Unlock()
	for id, alarm := range open {
		a, err := m.opts.Store.Alarm(ctx, alarm)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err == nil && a.State.Open() {
			continue
		}
		m.mu.Lock()
		if n := m.nets[id]; n != nil && n.openAlarm == alarm {
			n.openAlarm = 0
			if n.w != nil {
				n.w.Resolve()
			}
			m.opts.Logger.Info("leak alarm cleared: detector re-armed", "network", id, "alarm", alarm)
		}
		m.mu.Unlock()
	}
}

// load builds a network's watcher and replays its recent readings.
func (m *Monitor) load(ctx context.Context, rec store.Network) {
	n := &watched{rec: rec}
	m.mu.Lock()
	m.nets[rec.ID] = n
	m.mu.Unlock()
	fail := func(err error) {
		m.mu.Lock()
		n.err = err.Error()
		m.mu.Unlock()
		m.opts.Logger.Error("network monitor: cannot watch", "network", rec.ID, "error", err)
	}
	cfg, err := ParseConfig(rec.Config)
	if err != nil {
		fail(err)
		return
	}
	net, err := network.ParseBytes([]byte(rec.INP))
	if err != nil {
		fail(fmt.Errorf("network model: %w", err))
		return
	}
	w, err := NewWatcher(net, cfg)
	if err != nil {
		fail(err)
		return
	}
	// The history holds leaks: an open one makes the detector hold (it is
	// alarmed already); none of them may be learnt as normal.
	now := m.opts.Now()
	open := int64(0)
	var leaks []interval
	if evs, err := m.opts.Store.LeakEvents(ctx, rec.ID, 100); err == nil {
		for _, ev := range evs {
			a, err := m.opts.Store.Alarm(ctx, ev.Alarm)
			if err != nil {
				continue
			}
			end := a.Cleared
			if a.State.Open() {
				end = now
				if open == 0 {
					open = ev.Alarm
					w.Hold()
				}
			}
			leaks = append(leaks, interval{ev.Start, end})
		}
	}
	m.mu.Lock()
	n.w, n.openAlarm = w, open
	if len(cfg.Sensors) > 0 {
		n.anchor = cfg.Sensors[0].Point
	}
	m.mu.Unlock()
	if err := m.replay(ctx, n, now, leaks); err != nil {
		m.opts.Logger.Warn("network monitor: replay", "network", rec.ID, "error", err)
	}
	st, _ := m.Status(rec.ID)
	steps := 0
	if st.Detector != nil {
		steps = st.Detector.Steps
	}
	m.opts.Logger.Info("network monitor: watching", "network", rec.ID, "replayed_steps", steps)
}

// replayChunk is how many steps of history are read between assemblies.
const replayChunk = 64

// interval is a span of real time, [from, to).
type interval struct{ from, to time.Time }

// replay feeds the watcher the readings of the calibration period (and a
// day more) before to, never from before the network's configuration
// last changed (older readings may belong to another sensor map or clock),
// and leaving out the periods of known leaks: the detector must not learn
// a leak as normal, nor alarm again a leak that was already alarmed.
func (m *Monitor) replay(ctx context.Context, n *watched, to time.Time, leaks []interval) error {
	w := n.w
	cfg := w.Config()
	d := cfg.Detection
	window := cfg.Clock.Real(time.Duration((d.CalibrationDays+1)*86400) * time.Second)
	// The window counts leak-free time: reach back past the leaks in it.
	from := to.Add(-window)
	slices.SortFunc(leaks, func(a, b interval) int { return b.from.Compare(a.from) })
	for _, l := range leaks {
		lo, hi := l.from, l.to
		if hi.After(to) {
			hi = to
		}
		if lo.Before(from) && hi.After(from) || !lo.Before(from) && lo.Before(to) {
			if lo.Before(from) {
				lo = from
			}
			from = from.Add(-hi.Sub(lo))
		}
	}
	if n.rec.Updated.After(from) {
		from = n.rec.Updated
	}
	if !from.Before(to) {
		return nil
	}
	inLeak := func(t time.Time) bool {
		for _, l := range leaks {
			if !t.Before(l.from) && t.Before(l.to) {
				return true
			}
		}
		return false
	}
	type source struct{ meter, point string }
	var sources []source
	for _, s := range cfg.Sensors {
		ms, err := m.opts.Store.Meters(ctx, store.Filter{Point: s.Point})
		if err != nil {
			return err
		}
		for _, mt := range ms {
			if !slices.Contains(sources, source{mt.ID, s.Point}) {
				sources = append(sources, source{mt.ID, s.Point})
			}
		}
	}
	type observation struct {
		point, channel string
		t              time.Time
		v              float64
	}
	chunk := cfg.Clock.Real(time.Duration(replayChunk*d.StepS) * time.Second)
	for t := from; t.Before(to); t = t.Add(chunk) {
		end := t.Add(chunk)
		if end.After(to) {
			end = to
		}
		var obs []observation
		for _, src := range sources {
			err := m.opts.Store.ScanReadings(ctx, store.ReadingQuery{Meter: src.meter, From: t, To: end}, func(r *store.Reading) error {
				if r.Flags&untrusted != 0 || inLeak(r.Time) {
					return nil
				}
				for _, v := range r.Values {
					if w.Wants(src.point, v.Channel) {
						obs = append(obs, observation{src.point, v.Channel, r.Time, v.Value})
					}
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("readings of %s: %w", src.meter, err)
			}
		}
		slices.SortStableFunc(obs, func(a, b observation) int { return a.t.Compare(b.t) })
		stepReal := cfg.Clock.Real(time.Duration(d.StepS) * time.Second)
		var fs []Finding
		var err error
		m.mu.Lock()
		last := t
		for _, o := range obs {
			if o.t.Sub(last) >= stepReal {
				// Assemble as the history goes, so that dense readings
				// do not overflow the assembler's buffers.
				var more []Finding
				more, err = w.Advance(o.t)
				fs = append(fs, more...)
				last = o.t
			}
			w.Observe(o.point, o.channel, o.t, o.v)
		}
		if err == nil {
			var more []Finding
			more, err = w.Advance(end)
			fs = append(fs, more...)
		}
		m.mu.Unlock()
		if err != nil {
			return err
		}
		// A leak in the history that was never alarmed (the server was
		// down when it began) is alarmed now.
		for _, f := range fs {
			m.raise(ctx, n, f)
		}
	}
	return nil
}
