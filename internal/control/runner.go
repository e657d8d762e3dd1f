package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/internal/actuate"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/plant"
	"github.com/shuixiao/shuixiao/reading"
)

// PlantStore is what the runner keeps in the store: configurations (set-point
// changes are saved into them) and the overrides in force.
type PlantStore interface {
	SavePlant(ctx context.Context, p plant.Record) error
	Plants(ctx context.Context, enterprise string) ([]plant.Record, error)
	Overrides(ctx context.Context, plant string) ([]command.Override, error)
}

// PlantAlarm is a controller alarm raised or cleared for a plant.
type PlantAlarm struct {
	Plant, Enterprise string
	Meter             string // the sensor or device the alarm is about, if known
	Alarm
	Clear bool
}

// RunnerOptions configure a Runner.
type RunnerOptions struct {
	Actuation *actuate.Actuation
	Store     PlantStore
	// Directory is what RegisterPlant checks a configuration's enterprise
	// and meters against; nil refuses every RegisterPlant.
	Directory Directory
	// OnAlarm is told when a controller alarm opens or clears; it must not block for long.
	OnAlarm func(PlantAlarm)
	// Clock is what the loops step on (default the wall clock). Now, if
	// set without Clock, is the time Step reads (tests that call Step
	// directly); setting both is refused.
	Clock  Clock
	Now    func() time.Time
	Logger *slog.Logger
	// HistoryLen bounds the in-memory history of each plant (default 2000 points).
	HistoryLen int
	// ClearAfterSteps clears an alarm its controller has not raised for this many steps (default 10).
	ClearAfterSteps int
}

// Runner runs every registered plant's controllers continuously in the
// server: each plant on its own fixed step, on the latest committed sensor
// values (Observe), sending its requests through the actuation layer. It
// keeps each plant's live state and a bounded history for the console.
type Runner struct {
	opts RunnerOptions

	mu     sync.Mutex
	plants map[string]*plantRun
	latest map[string]sample // "meter/channel" → latest value
	wanted map[string]int    // meter → number of plants reading it
	ctx    context.Context
	wg     sync.WaitGroup
}

type sample struct {
	v float64
	t time.Time
}

type plantRun struct {
	mu      sync.Mutex
	cfg     *PlantConfig
	plant   *Controller
	origin  time.Time
	last    time.Time
	steps   int
	live    *Live
	hist    history
	alarms  map[string]*openAlarm
	cancel  context.CancelFunc
	done    chan struct{}
	running bool
}

type openAlarm struct {
	Alarm
	since    time.Time
	lastStep int
}

// NewRunner returns a runner; Run starts its loops.
func NewRunner(opts RunnerOptions) (*Runner, error) {
	if opts.Actuation == nil || opts.Store == nil {
		return nil, errors.New("control: Actuation and Store are required")
	}
	switch {
	case opts.Clock != nil && opts.Now != nil:
		return nil, errors.New("control: set Clock or Now, not both")
	case opts.Clock != nil:
		opts.Now = opts.Clock.Now
	case opts.Now == nil:
		opts.Now = time.Now
	}
	if opts.Clock == nil {
		opts.Clock = wallClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HistoryLen <= 0 {
		opts.HistoryLen = 2000
	}
	if opts.ClearAfterSteps <= 0 {
		opts.ClearAfterSteps = 10
	}
	return &Runner{opts: opts, plants: map[string]*plantRun{}, latest: map[string]sample{}, wanted: map[string]int{}}, nil
}

// Observe takes committed readings (the ingest pipeline's OnCommitted) and
// keeps the latest value of every channel a plant reads. A reading's age
// counts from its device time, or from its receive time when the device
// clock runs ahead.
func (r *Runner) Observe(readings []store.Reading) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range readings {
		rd := &readings[i]
		if r.wanted[rd.Meter] == 0 {
			continue
		}
		t := rd.Time
		if !rd.Received.IsZero() && rd.Received.Before(t) {
			t = rd.Received
		}
		for _, v := range rd.Values {
			k := rd.Meter + "/" + v.Channel
			if old, ok := r.latest[k]; ok && old.t.After(t) {
				continue // an older reading arriving late (backfill) does not replace a newer one
			}
			r.latest[k] = sample{v: v.Value, t: t}
		}
	}
}

// Load registers every plant kept in the store.
func (r *Runner) Load(ctx context.Context) error {
	recs, err := r.opts.Store.Plants(ctx, "")
	if err != nil {
		return err
	}
	var errs []error
	for _, rec := range recs {
		cfg, err := ParseConfig(rec.Config)
		if err == nil {
			err = r.Register(ctx, cfg, false)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("plant %s: %w", rec.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Register validates a plant configuration, saves it (if save) and starts
// (or restarts, with fresh controller memory) its control loop. The
// operators' overrides kept in the store stay in force.
func (r *Runner) Register(ctx context.Context, cfg *PlantConfig, save bool) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	ctl, err := NewController(cfg)
	if err != nil {
		return err
	}
	if save {
		raw, err := json.Marshal(cfg)
		if err != nil {
			return err
		}
		if err := r.opts.Store.SavePlant(ctx, plant.Record{ID: cfg.ID, Enterprise: cfg.Enterprise, Config: raw, Updated: r.opts.Now()}); err != nil {
			return err
		}
	}
	overrides, err := r.opts.Store.Overrides(ctx, cfg.ID)
	if err != nil {
		return err
	}
	if err := r.opts.Actuation.Configure(cfg.ID, cfg.Enterprise, cfg.Actuators, overrides); err != nil {
		return fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	pr := &plantRun{cfg: cfg, plant: ctl, origin: r.opts.Now(), alarms: map[string]*openAlarm{}, hist: history{max: r.opts.HistoryLen}}
	r.mu.Lock()
	old := r.plants[cfg.ID]
	if old != nil {
		for _, m := range old.cfg.Meters() {
			r.wanted[m]--
		}
	}
	for _, m := range cfg.Meters() {
		r.wanted[m]++
	}
	r.plants[cfg.ID] = pr
	runCtx := r.ctx
	r.mu.Unlock()
	if old != nil {
		old.stop()
	}
	if runCtx != nil {
		r.start(runCtx, pr)
	}
	return nil
}

func (pr *plantRun) stop() {
	pr.mu.Lock()
	cancel, done, running := pr.cancel, pr.done, pr.running
	pr.mu.Unlock()
	if running {
		cancel()
		<-done
	}
}

// Run steps every plant until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	r.mu.Lock()
	r.ctx = ctx
	prs := make([]*plantRun, 0, len(r.plants))
	for _, pr := range r.plants {
		prs = append(prs, pr)
	}
	r.mu.Unlock()
	for _, pr := range prs {
		r.start(ctx, pr)
	}
	<-ctx.Done()
	r.wg.Wait()
}

func (r *Runner) start(ctx context.Context, pr *plantRun) {
	pctx, cancel := context.WithCancel(ctx)
	pr.mu.Lock()
	pr.cancel, pr.done, pr.running = cancel, make(chan struct{}), true
	done := pr.done
	step := time.Duration(pr.cfg.StepS * float64(time.Second))
	pr.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(done)
		tick, stop := r.opts.Clock.Tick(step)
		defer stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-tick:
				r.Step(pctx, pr.cfg.ID)
			}
		}
	}()
}

// inputs returns the latest values of a plant's sensors at now.
func (r *Runner) inputs(cfg *PlantConfig, now time.Time) Inputs {
	r.mu.Lock()
	defer r.mu.Unlock()
	in := Inputs{}
	for _, s := range cfg.sensors() {
		if x, ok := r.latest[s.key()]; ok {
			in[s.key()] = Value{V: x.v, AgeS: math.Max(0, now.Sub(x.t).Seconds()) * cfg.TimeScale, OK: true}
		}
	}
	return in
}

// ProcessTime maps a wall-clock time to the plant's process time.
func (pr *plantRun) processTime(now time.Time) time.Time {
	return pr.origin.Add(time.Duration(float64(now.Sub(pr.origin)) * pr.cfg.TimeScale))
}

// Step runs one control step of a plant now (the loop calls it every
// StepS; tests may call it directly).
func (r *Runner) Step(ctx context.Context, plantID string) error {
	r.mu.Lock()
	pr := r.plants[plantID]
	r.mu.Unlock()
	if pr == nil {
		return fmt.Errorf("control: unknown plant %s: %w", plantID, store.ErrNotFound)
	}
	now := r.opts.Now()
	pr.mu.Lock()
	cfg := pr.cfg
	dt := cfg.StepS * cfg.TimeScale
	if !pr.last.IsZero() {
		// A late tick (a loaded machine) counts as the time it really took,
		// up to ten steps, so the controllers' integrals stay honest.
		dt = math.Min(now.Sub(pr.last).Seconds(), 10*cfg.StepS) * cfg.TimeScale
	}
	pr.last = now
	pr.steps++
	proc := pr.processTime(now)
	pr.mu.Unlock()

	in := r.inputs(cfg, now)
	local := proc.In(chinaTime)
	tod := float64(local.Hour()*3600+local.Minute()*60+local.Second()) + float64(local.Nanosecond())/1e9
	pr.mu.Lock()
	res := pr.plant.Step(in, dt, tod)
	pr.mu.Unlock()
	decisions, err := r.opts.Actuation.Apply(ctx, cfg.ID, res.Requests, dt)
	if err != nil && ctx.Err() == nil {
		r.opts.Logger.Error("control: actuation", "plant", cfg.ID, "error", err)
	}
	live := &Live{Plant: cfg.ID, Enterprise: cfg.Enterprise, Time: now, ProcessTime: proc, Step: pr.steps, DtS: dt,
		TimeScale: cfg.TimeScale, Tower: res.Tower, Indices: res.Indices, Reuse: res.Reuse,
		Actuators: r.opts.Actuation.Status(cfg.ID), Sensors: sensorView(cfg, in)}
	r.alarms(pr, res.Alarms, now)
	pr.mu.Lock()
	for _, a := range pr.alarms {
		live.Alarms = append(live.Alarms, a.Alarm)
	}
	sort.Slice(live.Alarms, func(i, j int) bool { return live.Alarms[i].Code < live.Alarms[j].Code })
	pr.live = live
	pr.hist.add(historyPoint(live, decisions))
	pr.mu.Unlock()
	return nil
}

// alarms opens alarms the step raised and clears those no longer raised.
func (r *Runner) alarms(pr *plantRun, raised []Alarm, now time.Time) {
	pr.mu.Lock()
	cfg, step := pr.cfg, pr.steps
	var open, closed []PlantAlarm
	for _, a := range raised {
		if oa, ok := pr.alarms[a.Code]; ok {
			oa.lastStep, oa.Alarm = step, a
			continue
		}
		pr.alarms[a.Code] = &openAlarm{Alarm: a, since: now, lastStep: step}
		open = append(open, PlantAlarm{Plant: cfg.ID, Enterprise: cfg.Enterprise, Meter: alarmMeter(cfg, a.Code), Alarm: a})
	}
	for code, oa := range pr.alarms {
		if step-oa.lastStep >= r.opts.ClearAfterSteps {
			delete(pr.alarms, code)
			closed = append(closed, PlantAlarm{Plant: cfg.ID, Enterprise: cfg.Enterprise, Meter: alarmMeter(cfg, code), Alarm: oa.Alarm, Clear: true})
		}
	}
	pr.mu.Unlock()
	if r.opts.OnAlarm != nil {
		for _, a := range append(open, closed...) {
			r.opts.OnAlarm(a)
		}
	}
}

// alarmMeter picks the meter an alarm is about: the analyser of the tower
// or of the reuse train.
func alarmMeter(cfg *PlantConfig, code string) string {
	if cfg.Reuse != nil {
		switch code {
		case "ro_sensors":
			return cfg.Reuse.Sensors.ROFeedP.Meter
		case "mmf_headloss_sensor", "mmf_turbidity_sensor":
			return cfg.Reuse.Sensors.MMFHeadloss.Meter
		}
		if rc := cfg.Reuse.Routing; rc != nil && (strings.HasPrefix(code, "reuse_quality_") || code == "reuse_routing") {
			return rc.alarmMeter()
		}
		if len(code) > 3 && (code[:3] == "uf_" || code[:4] == "tmp_" || code[:4] == "l20_") {
			return cfg.Reuse.Sensors.UFTMP.Meter
		}
	}
	if cfg.Tower != nil {
		return cfg.Tower.Sensors.BasinCond.Meter
	}
	return cfg.Reuse.Sensors.UFTMP.Meter
}

// SensorView is one configured sensor's latest value.
type SensorView struct {
	Meter   string `json:"meter"`
	Channel string `json:"channel"`
	Value   Num    `json:"value"`
	AgeS    Num    `json:"age_s"` // process seconds
}

func sensorView(cfg *PlantConfig, in Inputs) map[string]SensorView {
	out := map[string]SensorView{}
	add := func(name string, s Sensor) {
		if !s.Set() {
			return
		}
		v := in.get(s)
		if !v.OK {
			out[name] = SensorView{Meter: s.Meter, Channel: s.Channel, Value: nan, AgeS: nan}
			return
		}
		out[name] = SensorView{Meter: s.Meter, Channel: s.Channel, Value: Num(v.V), AgeS: Num(v.AgeS)}
	}
	if t := cfg.Tower; t != nil {
		s := t.Sensors
		for name, x := range map[string]Sensor{"level": s.Level, "basin_cond": s.BasinCond, "makeup_cond": s.MakeupCond,
			"fluorescence": s.Fluorescence, "basin_temp": s.BasinTemp, "return_temp": s.ReturnTemp, "circulation": s.Circulation,
			"blowdown_flow": s.BlowdownFlow, "makeup_flow": s.MakeupFlow, "ph": s.PH, "orp": s.ORP, "tagged": s.Tagged} {
			add(name, x)
		}
	}
	if rc := cfg.Reuse; rc != nil {
		s := rc.Sensors
		for name, x := range map[string]Sensor{"mmf_headloss": s.MMFHeadloss, "mmf_turbidity": s.MMFTurbidity, "uf_tmp": s.UFTMP,
			"uf_flow": s.UFFlow, "temp": s.Temp, "ro_feed_pressure": s.ROFeedP, "ro_diff_pressure": s.RODiffP,
			"ro_perm_pressure": s.ROPermP, "ro_feed_cond": s.ROFeedCond, "ro_perm_cond": s.ROPermCond, "ro_feed_flow": s.ROFeedFlow,
			"ro_perm_flow": s.ROPermFlow} {
			add(name, x)
		}
	}
	return out
}

// Live is a plant's state after its latest step.
type Live struct {
	Plant       string                `json:"plant"`
	Enterprise  string                `json:"enterprise"`
	Time        time.Time             `json:"time"`
	ProcessTime time.Time             `json:"process_time"`
	TimeScale   float64               `json:"time_scale"`
	Step        int                   `json:"step"`
	DtS         float64               `json:"dt_s"`
	Sensors     map[string]SensorView `json:"sensors"`
	Tower       *TowerLive            `json:"tower,omitempty"`
	Indices     *Indices              `json:"indices,omitempty"`
	Reuse       *ReuseLive            `json:"reuse,omitempty"`
	Actuators   []actuate.Status      `json:"actuators"`
	Alarms      []Alarm               `json:"alarms"`
}

// Live returns a plant's latest state (nil before its first step).
func (r *Runner) Live(plantID string) (*Live, error) {
	pr, err := r.plant(plantID)
	if err != nil {
		return nil, err
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.live, nil
}

// Config returns a plant's configuration.
func (r *Runner) Config(plantID string) (*PlantConfig, error) {
	pr, err := r.plant(plantID)
	if err != nil {
		return nil, err
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.cfg, nil
}

// Plants lists the registered plants' configurations, sorted by ID.
func (r *Runner) Plants() []*PlantConfig {
	r.mu.Lock()
	prs := make([]*plantRun, 0, len(r.plants))
	for _, pr := range r.plants {
		prs = append(prs, pr)
	}
	r.mu.Unlock()
	out := make([]*PlantConfig, 0, len(prs))
	for _, pr := range prs {
		pr.mu.Lock()
		out = append(out, pr.cfg)
		pr.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (r *Runner) plant(id string) (*plantRun, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pr := r.plants[id]
	if pr == nil {
		return nil, fmt.Errorf("plant %s: %w", id, store.ErrNotFound)
	}
	return pr, nil
}

// History returns a plant's recent history, oldest first.
func (r *Runner) History(plantID string) ([]HistoryPoint, error) {
	pr, err := r.plant(plantID)
	if err != nil {
		return nil, err
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return append([]HistoryPoint(nil), pr.hist.points...), nil
}

// SetSetpoint changes a controller set-point on an operator's order —
// "cycles" (blowdown), "product_mg_l" (inhibitor) or "ph" (acid) — through
// the set-point interlocks (actuate.SetpointChange: bounds, step limit, the
// driven actuator's lock-out); the change is in the ledger and the store
// before it takes effect, and it is saved into the plant's configuration.
func (r *Runner) SetSetpoint(ctx context.Context, plantID, name string, value float64, by, reason string) (command.Record, error) {
	pr, err := r.plant(plantID)
	if err != nil {
		return command.Record{}, err
	}
	return r.changeSetpoint(ctx, pr, actuate.SetpointChange{Name: name, Value: value, By: by, Reason: reason})
}

// AcceptMaxCycles makes the cycles optimiser's latest limit the blowdown's
// cycles set-point on an operator's order. seen is the figure the operator
// was shown: if the optimiser has since moved on, the order is refused
// (store.ErrConflict) rather than carried out on a figure nobody saw. The
// change passes the set-point interlocks like any other (SetSetpoint) and is
// recorded with its cause: the optimiser's figure, its binding limits and
// the make-up analysis, temperatures and pH it came from.
func (r *Runner) AcceptMaxCycles(ctx context.Context, plantID string, seen float64, by, reason string) (command.Record, error) {
	pr, err := r.plant(plantID)
	if err != nil {
		return command.Record{}, err
	}
	pr.mu.Lock()
	opt, ok := pr.plant.Optimum()
	tower := pr.cfg.Tower != nil
	pr.mu.Unlock()
	switch {
	case !tower:
		return command.Record{}, fmt.Errorf("plant %s has no cooling tower: %w", plantID, store.ErrNotFound)
	case !ok:
		return command.Record{}, fmt.Errorf("plant %s: %w: the cycles optimiser has no figure yet", plantID, store.ErrConflict)
	case !finite(seen) || math.Abs(seen-opt.Cycles) > 0.005:
		return command.Record{}, fmt.Errorf("plant %s: %w: the optimiser's limit is now %.2f cycles, not %g", plantID, store.ErrConflict, opt.Cycles, seen)
	}
	c := actuate.SetpointChange{Name: "cycles", Value: opt.Cycles, By: by, Reason: acceptReason(opt, reason), Inputs: optimumInputs(opt)}
	return r.changeSetpoint(ctx, pr, c)
}

// acceptReason is the one-line cause of an accepted optimiser limit.
func acceptReason(o CyclesOptimum, operator string) string {
	s := fmt.Sprintf("cycles optimiser limit %.2f accepted (binding: %s; make-up analysis at basin %.1f °C, wall %.1f °C, pH %.2f)",
		o.Cycles, strings.Join(o.Binding, "; "), o.BasinTempC, o.WallTempC, o.BasinPH)
	if operator = strings.TrimSpace(operator); operator != "" {
		s += ": " + operator
	}
	return s
}

// optimumInputs are the figures an accepted optimiser limit is based on.
func optimumInputs(o CyclesOptimum) []reading.Input {
	m := o.Makeup
	var out []reading.Input
	for _, in := range []reading.Input{{Name: "max_cycles", Value: o.Cycles}, {Name: "basin_temp_c", Value: o.BasinTempC},
		{Name: "wall_temp_c", Value: o.WallTempC}, {Name: "basin_ph", Value: o.BasinPH}, {Name: "makeup_ph", Value: m.PH},
		{Name: "makeup_ca_mg_l", Value: m.Ca}, {Name: "makeup_mg_mg_l", Value: m.Mg}, {Name: "makeup_alk_mg_l_caco3", Value: m.Alk},
		{Name: "makeup_cl_mg_l", Value: m.Cl}, {Name: "makeup_so4_mg_l", Value: m.SO4}, {Name: "makeup_sio2_mg_l", Value: m.SiO2}} {
		if finite(in.Value) {
			out = append(out, in)
		}
	}
	return out
}

// setpointTarget points at a set-point in a configuration and names the
// actuator its controller drives; nil when the plant has no such set-point.
func setpointTarget(c *PlantConfig, name string) (*float64, string) {
	t := c.Tower
	if t == nil {
		return nil, ""
	}
	switch name {
	case "cycles":
		return &t.Blowdown.CyclesSetpoint, t.Actuators.BlowdownValve
	case "product_mg_l":
		return &t.Inhibitor.SetpointMgL, t.Actuators.InhibitorPump
	case "ph":
		if t.Acid != nil {
			return &t.Acid.SetpointPH, t.Actuators.AcidPump
		}
	}
	return nil, ""
}

// changeSetpoint fills a change's bounds, current value and driven
// actuator from the plant's configuration, checks that the controller
// accepts the value the interlocks will let through, records the change
// (actuate.Actuation.ChangeSetpoint) and applies it.
func (r *Runner) changeSetpoint(ctx context.Context, pr *plantRun, c actuate.SetpointChange) (command.Record, error) {
	pr.mu.Lock()
	cfg := *pr.cfg
	pr.mu.Unlock()
	b, ok := cfg.Setpoints[c.Name]
	now, drives := setpointTarget(&cfg, c.Name)
	if !ok || now == nil {
		return command.Record{}, fmt.Errorf("plant %s has no set-point %q: %w", cfg.ID, c.Name, store.ErrNotFound)
	}
	c.Unit, c.Min, c.Max, c.MaxStep, c.Current, c.Drives = b.Unit, b.Min, b.Max, b.MaxStep, *now, drives
	// Check that the controller accepts the new value before anything is recorded.
	next, err := cloneConfig(&cfg)
	if err != nil {
		return command.Record{}, err
	}
	if v, _, err := c.Decide(); err == nil {
		target, _ := setpointTarget(next, c.Name)
		*target = v
		if err := next.Validate(); err != nil {
			return command.Record{}, fmt.Errorf("%w: %v", store.ErrInvalid, err)
		}
	}
	rec, err := r.opts.Actuation.ChangeSetpoint(ctx, cfg.ID, c)
	if err != nil {
		return rec, err
	}
	raw, err := json.Marshal(next)
	if err != nil {
		return rec, err
	}
	if err := r.opts.Store.SavePlant(ctx, plant.Record{ID: next.ID, Enterprise: next.Enterprise, Config: raw, Updated: r.opts.Now()}); err != nil {
		return rec, err
	}
	pr.mu.Lock()
	target, _ := setpointTarget(pr.cfg, c.Name)
	*target = rec.Value // the running controllers read the new set-point from the next step on
	pr.mu.Unlock()
	return rec, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func cloneConfig(c *PlantConfig) (*PlantConfig, error) {
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var out PlantConfig
	return &out, json.Unmarshal(raw, &out)
}

// chinaTime is China Standard Time, the plants' local time.
var chinaTime = time.FixedZone("CST", 8*3600)

// SetMode puts an actuator in auto, manual or lock-out on an operator's
// order (see actuate.Actuation.SetMode).
func (r *Runner) SetMode(ctx context.Context, plantID, actuator, mode string, value float64, by, reason string) (command.Record, error) {
	if _, err := r.plant(plantID); err != nil {
		return command.Record{}, err
	}
	return r.opts.Actuation.SetMode(ctx, plantID, actuator, mode, value, by, reason)
}

// ROTrend normalises a plant's stored RO readings over n windows.
func (r *Runner) ROTrend(plantID string, series map[string][]TimedValue, from, to time.Time, n int) ([]ROPoint, error) {
	pr, err := r.plant(plantID)
	if err != nil {
		return nil, err
	}
	pr.mu.Lock()
	cfg := pr.cfg
	pr.mu.Unlock()
	p, err := NewController(cfg) // its own membranes table: the running plant is the loop's
	if err != nil {
		return nil, err
	}
	return p.ROTrend(series, from, to, n), nil
}
