package control

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/internal/actuate"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/plant"
	"github.com/shuixiao/shuixiao/reuse"
)

// trainConfig is a small valid reuse-train configuration (analyser M-RT).
func trainConfig() *PlantConfig {
	c := towerConfig()
	c.Tower = nil
	c.Actuators = []actuate.Actuator{
		{Name: "mmf_mode", Device: "D1", Unit: "mode", Limits: actuate.Limits{Max: 2, Values: []float64{0, 1, 2}}},
		{Name: "uf_mode", Device: "D2", Unit: "mode", Limits: actuate.Limits{Max: 4, Values: []float64{0, 1, 2, 3, 4}}},
		{Name: "ro_mode", Device: "D3", Unit: "mode", Limits: actuate.Limits{Max: 1, Values: []float64{0, 1}}},
	}
	thr, _ := reuse.LoadThresholds()
	uf, _ := reuse.UFConfigFrom(thr)
	uf.BaselineL20, uf.BackwashDurationS, uf.CEBDurationS, uf.CIPDurationS, uf.StaleAfterS, uf.PlausibleTMPMax = 1000, 60, 900, 3600, 600, 3
	ref := reuse.ROData{FeedPressure: 10, DiffPressure: 1.5, PermeatePressure: 0.5, FeedTDS: 1200, PermeateTDS: 18, Recovery: 0.75, TempC: 25, PermeateFlow: 40}
	s := func(ch string) Sensor { return Sensor{Meter: "M-RT", Channel: ch} }
	// The feed pressure is stored in MPa and read in bar: ROTrend applies the scale.
	c.Reuse = &ReuseConfig{Sensors: ReuseSensors{ROFeedP: Sensor{Meter: "M-RT", Channel: "a", Scale: 10}, RODiffP: s("b"), ROPermP: s("c"), ROFeedCond: s("d"), ROPermCond: s("e"),
		ROFeedFlow: s("f"), ROPermFlow: s("g"), Temp: s("h")}, Actuators: ReuseActuators{MMF: "mmf_mode", UF: "uf_mode", RO: "ro_mode"},
		MMF: reuse.MMFConfig{BackwashDurationS: 600, RinseDurationS: 300, MaxRunS: 86400, StaleAfterS: 600, HeadlossBar: 0.6, TurbidityNTU: 1},
		UF:  uf, UFAreaM2: 1000, RO: ROControl{Reference: ref, Thresholds: reuse.ROThresholds{FlowDropPct: 10, SPRisePct: 5, DPRisePct: 15},
			CondToTDS: 0.64, CleanDurationS: 3600, StaleAfterS: 600}}
	return c
}

// routedConfig adds routing of the RO permeate to four uses, three of them
// behind valves.
func routedConfig() *PlantConfig {
	c := trainConfig()
	s := func(ch string) Sensor { return Sensor{Meter: "M-RT", Channel: ch} }
	valve := func(name, dev string) actuate.Actuator {
		return actuate.Actuator{Name: name, Device: dev, Unit: "%", Limits: actuate.Limits{Max: 100, Values: []float64{0, 100}, StaleAfterS: 1200}}
	}
	c.Actuators = append(c.Actuators, valve("to_process", "D4"), valve("to_boiler", "D5"), valve("to_washing", "D6"))
	c.Reuse.Routing = &RoutingConfig{StaleAfterS: 600,
		Streams: []RouteStream{{Name: "ro_permeate", Flow: s("g"),
			Quality: map[string]Sensor{"conductivity_us_cm": s("e"), "tds_mgl": {Meter: "M-RT", Channel: "e", Scale: 0.64}, "turbidity_ntu": s("pt"), "ph": s("pp")},
			Lab:     map[string]float64{"cl_mgl": 5, "hardness_mgl_caco3": 2, "alk_mgl_caco3": 5, "cod_mgl": 2, "nh3n_mgl": 0.5, "sio2_mgl": 0.5}}},
		Uses: []RouteUse{
			{Name: "process", DemandM3h: 15, Priority: 1, Class: "ro_permeate", Valve: "to_process"},
			{Name: "boiler", DemandM3h: 10, Priority: 2, Class: "boiler_makeup", Valve: "to_boiler"},
			{Name: "cooling", DemandM3h: 20, Priority: 3, Class: "cooling_makeup"},
			{Name: "washing", DemandM3h: 5, Priority: 4, Class: "washing", Valve: "to_washing"},
		}}
	return c
}

// permeate is the analyser's permeate readings.
func permeate(cond, turb, ph, flow, age float64) Inputs {
	v := func(x float64) Value { return Value{V: x, AgeS: age, OK: true} }
	return Inputs{"M-RT/e": v(cond), "M-RT/pt": v(turb), "M-RT/pp": v(ph), "M-RT/g": v(flow)}
}

func TestRoutingFollowsQuality(t *testing.T) {
	p, err := NewController(routedConfig())
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		status string
		served float64
	}
	for _, step := range []struct {
		name    string
		in      Inputs
		uses    map[string]want
		valves  map[string]float64
		alarms  []string
		refused string // in process's reasons
	}{
		{"good permeate: served by priority until the flow runs out", permeate(30, 0.05, 6.5, 40, 10),
			map[string]want{"process": {RouteServed, 15}, "boiler": {RouteServed, 10}, "cooling": {RoutePartial, 15}, "washing": {RouteNoFlow, 0}},
			map[string]float64{"to_process": 100, "to_boiler": 100, "to_washing": 0}, nil, ""},
		{"conductivity above the RO-permeate class: the process use is cut off, the others take its share", permeate(80, 0.05, 6.5, 40, 10),
			map[string]want{"process": {RouteQuality, 0}, "boiler": {RouteServed, 10}, "cooling": {RouteServed, 20}, "washing": {RouteServed, 5}},
			map[string]float64{"to_process": 0, "to_boiler": 100, "to_washing": 100}, []string{"reuse_quality_process"}, "conductivity_us_cm 80 out of range"},
		{"pH reading stale: compliance not shown, no use gets the water", Inputs{"M-RT/e": {V: 30, AgeS: 10, OK: true}, "M-RT/pt": {V: 0.05, AgeS: 10, OK: true},
			"M-RT/pp": {V: 6.5, AgeS: 900, OK: true}, "M-RT/g": {V: 40, AgeS: 10, OK: true}},
			map[string]want{"process": {RouteQuality, 0}, "boiler": {RouteQuality, 0}, "cooling": {RouteQuality, 0}, "washing": {RouteQuality, 0}},
			map[string]float64{"to_process": 0, "to_boiler": 0, "to_washing": 0},
			[]string{"reuse_quality_boiler", "reuse_quality_cooling", "reuse_quality_process", "reuse_quality_washing"}, "ph not measured"},
		{"quality back: routing returns", permeate(30, 0.05, 6.5, 40, 10),
			map[string]want{"process": {RouteServed, 15}, "boiler": {RouteServed, 10}, "cooling": {RoutePartial, 15}, "washing": {RouteNoFlow, 0}},
			map[string]float64{"to_process": 100, "to_boiler": 100, "to_washing": 0}, nil, ""},
		{"RO stopped: classes met, nothing to send", permeate(30, 0.05, 6.5, 0, 10),
			map[string]want{"process": {RouteNoFlow, 0}, "boiler": {RouteNoFlow, 0}, "cooling": {RouteNoFlow, 0}, "washing": {RouteNoFlow, 0}},
			map[string]float64{"to_process": 0, "to_boiler": 0, "to_washing": 0}, nil, ""},
	} {
		res := p.Step(step.in, 60, 0)
		rl := res.Reuse.Routing
		if rl == nil || len(rl.Uses) != 4 || len(rl.Streams) != 1 {
			t.Fatalf("%s: routing %+v", step.name, rl)
		}
		for _, u := range rl.Uses {
			w := step.uses[u.Name]
			if u.Status != w.status || math.Abs(float64(u.ServedM3h)-w.served) > 1e-9 {
				t.Errorf("%s: use %s %s %v m³/h, want %s %v", step.name, u.Name, u.Status, u.ServedM3h, w.status, w.served)
			}
			if u.Name == "process" && step.refused != "" && !strings.Contains(strings.Join(u.Refused, ";"), step.refused) {
				t.Errorf("%s: process refused for %v, want %q", step.name, u.Refused, step.refused)
			}
		}
		for _, r := range res.Requests {
			if want, ok := step.valves[r.Actuator]; ok {
				if r.Value != want || r.By != "reuse.route" || r.Reason == "" || len(r.Inputs) == 0 {
					t.Errorf("%s: valve request %+v, want %v", step.name, r, want)
				}
				delete(step.valves, r.Actuator)
			}
		}
		if len(step.valves) != 0 {
			t.Errorf("%s: no request for valves %v", step.name, step.valves)
		}
		var codes []string
		for _, a := range res.Alarms {
			if strings.HasPrefix(a.Code, "reuse_") {
				codes = append(codes, a.Code)
			}
		}
		slices.Sort(codes)
		if !slices.Equal(codes, step.alarms) {
			t.Errorf("%s: alarms %v, want %v", step.name, codes, step.alarms)
		}
	}
	// The stream's view: TDS from conductivity, laboratory values marked as such.
	res := p.Step(permeate(30, 0.05, 6.5, 40, 10), 60, 0)
	st := res.Reuse.Routing.Streams[0]
	if math.Abs(float64(st.Quality["tds_mgl"])-19.2) > 1e-9 || !slices.Contains(st.Lab, "cl_mgl") || slices.Contains(st.Lab, "ph") ||
		!slices.Equal(st.Classes, []string{"boiler_makeup", "cooling_makeup", "ro_permeate", "washing"}) {
		t.Fatalf("stream %+v", st)
	}
	if u := res.Reuse.Routing.Uses[0]; float64(u.SinceS) != 0 {
		t.Fatalf("process in its status for %v s, want 0 (its status changed in this step)", u.SinceS)
	}
	res = p.Step(permeate(30, 0.05, 6.5, 40, 10), 60, 0)
	if u := res.Reuse.Routing.Uses[0]; float64(u.SinceS) != 60 {
		t.Fatalf("process in its status for %v s, want 60", u.SinceS)
	}
	// Nothing measured (an RO in its cleaning, its analysers without sample
	// flow): no use is cut off for quality, and "no class met" is an empty
	// list for the console, not null.
	res = p.Step(Inputs{}, 60, 0)
	raw, _ := json.Marshal(res.Reuse.Routing)
	if !strings.Contains(string(raw), `"classes":[]`) {
		t.Fatalf("routing %s", raw)
	}
	for _, u := range res.Reuse.Routing.Uses {
		if u.Status != RouteNoFlow {
			t.Errorf("nothing measured: %s %s", u.Name, u.Status)
		}
	}
}

func TestRoutingConfigValidation(t *testing.T) {
	if err := routedConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*RoutingConfig){
		"unknown class":   func(r *RoutingConfig) { r.Uses[0].Class = "drinking" },
		"unknown valve":   func(r *RoutingConfig) { r.Uses[0].Valve = "nope" },
		"mode valve":      func(r *RoutingConfig) { r.Uses[0].Valve = "ro_mode" },
		"duplicate use":   func(r *RoutingConfig) { r.Uses = append(r.Uses, r.Uses[0]) },
		"negative demand": func(r *RoutingConfig) { r.Uses[1].DemandM3h = -1 },
		"no flow sensor":  func(r *RoutingConfig) { r.Streams[0].Flow = Sensor{} },
		"bad name":        func(r *RoutingConfig) { r.Streams[0].Name = "RO permeate" },
		"no staleness":    func(r *RoutingConfig) { r.StaleAfterS = 0 },
		"no uses":         func(r *RoutingConfig) { r.Uses = nil },
		"lab NaN":         func(r *RoutingConfig) { r.Streams[0].Lab["cl_mgl"] = math.NaN() },
	} {
		c := routedConfig()
		mutate(c.Reuse.Routing)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// testClock is a settable clock shared with the actuation goroutine.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// controlRig is a runner with real actuation (its loop running) on an
// in-memory ledger and store.
func controlRig(t *testing.T, cfg *PlantConfig) (*Runner, *memStore, *testClock) {
	t.Helper()
	st := &memStore{plants: map[string]plant.Record{}, commands: map[string]command.Record{}}
	clock := &testClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	act, err := actuate.New(actuate.Options{Publisher: nopBroker{}, Ledger: &memLedger{}, Store: st, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(RunnerOptions{Actuation: act, Store: st, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Register(context.Background(), cfg, true); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go act.Run(ctx)
	t.Cleanup(func() { cancel(); <-act.Done() })
	return r, st, clock
}

// issued returns the command records of an actuator, oldest first.
func (s *memStore) issued(actuator, kind string) []command.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []command.Record
	for _, c := range s.commands {
		if c.Actuator == actuator && c.Kind == kind {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b command.Record) int { return int(a.Index) - int(b.Index) })
	return out
}

func TestRunnerRoutesThroughInterlocks(t *testing.T) {
	r, st, clock := controlRig(t, routedConfig())
	ctx := context.Background()
	observe := func(cond float64) {
		r.Observe([]store.Reading{{Meter: "M-RT", Time: clock.Now(), Values: []store.Value{{Channel: "e", Value: cond}, {Channel: "pt", Value: 0.05},
			{Channel: "pp", Value: 6.5}, {Channel: "g", Value: 40}}}})
	}
	observe(30)
	if err := r.Step(ctx, "PL1"); err != nil {
		t.Fatal(err)
	}
	cmds := st.waitIssued(t, "to_process", 1)
	if len(cmds) != 1 || cmds[0].Value != 100 || cmds[0].By != "reuse.route" || !strings.Contains(cmds[0].Reason, "class ro_permeate met") ||
		!slices.ContainsFunc(cmds[0].Inputs, func(in command.Input) bool { return in.Name == "conductivity_us_cm" && in.Value == 30 }) {
		t.Fatalf("process valve commands %+v", cmds)
	}
	// Quality drops: the valve closes on the ledger with the reading that closed it.
	clock.advance(time.Second)
	observe(80)
	_ = r.Step(ctx, "PL1")
	cmds = st.waitIssued(t, "to_process", 2)
	if len(cmds) != 2 || cmds[1].Value != 0 || !strings.Contains(cmds[1].Reason, "conductivity_us_cm 80 out of range") || cmds[1].Index == 0 {
		t.Fatalf("process valve after the quality drop %+v", cmds)
	}
	live, _ := r.Live("PL1")
	if u := live.Reuse.Routing.Uses[0]; u.Status != RouteQuality || !slices.ContainsFunc(live.Alarms, func(a Alarm) bool { return a.Code == "reuse_quality_process" }) {
		t.Fatalf("live %+v, alarms %+v", u, live.Alarms)
	}
	// Locked out, the washing valve stays at its lock-out value whatever the routing asks.
	if _, err := r.SetMode(ctx, "PL1", "to_washing", command.ModeLocked, 0, "token:op", "pipe repair"); err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Second)
	observe(80)
	_ = r.Step(ctx, "PL1")
	live, _ = r.Live("PL1")
	for _, a := range live.Actuators {
		if a.Name == "to_washing" && (a.Value != 0 || !slices.Contains(a.Interlocks, "lockout")) {
			t.Fatalf("locked-out valve %+v", a)
		}
	}
	if u := live.Reuse.Routing.Uses[3]; u.Status != RouteServed {
		t.Fatalf("washing %+v: the routing still allocates it (the interlock, not the router, holds the valve)", u)
	}
}

func TestAcceptMaxCycles(t *testing.T) {
	cfg := towerConfig()
	cfg.Setpoints = map[string]Bound{"cycles": {Min: 2, Max: 15, MaxStep: 0.1}}
	r, st, clock := controlRig(t, cfg)
	setpoints := func() int { return len(st.issued("cycles", command.KindSetpoint)) }
	ctx := context.Background()
	if _, err := r.AcceptMaxCycles(ctx, "PL1", 6, "token:op", ""); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("before the optimiser ran: %v", err)
	}
	step := func() {
		at := clock.advance(time.Second)
		vals := []store.Value{}
		for k, v := range map[string]float64{"level_pct": 60, "cond_us_cm": 2000, "makeup_cond_us_cm": 400, "fluor_ppb": 50, "temp_c": 30,
			"return_temp_c": 38, "blowdown_m3h": 3, "ph": 8.4} {
			vals = append(vals, store.Value{Channel: k, Value: v})
		}
		r.Observe([]store.Reading{{Meter: "M-CT", Time: at, Values: vals}})
		if err := r.Step(ctx, "PL1"); err != nil {
			t.Fatal(err)
		}
	}
	step()
	live, _ := r.Live("PL1")
	limit := float64(live.Indices.MaxCycles)
	if !(limit > 5.1) {
		t.Fatalf("optimiser limit %v: the test needs one above the set-point and its step", limit)
	}
	if _, err := r.AcceptMaxCycles(ctx, "PL1", limit+0.1, "token:op", ""); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a figure the optimiser did not give: %v", err)
	}
	// Accepted: the step limit moves the set-point 0.1 towards the limit, on the ledger with its cause.
	n := setpoints()
	rec, err := r.AcceptMaxCycles(ctx, "PL1", limit, "token:op", "summer")
	if err != nil || rec.Value != 5.1 || rec.Requested == nil || *rec.Requested != limit || !slices.Equal(rec.Interlocks, []string{"rate"}) ||
		setpoints() != n+1 || rec.Index == 0 || !strings.Contains(rec.Reason, "optimiser limit") || !strings.HasSuffix(rec.Reason, ": summer") ||
		!slices.ContainsFunc(rec.Inputs, func(in command.Input) bool { return in.Name == "max_cycles" && in.Value == limit }) ||
		!slices.ContainsFunc(rec.Inputs, func(in command.Input) bool { return in.Name == "makeup_ca_mg_l" && in.Value == 40 }) {
		t.Fatalf("accepted %+v, %v (set-point records %d → %d)", rec, err, n, setpoints())
	}
	step()
	live, _ = r.Live("PL1")
	if live.Tower.CyclesSetpoint != 5.1 || !strings.Contains(st.waitIssued(t, "blowdown_valve", 2)[1].Reason, "set-point 5.10") {
		t.Fatalf("blowdown runs on set-point %v", live.Tower.CyclesSetpoint)
	}
	// Locked out, the blowdown valve's set-point may not change: refused, nothing recorded.
	if _, err := r.SetMode(ctx, "PL1", "blowdown_valve", command.ModeLocked, 0, "token:op", "valve repair"); err != nil {
		t.Fatal(err)
	}
	n = setpoints()
	if _, err := r.AcceptMaxCycles(ctx, "PL1", limit, "token:op", ""); !errors.Is(err, store.ErrConflict) || setpoints() != n {
		t.Fatalf("during lock-out: %v, set-point records %d → %d", err, n, setpoints())
	}
	if _, err := r.SetMode(ctx, "PL1", "blowdown_valve", command.ModeAuto, 0, "token:op", ""); err != nil {
		t.Fatal(err)
	}
	// Out of bounds: a limit above the set-point's maximum is refused, not clamped.
	cfg = towerConfig()
	cfg.Setpoints = map[string]Bound{"cycles": {Min: 2, Max: 5.2}}
	if err := r.Register(ctx, cfg, true); err != nil {
		t.Fatal(err)
	}
	step()
	n = setpoints()
	if _, err := r.AcceptMaxCycles(ctx, "PL1", limit, "token:op", ""); !errors.Is(err, store.ErrInvalid) || setpoints() != n {
		t.Fatalf("above the bound: %v, set-point records %d → %d", err, n, setpoints())
	}
	if c, _ := r.Config("PL1"); c.Tower.Blowdown.CyclesSetpoint != 5 {
		t.Fatalf("set-point moved to %v", c.Tower.Blowdown.CyclesSetpoint)
	}
}

// waitIssued waits until an actuator has n issued commands (the actuation
// loop records them) and returns them.
func (s *memStore) waitIssued(t *testing.T, actuator string, n int) []command.Record {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cs := s.issued(actuator, command.KindIssue); len(cs) >= n {
			return cs
		}
	}
	t.Fatalf("%s: %d commands issued, want %d", actuator, len(s.issued(actuator, command.KindIssue)), n)
	return nil
}

// FuzzParseConfig: any configuration either is refused with an error or
// runs — a step on readings of every sensor neither panics nor routes more
// water than the streams carry.
func FuzzParseConfig(f *testing.F) {
	for _, c := range []*PlantConfig{towerConfig(), trainConfig(), routedConfig()} {
		raw, _ := json.Marshal(c)
		f.Add(raw, 30.0, 40.0)
	}
	f.Add([]byte(`{"id":"P","enterprise":"E","reuse":{"routing":{"streams":[{"name":"s"}]}}}`), 1.0, 1.0)
	f.Fuzz(func(t *testing.T, raw []byte, v, flow float64) {
		cfg, err := ParseConfig(raw)
		if err != nil {
			return
		}
		p, err := NewController(cfg)
		if err != nil {
			t.Fatalf("validated configuration refused by NewPlant: %v", err)
		}
		in := Inputs{}
		for _, s := range cfg.sensors() {
			in[s.key()] = Value{V: v, AgeS: 1, OK: true}
		}
		if r := cfg.Reuse; r != nil && r.Routing != nil {
			for _, s := range r.Routing.Streams {
				in[s.Flow.key()] = Value{V: flow, AgeS: 1, OK: true}
			}
		}
		res := p.Step(in, 60, 0)
		if res.Reuse == nil || res.Reuse.Routing == nil {
			return
		}
		total, served := 0.0, 0.0
		for _, s := range res.Reuse.Routing.Streams {
			if f := float64(s.FlowM3h); f > 0 && !math.IsInf(f, 0) {
				total += f
			}
		}
		for _, u := range res.Reuse.Routing.Uses {
			served += float64(u.ServedM3h)
			if !slices.Contains([]string{RouteServed, RoutePartial, RouteNoFlow, RouteQuality}, u.Status) {
				t.Fatalf("status %q", u.Status)
			}
		}
		if served > total*(1+1e-9)+1e-9 {
			t.Fatalf("served %g of %g m³/h", served, total)
		}
	})
}
