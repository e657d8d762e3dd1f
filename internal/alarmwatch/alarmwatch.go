// Package alarmwatch raises, repeats and clears the platform's alarms from what
// ingest commits and from the passage of time: a meter that stops reporting
// (offline, after three reporting intervals), readings flagged as gaps, clock
// skew or implausible values, and readings refused at admission (forged
// signatures, replays, unknown or revoked keys, seq jumps), and ledger
// entries the store refused and set aside (quarantined). Alarms are
// deduplicated per kind and subject by the store; an offline alarm clears itself when the
// meter reports again, and repeats at a set cadence while it lasts.
package alarmwatch

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/quarantine"
)

// Kinds of alarms raised here.
const (
	KindOffline     = "offline"
	KindGap         = "gap"
	KindSkew        = "skew"
	KindImplausible = "implausible"
	KindRejected    = "rejected"
	KindReplay      = "replay"
	KindQuarantined = "quarantined"
)

// Store is what the monitor needs of the store.
type Store interface {
	store.Alarms
	Meter(ctx context.Context, id string) (meter.Meter, error)
	Point(ctx context.Context, id string) (meter.Point, error)
	// Meters and Points read the registry whole, for the facts of many
	// meters at once (lookupMany).
	Meters(ctx context.Context, f store.Filter) ([]meter.Meter, error)
	Points(ctx context.Context, f store.Filter) ([]meter.Point, error)
}

// Options configures a Monitor.
type Options struct {
	Store Store
	// Notify is told of every raised, repeated or cleared alarm (live stream).
	Notify func(alarm.Alarm)
	// OfflineAfter is how many reporting intervals of silence make a meter
	// offline; default 3.
	OfflineAfter int
	// Repeat is how often an open offline alarm is repeated; default 1 h.
	Repeat time.Duration
	// Check is how often meters are checked for silence; default 10 s.
	Check time.Duration
	// Balance, if its Store is set, runs the periodic water-balance check.
	Balance BalanceCheck
	// Plan, if its Boards is set, runs the plan and permit check.
	Plan   PlanCheck
	Now    func() time.Time
	Logger *slog.Logger
}

// Monitor turns events into alarms. Committed may be called from the ingest
// pipeline, RegistryChanged from any goroutine; the store is written, and
// the facts kept of meters read and dropped, from Run's goroutine.
type Monitor struct {
	opts   Options
	events chan event

	mu      sync.Mutex
	offline map[string]offlineState // meter → open offline alarm
	balance map[string]int64        // enterprise → open balance alarm

	watching  bool            // commits go through CommitsTo
	inflight  map[string]int  // meter → commits under way (CommitsTo)
	committed map[string]bool // meters committed since the last balance round
	registry  bool            // meters' registry records changed since the last balance round
	moved     map[string]bool // meters RegistryChanged named since the last forgetMoved
	// Run's goroutine only:
	facts       map[string]meterFacts    // meter → its point and enterprise (factsOf)
	windows     map[string]windowVolumes // enterprise → its last balance window read
	fullBalance bool                     // read every window every round (tests: the old policy)
}

type offlineState struct {
	id       int64
	lastSent time.Time
}

// meterFacts is what the registry says of a meter that the monitor needs:
// the point it is registered on (the balance check) and that point's
// enterprise (with the point, the subject of every alarm raised for it).
type meterFacts struct{ point, enterprise string }

type event struct {
	kind, meter, message string
	severity             alarm.Severity
	at                   time.Time
}

// New returns a monitor; call Run to start it.
func New(opts Options) *Monitor {
	if opts.OfflineAfter <= 0 {
		opts.OfflineAfter = 3
	}
	if opts.Repeat <= 0 {
		opts.Repeat = time.Hour
	}
	if opts.Check <= 0 {
		opts.Check = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.Balance.fill()
	if opts.Notify == nil {
		opts.Notify = func(alarm.Alarm) {}
	}
	return &Monitor{opts: opts, events: make(chan event, 4096), offline: map[string]offlineState{}, balance: map[string]int64{},
		inflight: map[string]int{}, committed: map[string]bool{}, moved: map[string]bool{}, facts: map[string]meterFacts{}, windows: map[string]windowVolumes{}}
}

// Committed looks at a pipeline commit for flagged readings and refusals.
// It never blocks: when the queue is full, events are dropped (and logged),
// because the same condition raises again.
func (m *Monitor) Committed(c *ingest.Committed) {
	for _, r := range c.Readings {
		if r.Flags == 0 {
			continue
		}
		if r.Flags&store.FlagGap != 0 {
			m.post(event{kind: KindGap, meter: r.Meter, severity: alarm.SeverityMinor, at: r.Received,
				message: fmt.Sprintf("数据缺口 / Data gap: meter %s seq %d does not follow its previous reading (ledger index %d)", r.Meter, r.Seq, r.Index)})
		}
		if r.Flags&store.FlagSkew != 0 {
			m.post(event{kind: KindSkew, meter: r.Meter, severity: alarm.SeverityWarning, at: r.Received,
				message: fmt.Sprintf("时钟偏差 / Clock skew: meter %s reports %s, received %s", r.Meter, r.Time.Format(time.RFC3339), r.Received.Format(time.RFC3339))})
		}
		if r.Flags&store.FlagImplausible != 0 {
			m.post(event{kind: KindImplausible, meter: r.Meter, severity: alarm.SeverityMinor, at: r.Received,
				message: fmt.Sprintf("数值异常 / Implausible value: meter %s seq %d has a value outside its channel's range", r.Meter, r.Seq)})
		}
	}
	m.Quarantined(c.Quarantined)
	for _, rj := range c.Rejections {
		if rj.Meter == "" {
			continue
		}
		switch rj.Reason {
		case ingest.ReasonReplay:
			m.post(event{kind: KindReplay, meter: rj.Meter, severity: alarm.SeverityMajor, at: rj.Time,
				message: fmt.Sprintf("重放数据被拒 / Replayed reading refused: meter %s: %s", rj.Meter, rj.Detail)})
		case ingest.ReasonBadSignature, ingest.ReasonRevokedKey, ingest.ReasonWrongDevice, ingest.ReasonPointMismatch, ingest.ReasonSeqJump:
			m.post(event{kind: KindRejected, meter: rj.Meter, severity: alarm.SeverityCritical, at: rj.Time,
				message: fmt.Sprintf("读数被拒（%s）/ Reading refused (%s): meter %s: %s", rj.Reason, rj.Reason, rj.Meter, rj.Detail)})
		}
	}
}

// Quarantined raises an alarm for each ledger entry set aside because the
// store refused it: the ledger holds a record the store and its aggregates
// do not, which an admin must look at (GET /api/v1/quarantine). Like
// Committed it never blocks.
func (m *Monitor) Quarantined(qs []quarantine.Record) {
	for _, q := range qs {
		subject := q.Meter
		if subject == "" {
			subject = "ledger entry " + strconv.FormatUint(q.Index, 10)
		}
		m.post(event{kind: KindQuarantined, meter: q.Meter, severity: alarm.SeverityMajor, at: q.Time,
			message: fmt.Sprintf("账本条目已隔离 / Ledger entry quarantined: %s, index %d (%s): %s", subject, q.Index, q.Reason, q.Detail)})
	}
}

func (m *Monitor) post(e event) {
	select {
	case m.events <- e:
	default:
		m.opts.Logger.Warn("alarm queue full; event dropped", "kind", e.kind, "meter", e.meter)
	}
}

// Run raises queued alarms and checks for silent meters until ctx ends.
// latest returns each meter's last reception time; meters lists the registry.
func (m *Monitor) Run(ctx context.Context, latest func() map[string]time.Time, meters func(context.Context) ([]meter.Meter, error)) {
	m.loadOpen(ctx)
	tick := time.NewTicker(m.opts.Check)
	defer tick.Stop()
	var balanceTick <-chan time.Time
	if m.opts.Balance.Store != nil {
		bt := time.NewTicker(m.opts.Balance.Every)
		defer bt.Stop()
		balanceTick = bt.C
	}
	var planTick <-chan time.Time
	if m.opts.Plan.Boards != nil {
		if m.opts.Plan.Every <= 0 {
			m.opts.Plan.Every = 5 * time.Minute
		}
		pt := time.NewTicker(m.opts.Plan.Every)
		defer pt.Stop()
		planTick = pt.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-m.events:
			m.raise(ctx, e)
		case <-tick.C:
			ms, err := meters(ctx)
			if err != nil {
				m.opts.Logger.Error("offline check", "error", err)
				continue
			}
			m.checkOffline(ctx, latest(), ms)
		case <-balanceTick:
			m.checkBalances(ctx)
		case <-planTick:
			m.checkPlans(ctx)
		}
	}
}

// loadOpen picks up offline and balance alarms an earlier run left open, so
// that they clear when their condition ends.
func (m *Monitor) loadOpen(ctx context.Context) {
	if open, err := m.opts.Store.Alarms(ctx, alarm.Filter{Kind: KindOffline, Open: true, Limit: 100000}); err == nil {
		m.mu.Lock()
		for _, a := range open {
			m.offline[a.Meter] = offlineState{id: a.ID, lastSent: a.LastRaised}
		}
		m.mu.Unlock()
	}
	if open, err := m.opts.Store.Alarms(ctx, alarm.Filter{Kind: KindBalance, Open: true, Limit: 100000}); err == nil {
		m.mu.Lock()
		for _, a := range open {
			m.balance[a.Enterprise] = a.ID
		}
		m.mu.Unlock()
	}
}

// factsOf returns meter id's point and enterprise: kept from an earlier
// lookup unless RegistryChanged named the meter since, else read from the
// store and kept. A lookup that fails (the store unavailable, the meter or
// its point not found) is not kept: the next asks the store again. It
// returns what it could read with the error. Run's goroutine only.
func (m *Monitor) factsOf(ctx context.Context, id string) (meterFacts, error) {
	m.forgetMoved()
	return m.lookup(ctx, id)
}

// lookup is factsOf without forgetMoved, for a caller that looks up many
// meters after one.
func (m *Monitor) lookup(ctx context.Context, id string) (meterFacts, error) {
	if f, ok := m.facts[id]; ok {
		return f, nil
	}
	// No forgetMoved between this read and keeping what it gave: a change
	// stored after the read names the meter in moved, which the next
	// lookup then drops.
	mt, err := m.opts.Store.Meter(ctx, id)
	if err != nil {
		return meterFacts{}, fmt.Errorf("meter %s: %w", id, err)
	}
	p, err := m.opts.Store.Point(ctx, mt.Point)
	if err != nil {
		return meterFacts{point: mt.Point}, fmt.Errorf("point %s of meter %s: %w", mt.Point, id, err)
	}
	f := meterFacts{point: mt.Point, enterprise: p.Enterprise}
	m.facts[id] = f
	return f, nil
}

// lookupMany readies the lookups of meters ids, after one forgetMoved:
// when more than 16 of them are not kept (after a start; an outage
// silencing meters never alarmed before) it reads the registry whole once
// (readAllFacts) rather than twice per meter. False if that read failed.
// Run's goroutine only.
func (m *Monitor) lookupMany(ctx context.Context, ids iter.Seq[string]) bool {
	m.forgetMoved()
	var unknown int
	for id := range ids {
		if _, ok := m.facts[id]; !ok {
			unknown++
		}
	}
	if unknown > 16 {
		return m.readAllFacts(ctx)
	}
	return true
}

// forgetMoved drops the facts kept of the meters RegistryChanged named
// since its last call. Run's goroutine only.
func (m *Monitor) forgetMoved() {
	m.mu.Lock()
	moved := m.moved
	if len(moved) > 0 {
		m.moved = map[string]bool{}
	}
	m.mu.Unlock()
	for id := range moved {
		delete(m.facts, id)
	}
}

func (m *Monitor) raise(ctx context.Context, e event) (alarm.Alarm, bool) {
	var sub meterFacts
	if e.meter != "" {
		var err error
		if sub, err = m.factsOf(ctx, e.meter); err != nil && !errors.Is(err, store.ErrNotFound) {
			m.opts.Logger.Warn("alarm subject", "kind", e.kind, "meter", e.meter, "error", err)
		}
	}
	at := e.at
	if at.IsZero() {
		at = m.opts.Now()
	}
	a, created, err := m.opts.Store.RaiseAlarm(ctx, alarm.Alarm{Kind: e.kind, Severity: e.severity, Enterprise: sub.enterprise,
		Point: sub.point, Meter: e.meter, Message: e.message, Raised: at})
	if err != nil {
		m.opts.Logger.Error("raise alarm", "kind", e.kind, "meter", e.meter, "error", err)
		return a, false
	}
	if created {
		m.opts.Logger.Info("alarm", "kind", e.kind, "meter", e.meter, "id", a.ID)
	}
	m.opts.Notify(a)
	return a, true
}

// offlineRound decides a round of the offline check at now: an offline
// alarm raised for every meter silent for more than OfflineAfter of its
// intervals (a meter that never reported is silent since its
// registration), repeated every Repeat while open; the open alarm cleared
// of every meter reporting again. Revoked meters are left alone.
func (m *Monitor) offlineRound(now time.Time, latest map[string]time.Time, ms []meter.Meter) []offlineStep {
	var steps []offlineStep
	for _, mt := range ms {
		if mt.Revoked {
			continue
		}
		iv := mt.Interval
		if iv <= 0 {
			iv = time.Minute
		}
		limit := time.Duration(m.opts.OfflineAfter) * iv
		last, ok := latest[mt.ID]
		if !ok {
			last = mt.Registered
		}
		silent := now.Sub(last)
		m.mu.Lock()
		st, open := m.offline[mt.ID]
		m.mu.Unlock()
		switch {
		case silent > limit && (!open || now.Sub(st.lastSent) >= m.opts.Repeat):
			steps = append(steps, offlineStep{meter: mt.ID,
				message: fmt.Sprintf("仪表离线 / Meter offline: %s silent for %s (interval %s)", mt.ID, silent.Round(time.Second), iv)})
		case silent <= limit && open:
			steps = append(steps, offlineStep{meter: mt.ID, clear: true, id: st.id})
		}
	}
	return steps
}

// offlineBatch is how many offline alarms go to the store in one
// transaction each way: a carrier outage silences tens of thousands of
// meters in one round, and one transaction an alarm held the monitor (and
// the balance and plan checks waiting on it) for minutes.
const offlineBatch = 1000

// offlineStep is what a round of the offline check does for one meter:
// raise (or repeat) its offline alarm, or clear the open one.
type offlineStep struct {
	meter   string
	clear   bool
	id      int64  // the open alarm to clear
	message string // of the alarm to raise
}

// checkOffline raises an offline alarm for every meter silent for
// OfflineAfter intervals, repeats open ones every Repeat, and clears those
// whose meter is reporting again: in batches of offlineBatch meters, each
// raising and clearing in one store transaction each
// (Store.RaiseAlarms, ClearAlarms), the subjects of the alarms raised
// looked up with one read of the registry when many are not kept.
func (m *Monitor) checkOffline(ctx context.Context, latest map[string]time.Time, ms []meter.Meter) {
	now := m.opts.Now()
	steps := m.offlineRound(now, latest, ms)
	if len(steps) == 0 {
		return
	}
	m.lookupMany(ctx, func(yield func(string) bool) {
		for _, s := range steps {
			if !s.clear && !yield(s.meter) {
				return
			}
		}
	}) // on failure each meter is looked up alone, as below
	for len(steps) > 0 {
		n := min(len(steps), offlineBatch)
		m.offlineSteps(ctx, now, steps[:n])
		steps = steps[n:]
	}
}

// offlineSteps raises the offline alarms of steps in one store transaction
// and clears theirs in another, then tells Notify of each and notes the
// open alarms, in the order of steps. A batch the store refuses is logged:
// its raises are tried again at the next round (the meters are not noted
// offline), its clears are not (as a clear refused alone).
func (m *Monitor) offlineSteps(ctx context.Context, now time.Time, steps []offlineStep) {
	var as []alarm.Alarm
	var ids []int64
	for _, s := range steps {
		if s.clear {
			ids = append(ids, s.id)
			continue
		}
		sub, err := m.lookup(ctx, s.meter)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			m.opts.Logger.Warn("alarm subject", "kind", KindOffline, "meter", s.meter, "error", err)
		}
		as = append(as, alarm.Alarm{Kind: KindOffline, Severity: alarm.SeverityMajor, Enterprise: sub.enterprise,
			Point: sub.point, Meter: s.meter, Message: s.message, Raised: now})
	}
	var raised []store.RaisedAlarm
	var raiseErr error
	if len(as) > 0 {
		if raised, raiseErr = m.opts.Store.RaiseAlarms(ctx, as); raiseErr != nil {
			m.opts.Logger.Error("raise alarms", "kind", KindOffline, "alarms", len(as), "first", as[0].Meter, "error", raiseErr)
		}
	}
	var cleared []store.ClearedAlarm
	var clearErr error
	if len(ids) > 0 {
		if cleared, clearErr = m.opts.Store.ClearAlarms(ctx, ids, "system", now, "meter reporting again / 仪表恢复上报"); clearErr != nil {
			m.opts.Logger.Warn("clear offline alarms", "alarms", len(ids), "error", clearErr)
		}
	}
	var r, c int
	for _, s := range steps {
		if s.clear {
			if clearErr == nil {
				if x := cleared[c]; x.Err != nil {
					m.opts.Logger.Warn("clear offline alarm", "meter", s.meter, "error", x.Err)
				} else {
					m.opts.Notify(x.Alarm)
				}
			}
			c++
			m.mu.Lock()
			delete(m.offline, s.meter)
			m.mu.Unlock()
			continue
		}
		if raiseErr == nil {
			x := raised[r]
			if x.Created {
				m.opts.Logger.Info("alarm", "kind", KindOffline, "meter", s.meter, "id", x.Alarm.ID)
			}
			m.opts.Notify(x.Alarm)
			m.mu.Lock()
			m.offline[s.meter] = offlineState{id: x.Alarm.ID, lastSent: now}
			m.mu.Unlock()
		}
		r++
	}
}
