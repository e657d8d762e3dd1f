package actuate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	xrate "golang.org/x/time/rate"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/reading"
)

// Publisher sends a message to a device topic (the embedded broker's Publish).
type Publisher interface {
	Publish(topic string, payload []byte, qos byte) error
}

// Ledger appends a command entry to the tamper-evident log (signed by the
// log key) and returns its index once it is durably sequenced.
type Ledger interface {
	Record(ctx context.Context, e *reading.CommandEntry) (uint64, error)
}

// Recorder keeps command records and overrides (store.Controls).
type Recorder interface {
	SaveCommands(ctx context.Context, cs []command.Record) error
	SetOverride(ctx context.Context, o command.Override) error
}

// Alarm is raised (or, with Clear, cleared) by the actuation layer: a device
// that does not acknowledge, refuses, or a ledger that cannot record.
type Alarm struct {
	Plant, Enterprise, Device, Actuator string
	Code                                string // actuator_no_ack, actuator_refused, actuation_unavailable
	Severity                            alarm.Severity
	Message                             string
	Clear                               bool
}

// Options configure an Actuation.
type Options struct {
	Publisher Publisher
	Ledger    Ledger
	Store     Recorder
	// OnAlarm and OnCommand are told of alarms and of every command record
	// written (issue and outcome); they must not block.
	OnAlarm   func(Alarm)
	OnCommand func(command.Record)
	Now       func() time.Time
	// AckTimeout is how long a device has to acknowledge one publish
	// (default 5 s); a command is published Retries times (default 3) before
	// it times out.
	AckTimeout time.Duration
	Retries    int
	// RetryFailedAfter is how long after a failed command the held value is
	// offered again (default 30 s).
	RetryFailedAfter time.Duration
	// OperatorChanges bounds how fast operators may change one actuator's
	// mode or manual value (default DefaultOperatorChanges); a lock-out is
	// never refused. Over it, SetMode answers ErrTooFast.
	OperatorChanges ChangeLimit
	Logger          *slog.Logger
}

// ChangeLimit is a token bucket: Burst changes at once, then one every
// 1/PerS seconds (wall clock).
type ChangeLimit struct {
	PerS  float64
	Burst int
}

// DefaultOperatorChanges lets an operator make 5 changes of one actuator at
// once and one every 6 s after that.
var DefaultOperatorChanges = ChangeLimit{PerS: 1.0 / 6, Burst: 5}

// ErrTooFast refuses an operator change over Options.OperatorChanges; the
// error is a *TooFastError.
var ErrTooFast = errors.New("operator changes of this actuator are too frequent")

// TooFastError says when an operator may change an actuator again.
type TooFastError struct {
	Actuator string
	Limit    ChangeLimit
	Retry    time.Duration // until the next change is accepted
}

func (e *TooFastError) Error() string {
	return fmt.Sprintf("actuate: %v: actuator %s takes %d operator changes at once and one every %.0f s after that (next in %.0f s); a lock-out is always accepted",
		ErrTooFast, e.Actuator, e.Limit.Burst, 1/e.Limit.PerS, math.Ceil(e.Retry.Seconds()))
}

// Is makes errors.Is(err, ErrTooFast) hold.
func (e *TooFastError) Is(target error) bool { return target == ErrTooFast }

// Actuation is the one place where control outputs become device commands:
// every value passes the interlocks of its actuator (Decide), is recorded in
// the ledger with its cause before it is published, is published at QoS 1
// on the device's command topic, and is retried until the device
// acknowledges it or the retries run out (an alarm). Operators' manual
// overrides, lock-outs and set-point changes go through it as well.
type Actuation struct {
	opts  Options
	idTag string
	seq   atomic.Uint64

	mu     sync.Mutex
	plants map[string]*plantGate

	sends chan []*outgoing
	acks  chan ackEvent

	pmu     sync.Mutex
	pending map[string]*outgoing

	outq    chan outcome
	runOnce sync.Once
	running chan struct{}
}

// outcome is a command's outcome waiting to be recorded.
type outcome struct {
	rec   command.Record
	entry *reading.CommandEntry
}

type plantGate struct {
	mu         sync.Mutex
	id         string
	enterprise string
	acts       map[string]*actuatorState
}

type actuatorState struct {
	Actuator
	st         State
	decision   Decision
	hasSent    bool
	lastSent   float64
	sentAt     time.Time
	lastID     string
	lastStatus string
	failedAt   time.Time
	changedAt  time.Time      // when the decided value last changed (the dwell counts from it)
	operator   *xrate.Limiter // operators' changes; made on first use
}

// decide applies the interlocks with the dwell counted to now and keeps the
// decision. Called with the gate's lock held.
func (as *actuatorState) decide(req Request, dt float64, now time.Time) Decision {
	as.heldFor(now)
	d := as.Decide(as.st, req, dt)
	if !as.st.HasHeld || d.Value != as.st.Held {
		as.changedAt = now
	}
	as.st, as.decision = as.st.Next(d), d
	return d
}

// heldFor sets the state's HeldS at now.
func (as *actuatorState) heldFor(now time.Time) {
	as.st.HeldS = math.Inf(1)
	if !as.changedAt.IsZero() {
		as.st.HeldS = now.Sub(as.changedAt).Seconds()
	}
}

type outgoing struct {
	rec        command.Record
	entry      *reading.CommandEntry
	payload    []byte
	attempts   int
	deadline   time.Time
	superseded string
}

type ackEvent struct {
	device string
	ack    AckMessage
	at     time.Time
}

// New returns an Actuation; Run must be running for commands to be sent.
func New(opts Options) (*Actuation, error) {
	if opts.Publisher == nil || opts.Ledger == nil || opts.Store == nil {
		return nil, errors.New("actuate: Publisher, Ledger and Store are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AckTimeout <= 0 {
		opts.AckTimeout = 5 * time.Second
	}
	if opts.Retries <= 0 {
		opts.Retries = 3
	}
	if opts.RetryFailedAfter <= 0 {
		opts.RetryFailedAfter = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.OperatorChanges == (ChangeLimit{}) {
		opts.OperatorChanges = DefaultOperatorChanges
	}
	var tag [2]byte
	if _, err := rand.Read(tag[:]); err != nil {
		return nil, err
	}
	return &Actuation{opts: opts, idTag: hex.EncodeToString(tag[:]), plants: map[string]*plantGate{},
		sends: make(chan []*outgoing, 256), acks: make(chan ackEvent, 1024), pending: map[string]*outgoing{},
		outq: make(chan outcome, 4096), running: make(chan struct{})}, nil
}

// Configure sets (or replaces) a plant's actuators and the operators'
// overrides in force. Actuators that keep their name keep their state.
func (a *Actuation) Configure(plant, enterprise string, acts []Actuator, overrides []command.Override) error {
	if plant == "" {
		return errors.New("actuate: no plant ID")
	}
	m := map[string]*actuatorState{}
	for _, act := range acts {
		if err := act.Validate(); err != nil {
			return fmt.Errorf("plant %s: %w", plant, err)
		}
		if _, dup := m[act.Name]; dup {
			return fmt.Errorf("plant %s: actuator %s listed twice", plant, act.Name)
		}
		m[act.Name] = &actuatorState{Actuator: act}
	}
	for _, o := range overrides {
		as, ok := m[o.Actuator]
		if !ok {
			continue
		}
		switch o.Mode {
		case command.ModeLocked:
			as.st.Mode = o.Mode
		case command.ModeManual:
			if as.CheckManual(o.Value) == nil {
				as.st.Mode, as.st.Manual = o.Mode, o.Value
			} else {
				as.st.Mode = command.ModeLocked // an override that no longer fits the bounds locks the output out
			}
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.plants[plant]
	if g == nil {
		a.plants[plant] = &plantGate{id: plant, enterprise: enterprise, acts: m}
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for name, as := range m {
		if old, ok := g.acts[name]; ok && old.Device == as.Device {
			mode, manual := as.st.Mode, as.st.Manual
			as.st, as.hasSent, as.lastSent, as.sentAt, as.lastID, as.lastStatus = old.st, old.hasSent, old.lastSent, old.sentAt, old.lastID, old.lastStatus
			as.changedAt, as.operator = old.changedAt, old.operator
			as.st.Mode, as.st.Manual = mode, manual
		}
	}
	g.enterprise, g.acts = enterprise, m
	return nil
}

// Remove forgets a plant.
func (a *Actuation) Remove(plant string) {
	a.mu.Lock()
	delete(a.plants, plant)
	a.mu.Unlock()
}

func (a *Actuation) gate(plant string) (*plantGate, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.plants[plant]
	if g == nil {
		return nil, fmt.Errorf("actuate: unknown plant %s: %w", plant, store.ErrNotFound)
	}
	return g, nil
}

// Apply runs the requests of one control step of a plant through the
// interlocks (dt is the step in seconds of process time) and queues a
// command for every actuator whose value changed beyond its deadband, whose
// refresh is due or whose last command failed. Actuators without a request
// hold their value (or their operator's mode). It returns the decisions by
// actuator.
func (a *Actuation) Apply(ctx context.Context, plant string, reqs []Request, dt float64) (map[string]Decision, error) {
	g, err := a.gate(plant)
	if err != nil {
		return nil, err
	}
	now := a.opts.Now()
	g.mu.Lock()
	out := make(map[string]Decision, len(g.acts))
	var batch []*outgoing
	seen := map[string]bool{}
	for _, req := range reqs {
		as, ok := g.acts[req.Actuator]
		if !ok || seen[req.Actuator] {
			continue
		}
		seen[req.Actuator] = true
		d := as.decide(req, dt, now)
		out[req.Actuator] = d
		if o := a.offer(g, as, d, req, now); o != nil {
			batch = append(batch, o)
		}
	}
	for _, name := range g.names() {
		as := g.acts[name]
		if seen[name] || !as.st.HasHeld && as.st.Mode != command.ModeLocked && as.st.Mode != command.ModeManual {
			continue
		}
		req := Request{Actuator: name, Value: as.st.Held, By: "hold", Reason: "no request this step: value held"}
		d := as.decide(req, dt, now)
		out[name] = d
		if o := a.offer(g, as, d, req, now); o != nil {
			batch = append(batch, o)
		}
	}
	g.mu.Unlock()
	return out, a.queue(ctx, batch)
}

func (g *plantGate) names() []string {
	names := make([]string, 0, len(g.acts))
	for n := range g.acts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (a *Actuation) queue(ctx context.Context, batch []*outgoing) error {
	if len(batch) == 0 {
		return nil
	}
	select {
	case a.sends <- batch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// offer decides whether a decision is sent and, if so, builds the command.
// Called with g.mu held.
func (a *Actuation) offer(g *plantGate, as *actuatorState, d Decision, req Request, now time.Time) *outgoing {
	send := !as.hasSent
	switch {
	case send:
	case as.Discrete() || as.Deadband == 0 || d.Immediate:
		send = d.Value != as.lastSent
	default:
		send = math.Abs(d.Value-as.lastSent) > as.Deadband
	}
	if !send && as.RefreshS > 0 && now.Sub(as.sentAt).Seconds() >= as.RefreshS {
		send = true
	}
	if !send && (as.lastStatus == command.Timeout || as.lastStatus == command.Nacked) && now.Sub(as.failedAt) >= a.opts.RetryFailedAfter {
		send = true
	}
	if !send {
		return nil
	}
	o := a.newCommand(g, as, d, req, now)
	as.hasSent, as.lastSent, as.sentAt, as.lastID, as.lastStatus = true, d.Value, now, o.rec.ID, command.Pending
	return o
}

func (a *Actuation) newID(now time.Time) string {
	return "C" + now.UTC().Format("20060102T150405.000") + "-" + a.idTag + "-" + strconv.FormatUint(a.seq.Add(1), 10)
}

func (a *Actuation) newCommand(g *plantGate, as *actuatorState, d Decision, req Request, now time.Time) *outgoing {
	id := a.newID(now)
	by := req.By
	if d.Source == reading.SourceOperator {
		by = "operator mode manual"
	} else if d.Source == reading.SourceInterlock {
		by = "interlock"
	}
	reason := oneLine(req.Reason)
	if d.Source == reading.SourceInterlock {
		reason = "interlock " + strings.Join(d.Interlocks, ",") + " (requested " + strconv.FormatFloat(d.Requested, 'g', 6, 64) + ")"
	}
	rec := command.Record{ID: id, Kind: command.KindIssue, Plant: g.id, Enterprise: g.enterprise, Device: as.Device,
		Actuator: as.Name, Value: d.Value, Unit: as.Unit, Min: as.Min, Max: as.Max, Interlocks: d.Interlocks, Source: d.Source,
		By: oneLine(by), Reason: reason, Issued: now, Status: command.Pending}
	if finite(d.Requested) && d.Requested != d.Value {
		r := d.Requested
		rec.Requested = &r
	}
	e := &reading.CommandEntry{ID: id, Event: reading.EventIssue, Plant: g.id, Enterprise: g.enterprise, Device: as.Device,
		Command: as.Name, Value: d.Value, HasValue: true, Unit: unitWord(as.Unit), Min: as.Min, Max: as.Max, HasBounds: true,
		Interlocks: d.Interlocks, Source: d.Source, By: rec.By, Reason: rec.Reason, Time: now}
	if rec.Requested != nil {
		e.Requested, e.HasRequested = *rec.Requested, true
	}
	for _, in := range req.Inputs {
		if len(e.Inputs)+len(e.Indices) >= reading.MaxCommandInputs/2 || !reading.ValidChannel(in.Name) {
			break
		}
		ci := command.Input{Name: in.Name, Value: in.Value, AgeS: in.AgeS}
		if !in.Valid || !finite(in.Value, in.AgeS) {
			ci = command.Input{Name: in.Name, Missing: true}
		}
		rec.Inputs = append(rec.Inputs, ci)
		if !ci.Missing {
			e.Inputs = append(e.Inputs, reading.Input{Name: in.Name, Value: in.Value})
		}
	}
	for _, in := range req.Indices {
		if len(e.Inputs)+len(e.Indices) >= reading.MaxCommandInputs || !reading.ValidChannel(in.Name) || !finite(in.Value) {
			break
		}
		rec.Indices = append(rec.Indices, command.Input{Name: in.Name, Value: in.Value})
		e.Indices = append(e.Indices, in)
	}
	cause := rec.Source + " " + rec.By
	if rec.Reason != "" {
		cause += ": " + rec.Reason
	}
	payload, _ := json.Marshal(Message{ID: id, Time: now.UTC(), Command: as.Name, Value: d.Value, Unit: as.Unit, Cause: cause})
	return &outgoing{rec: rec, entry: e, payload: payload}
}

// unitWord makes a unit fit the ledger's one-word unit field.
func unitWord(u string) string { return strings.ReplaceAll(oneLine(u), " ", "_") }

// SetMode puts an actuator in auto, manual (holding value) or locked-out
// mode on an operator's order. The change is recorded in the ledger and the
// store before it takes effect; a manual value outside the interlock bounds
// is refused. Locking out or going manual sends the new value at once.
func (a *Actuation) SetMode(ctx context.Context, plant, actuator, mode string, value float64, by, reason string) (command.Record, error) {
	if mode != command.ModeAuto && mode != command.ModeManual && mode != command.ModeLocked {
		return command.Record{}, fmt.Errorf("actuate: %w: %q", ErrMode, mode)
	}
	g, err := a.gate(plant)
	if err != nil {
		return command.Record{}, err
	}
	g.mu.Lock()
	as, ok := g.acts[actuator]
	if !ok {
		g.mu.Unlock()
		return command.Record{}, fmt.Errorf("actuate: plant %s has no actuator %s: %w", plant, actuator, store.ErrNotFound)
	}
	now := a.opts.Now()
	if mode == command.ModeManual {
		as.heldFor(now)
		err := as.CheckManual(value)
		if err == nil {
			err = as.CheckDwell(as.st, value)
		}
		if err != nil {
			g.mu.Unlock()
			return command.Record{}, fmt.Errorf("%w: %v", store.ErrInvalid, err)
		}
	}
	if mode != command.ModeLocked {
		lim := a.opts.OperatorChanges
		if as.operator == nil {
			as.operator = xrate.NewLimiter(xrate.Limit(lim.PerS), lim.Burst)
		}
		if !as.operator.AllowN(now, 1) {
			res := as.operator.ReserveN(now, 1)
			retry := res.DelayFrom(now)
			res.CancelAt(now)
			g.mu.Unlock()
			return command.Record{}, &TooFastError{Actuator: actuator, Limit: lim, Retry: retry}
		}
	}
	act, enterprise := as.Actuator, g.enterprise
	g.mu.Unlock()

	id := a.newID(now)
	rec := command.Record{ID: id, Kind: command.KindMode, Plant: plant, Enterprise: enterprise, Device: act.Device,
		Actuator: actuator, Unit: act.Unit, Min: act.Min, Max: act.Max, Mode: mode, Source: reading.SourceOperator,
		By: oneLine(by), Reason: oneLine(reason), Issued: now, Status: command.Logged}
	e := &reading.CommandEntry{ID: id, Event: reading.EventMode, Plant: plant, Enterprise: enterprise, Device: act.Device,
		Command: actuator, Unit: unitWord(act.Unit), Mode: mode, Source: reading.SourceOperator, By: rec.By, Reason: rec.Reason, Time: now}
	switch mode {
	case command.ModeManual:
		rec.Value, e.Value, e.HasValue, e.Min, e.Max, e.HasBounds = value, value, true, act.Min, act.Max, true
	case command.ModeLocked:
		rec.Value, e.Value, e.HasValue, e.Min, e.Max, e.HasBounds = act.Lockout, act.Lockout, true, act.Min, act.Max, true
	}
	if err := a.record(ctx, &rec, e); err != nil {
		return rec, err
	}
	if err := a.opts.Store.SetOverride(ctx, command.Override{Plant: plant, Actuator: actuator, Mode: mode, Value: value, By: rec.By, Reason: rec.Reason, Since: now}); err != nil {
		return rec, fmt.Errorf("actuate: keep override: %w", err)
	}
	g.mu.Lock()
	as, ok = g.acts[actuator]
	var batch []*outgoing
	if ok {
		as.st.Mode, as.st.Manual = mode, value
		if mode != command.ModeAuto {
			req := Request{Actuator: actuator, Value: as.st.Held, By: "operator", Reason: "mode " + mode + " by " + rec.By}
			d := as.decide(req, 0, now)
			if o := a.offer(g, as, d, req, now); o != nil {
				batch = append(batch, o)
			}
		}
	}
	g.mu.Unlock()
	return rec, a.queue(ctx, batch)
}

// SetpointChange is an operator's change of a controller set-point and its
// cause.
type SetpointChange struct {
	Name  string  // set-point name, e.g. "cycles"
	Unit  string  // "" when dimensionless
	Value float64 // the value asked for
	// Current is the set-point in force; MaxStep, when positive, limits a
	// change to Current ± MaxStep (the set-point's rate limit: one step per
	// order, so a controller is never handed a jump it was not tuned for).
	Current, MaxStep float64
	Min, Max         float64 // bounds: a value outside is refused, not clamped
	// Drives is the actuator the controller behind the set-point drives: while
	// it is locked out the change is refused; while it is in manual the change
	// is recorded (interlock "manual") and acts when it returns to auto.
	Drives          string
	By, Reason      string
	Inputs, Indices []reading.Input // the figures the change is based on
}

// Decide applies the bounds and the step limit to a set-point change: the
// value to apply and the interlocks that shaped it, or an error wrapping
// store.ErrInvalid. It is pure; the driven actuator's mode is checked by
// ChangeSetpoint.
func (c SetpointChange) Decide() (float64, []string, error) {
	if !reading.ValidChannel(c.Name) {
		return 0, nil, fmt.Errorf("actuate: %w: set-point name %q", store.ErrInvalid, c.Name)
	}
	if !finite(c.Value) || c.Value < c.Min || c.Value > c.Max {
		return 0, nil, fmt.Errorf("actuate: %w: set-point %s = %g outside its bounds [%g, %g] %s", store.ErrInvalid, c.Name, c.Value, c.Min, c.Max, c.Unit)
	}
	if c.MaxStep > 0 && finite(c.Current, c.MaxStep) && math.Abs(c.Value-c.Current) > c.MaxStep {
		v := c.Current + math.Copysign(c.MaxStep, c.Value-c.Current)
		return math.Max(c.Min, math.Min(c.Max, v)), []string{"rate"}, nil
	}
	return c.Value, nil, nil
}

// ChangeSetpoint passes an operator's set-point change through its
// interlocks (SetpointChange) and records it in the ledger and the store
// before the caller applies it. It returns the record with the value to
// apply, which the step limit may have moved towards Current.
func (a *Actuation) ChangeSetpoint(ctx context.Context, plant string, c SetpointChange) (command.Record, error) {
	value, interlocks, err := c.Decide()
	if err != nil {
		return command.Record{}, err
	}
	g, err := a.gate(plant)
	if err != nil {
		return command.Record{}, err
	}
	g.mu.Lock()
	enterprise := g.enterprise
	mode := ""
	if as, ok := g.acts[c.Drives]; ok {
		mode = as.st.Mode
	}
	g.mu.Unlock()
	switch mode {
	case command.ModeLocked:
		return command.Record{}, fmt.Errorf("actuate: %w: %s is locked out; set-point %s may not change until it is released", store.ErrConflict, c.Drives, c.Name)
	case command.ModeManual:
		interlocks = append(interlocks, "manual")
	}
	now := a.opts.Now()
	id := a.newID(now)
	rec := command.Record{ID: id, Kind: command.KindSetpoint, Plant: plant, Enterprise: enterprise, Actuator: c.Name,
		Value: value, Unit: c.Unit, Min: c.Min, Max: c.Max, Interlocks: interlocks, Source: reading.SourceOperator, By: oneLine(c.By),
		Reason: oneLine(c.Reason), Issued: now, Status: command.Logged}
	e := &reading.CommandEntry{ID: id, Event: reading.EventSetpoint, Plant: plant, Enterprise: enterprise, Command: c.Name,
		Value: value, HasValue: true, Unit: unitWord(c.Unit), Min: c.Min, Max: c.Max, HasBounds: true, Interlocks: interlocks,
		Source: reading.SourceOperator, By: rec.By, Reason: rec.Reason, Time: now}
	if value != c.Value {
		r := c.Value
		rec.Requested, e.Requested, e.HasRequested = &r, r, true
	}
	for _, in := range c.Inputs {
		if len(e.Inputs) < reading.MaxCommandInputs/2 && reading.ValidChannel(in.Name) && finite(in.Value) {
			rec.Inputs = append(rec.Inputs, command.Input{Name: in.Name, Value: in.Value})
			e.Inputs = append(e.Inputs, in)
		}
	}
	for _, in := range c.Indices {
		if len(e.Inputs)+len(e.Indices) < reading.MaxCommandInputs && reading.ValidChannel(in.Name) && finite(in.Value) {
			rec.Indices = append(rec.Indices, command.Input{Name: in.Name, Value: in.Value})
			e.Indices = append(e.Indices, in)
		}
	}
	return rec, a.record(ctx, &rec, e)
}

// record puts an entry in the ledger, then its record in the store.
func (a *Actuation) record(ctx context.Context, rec *command.Record, e *reading.CommandEntry) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("actuate: %w: %v", store.ErrInvalid, err)
	}
	idx, err := a.opts.Ledger.Record(ctx, e)
	if err != nil {
		return fmt.Errorf("actuate: record %s in the ledger: %w", rec.ID, err)
	}
	rec.Index = idx
	if err := a.opts.Store.SaveCommands(ctx, []command.Record{*rec}); err != nil {
		return fmt.Errorf("actuate: store %s: %w", rec.ID, err)
	}
	if a.opts.OnCommand != nil {
		a.opts.OnCommand(*rec)
	}
	return nil
}

// HandleAck takes a device's message from its acks topic (the broker's
// OnDeviceMessage). It never blocks; malformed acks are logged and dropped.
func (a *Actuation) HandleAck(device string, payload []byte) {
	ack, err := ParseAck(payload)
	if err != nil {
		a.opts.Logger.Warn("actuation: bad ack", "device", device, "error", err)
		return
	}
	select {
	case a.acks <- ackEvent{device: device, ack: ack, at: a.opts.Now()}:
	default:
		a.opts.Logger.Warn("actuation: ack queue full; ack dropped (the command will be retried)", "device", device, "id", ack.ID)
	}
}

// Run sends queued commands, matches acknowledgements, retries or times out
// commands and records outcomes until ctx ends; then it records the outcomes
// still queued.
func (a *Actuation) Run(ctx context.Context) {
	first := false
	a.runOnce.Do(func() { first = true })
	if !first {
		return
	}
	defer close(a.running)
	tick := time.NewTicker(min(a.opts.AckTimeout/4, 250*time.Millisecond))
	defer tick.Stop()
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		a.recordOutcomes(ctx)
	}()
	defer func() {
		close(a.outq)
		<-recorded
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case batch := <-a.sends:
			a.send(ctx, batch)
		case ev := <-a.acks:
			a.answer(ctx, ev)
		case <-tick.C:
			a.expire(ctx)
		}
	}
}

// Done is closed when Run has returned.
func (a *Actuation) Done() <-chan struct{} { return a.running }

// send records a batch in the ledger (concurrently, so the entries share a
// ledger write), then stores and publishes each command in order.
func (a *Actuation) send(ctx context.Context, batch []*outgoing) {
	idx := make([]uint64, len(batch))
	errs := make([]error, len(batch))
	var wg sync.WaitGroup
	for i, o := range batch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := o.entry.Validate(); err != nil {
				errs[i] = err
				return
			}
			idx[i], errs[i] = a.opts.Ledger.Record(ctx, o.entry)
		}()
	}
	wg.Wait()
	now := a.opts.Now()
	var recs []command.Record
	for i, o := range batch {
		if errs[i] == nil {
			o.rec.Index = idx[i]
			recs = append(recs, o.rec)
		}
	}
	if err := a.opts.Store.SaveCommands(ctx, recs); err != nil {
		a.opts.Logger.Error("actuation: store commands", "n", len(recs), "error", err)
	}
	if a.opts.OnCommand != nil {
		for _, r := range recs {
			a.opts.OnCommand(r)
		}
	}
	for i, o := range batch {
		if errs[i] != nil {
			a.opts.Logger.Error("actuation: command not recorded, not sent", "id", o.rec.ID, "error", errs[i])
			a.settle(o, command.Timeout, now)
			a.alarm(Alarm{Plant: o.rec.Plant, Enterprise: o.rec.Enterprise, Device: o.rec.Device, Actuator: o.rec.Actuator,
				Code: "actuation_unavailable", Severity: alarm.SeverityCritical,
				Message: fmt.Sprintf("指令未能上链，未下发 / command %s to %s could not be recorded in the ledger and was not sent: %v", o.rec.ID, o.rec.Device, errs[i])})
			continue
		}
		o.rec.Index = idx[i]
		a.pmu.Lock()
		for _, p := range a.pending {
			if p.rec.Plant == o.rec.Plant && p.rec.Actuator == o.rec.Actuator && p.superseded == "" {
				p.superseded = o.rec.ID
			}
		}
		o.attempts, o.deadline = 1, now.Add(a.opts.AckTimeout)
		a.pending[o.rec.ID] = o
		a.pmu.Unlock()
		a.publish(o)
	}
}

func (a *Actuation) publish(o *outgoing) {
	if err := a.opts.Publisher.Publish(CommandsTopic+o.rec.Device, o.payload, 1); err != nil {
		a.opts.Logger.Warn("actuation: publish", "id", o.rec.ID, "device", o.rec.Device, "error", err)
	}
}

// answer closes a pending command with the device's acknowledgement.
func (a *Actuation) answer(ctx context.Context, ev ackEvent) {
	a.pmu.Lock()
	o, ok := a.pending[ev.ack.ID]
	if ok && o.rec.Device == ev.device {
		delete(a.pending, ev.ack.ID)
	}
	a.pmu.Unlock()
	if !ok || o.rec.Device != ev.device {
		a.opts.Logger.Info("actuation: ack for no pending command", "device", ev.device, "id", ev.ack.ID)
		return
	}
	status, event := command.Acked, reading.EventAck
	if !ev.ack.OK {
		status, event = command.Nacked, reading.EventNack
	}
	a.close(ctx, o, status, event, ev.ack.Detail, ev.at)
}

// expire republishes commands whose acknowledgement is overdue and times
// out those that used every attempt.
func (a *Actuation) expire(ctx context.Context) {
	now := a.opts.Now()
	var retry, dead []*outgoing
	a.pmu.Lock()
	for id, o := range a.pending {
		if now.Before(o.deadline) {
			continue
		}
		if o.superseded == "" && o.attempts < a.opts.Retries {
			o.attempts++
			o.deadline = now.Add(a.opts.AckTimeout)
			retry = append(retry, o)
			continue
		}
		delete(a.pending, id)
		dead = append(dead, o)
	}
	a.pmu.Unlock()
	for _, o := range retry {
		a.publish(o)
	}
	for _, o := range dead {
		detail := fmt.Sprintf("no acknowledgement after %d publishes", o.attempts)
		if o.superseded != "" {
			detail = "superseded by " + o.superseded + " before it was acknowledged"
		}
		a.close(ctx, o, command.Timeout, reading.EventTimeout, detail, now)
	}
}

// close records a command's outcome (ledger, then store) in the background
// and updates the actuator's state and alarms.
func (a *Actuation) close(ctx context.Context, o *outgoing, status, event, detail string, at time.Time) {
	a.settle(o, status, at)
	rec := o.rec
	rec.Status, rec.Attempts, rec.Answered, rec.Detail = status, o.attempts, at, detail
	e := &reading.CommandEntry{ID: rec.ID, Event: event, Plant: rec.Plant, Enterprise: rec.Enterprise, Device: rec.Device,
		Command: rec.Actuator, Detail: detail, Attempts: o.attempts, Time: at}
	switch {
	case status == command.Nacked:
		a.alarm(Alarm{Plant: rec.Plant, Enterprise: rec.Enterprise, Device: rec.Device, Actuator: rec.Actuator,
			Code: "actuator_refused", Severity: alarm.SeverityMajor,
			Message: fmt.Sprintf("设备拒绝指令 / device %s refused %s = %g %s: %s", rec.Device, rec.Actuator, rec.Value, rec.Unit, detail)})
	case status == command.Timeout && o.superseded == "":
		a.alarm(Alarm{Plant: rec.Plant, Enterprise: rec.Enterprise, Device: rec.Device, Actuator: rec.Actuator,
			Code: "actuator_no_ack", Severity: alarm.SeverityCritical,
			Message: fmt.Sprintf("设备未确认指令 / device %s did not acknowledge %s = %g %s after %d publishes", rec.Device, rec.Actuator, rec.Value, rec.Unit, o.attempts)})
	case status == command.Acked:
		for _, code := range []string{"actuator_no_ack", "actuator_refused"} {
			a.alarm(Alarm{Plant: rec.Plant, Enterprise: rec.Enterprise, Device: rec.Device, Actuator: rec.Actuator, Code: code, Clear: true})
		}
	}
	a.outq <- outcome{rec: rec, entry: e}
}

// recordOutcomes records outcomes as they come, in groups: their ledger
// entries concurrently (one ledger write), their records in one store
// transaction. It returns when the queue is closed and empty.
func (a *Actuation) recordOutcomes(ctx context.Context) {
	for first := range a.outq {
		group := []outcome{first}
		for len(group) < 256 {
			select {
			case o, ok := <-a.outq:
				if !ok {
					a.writeOutcomes(ctx, group)
					return
				}
				group = append(group, o)
				continue
			default:
			}
			break
		}
		a.writeOutcomes(ctx, group)
	}
}

func (a *Actuation) writeOutcomes(ctx context.Context, group []outcome) {
	ctx = context.WithoutCancel(ctx) // an outcome is recorded even while shutting down
	var wg sync.WaitGroup
	for i := range group {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := &group[i]
			idx, err := a.opts.Ledger.Record(ctx, o.entry)
			if err != nil {
				a.opts.Logger.Error("actuation: outcome not recorded in the ledger", "id", o.rec.ID, "error", err)
				return
			}
			o.rec.OutcomeIndex = idx
		}()
	}
	wg.Wait()
	recs := make([]command.Record, len(group))
	for i, o := range group {
		recs[i] = o.rec
	}
	if err := a.opts.Store.SaveCommands(ctx, recs); err != nil {
		a.opts.Logger.Error("actuation: store outcomes", "n", len(recs), "error", err)
	}
	if a.opts.OnCommand != nil {
		for _, r := range recs {
			a.opts.OnCommand(r)
		}
	}
}

// settle records the outcome of an actuator's latest command in its state:
// a failed one is offered again after RetryFailedAfter.
func (a *Actuation) settle(o *outgoing, status string, at time.Time) {
	g, err := a.gate(o.rec.Plant)
	if err != nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if as, ok := g.acts[o.rec.Actuator]; ok && as.lastID == o.rec.ID {
		as.lastStatus, as.failedAt = status, at
	}
}

func (a *Actuation) alarm(al Alarm) {
	if a.opts.OnAlarm != nil {
		a.opts.OnAlarm(al)
	}
}

// Status is an actuator's state for the console.
type Status struct {
	Actuator
	Mode        string    `json:"mode"`
	Manual      float64   `json:"manual,omitempty"`
	Value       float64   `json:"value"` // held (last decided) value
	HasValue    bool      `json:"has_value"`
	Requested   float64   `json:"requested"`
	Interlocks  []string  `json:"interlocks,omitempty"`
	LastSent    float64   `json:"last_sent"`
	SentAt      time.Time `json:"sent_at,omitzero"`
	LastCommand string    `json:"last_command,omitempty"`
	LastStatus  string    `json:"last_status,omitempty"`
}

// Status returns the state of a plant's actuators, sorted by name.
func (a *Actuation) Status(plant string) []Status {
	g, err := a.gate(plant)
	if err != nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Status, 0, len(g.acts))
	for _, name := range g.names() {
		as := g.acts[name]
		mode := as.st.Mode
		if mode == "" {
			mode = command.ModeAuto
		}
		s := Status{Actuator: as.Actuator, Mode: mode, Manual: as.st.Manual, Value: as.st.Held, HasValue: as.st.HasHeld,
			Requested: as.decision.Requested, Interlocks: as.decision.Interlocks, LastSent: as.lastSent, SentAt: as.sentAt,
			LastCommand: as.lastID, LastStatus: as.lastStatus}
		if !finite(s.Requested) {
			s.Requested = 0
		}
		out = append(out, s)
	}
	return out
}
