package control

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/chem"
	"github.com/shuixiao/shuixiao/command"
	"github.com/shuixiao/shuixiao/cooling"
	"github.com/shuixiao/shuixiao/dosing"
	"github.com/shuixiao/shuixiao/internal/actuate"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/plant"
	"github.com/shuixiao/shuixiao/reading"
)

// towerConfig is a small valid tower configuration.
func towerConfig() *PlantConfig {
	s := func(ch string) Sensor { return Sensor{Meter: "M-CT", Channel: ch} }
	cal, _ := dosing.TwoPoint(0, 0, 100, 100)
	return &PlantConfig{ID: "PL1", Enterprise: "EN1", Name: "塔", TimeScale: 60, StepS: 1,
		Tower: &TowerConfig{
			Sensors: TowerSensors{Level: s("level_pct"), BasinCond: s("cond_us_cm"), MakeupCond: s("makeup_cond_us_cm"),
				Fluorescence: s("fluor_ppb"), BasinTemp: s("temp_c"), ReturnTemp: s("return_temp_c"), BlowdownFlow: s("blowdown_m3h"),
				PH: s("ph")},
			Actuators:      TowerActuators{MakeupValve: "makeup_valve", BlowdownValve: "blowdown_valve", InhibitorPump: "inhibitor_pump"},
			CirculationM3h: 1000,
			Level:          cooling.LevelConfig{StartPct: 58, StopPct: 62, LowAlarmPct: 20, HighAlarmPct: 95, PlausibleMin: -5, PlausibleMax: 105, StaleAfterS: 600},
			Blowdown: cooling.BlowdownConfig{CyclesSetpoint: 5, Kp: 0.5, TiS: 3600, ValveCapacity: 10, ValveMax: 1, DriftFlow: 0.1, ECMin: 20,
				ECMax: 20000, StaleAfterS: 600, FailSafeValve: 0.3, CyclesAlarmDev: 0.5, SystemVolumeM3: 400},
			Inhibitor: dosing.InhibitorConfig{SetpointMgL: 5, Kp: 0.02, TiS: 7200, ProductDensity: 1.2, PumpMaxLh: 0.1,
				Meter: dosing.Fluorometer{Cal: cal, Ratio: 10, RefTempC: 25}, MaxPlausible: 25, StaleAfterS: 600, FailSafeLh: 0.02},
			Makeup:    chem.Analysis{TempC: 20, PH: 7.8, Ca: 40, Mg: 10, Na: 20.8, K: 3, Cl: 25, SO4: 40, Alk: 110, SiO2: 8},
			WallTempC: 55,
		},
		Actuators: []actuate.Actuator{
			{Name: "makeup_valve", Device: "D-MUV", Unit: "%", Limits: actuate.Limits{Max: 100, FailSafe: 100, Values: []float64{0, 100}}},
			{Name: "blowdown_valve", Device: "D-BDV", Unit: "%", Limits: actuate.Limits{Max: 100, FailSafe: 30, MaxRisePerS: 0.2, MaxFallPerS: 0.2}},
			{Name: "inhibitor_pump", Device: "D-INH", Unit: "L/h", Limits: actuate.Limits{Max: 0.1, FailSafe: 0.02, StaleAfterS: 1200}},
		},
	}
}

func TestValidateConfig(t *testing.T) {
	if err := towerConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := towerConfig()
	_ = c.Validate()
	if c.Setpoints["cycles"].Max == 0 || c.Tower.EvapPerM3hC != 0.00153 {
		t.Fatalf("defaults not filled: %+v %v", c.Setpoints, c.Tower.EvapPerM3hC)
	}
	bad := map[string]func(*PlantConfig){
		"id":                 func(c *PlantConfig) { c.ID = "a b" },
		"nothing to control": func(c *PlantConfig) { c.Tower = nil },
		"missing actuator":   func(c *PlantConfig) { c.Tower.Actuators.BlowdownValve = "nope" },
		"duplicate actuator": func(c *PlantConfig) { c.Actuators = append(c.Actuators, c.Actuators[0]) },
		"bad interlock":      func(c *PlantConfig) { c.Actuators[2].FailSafe = 1 },
		"missing sensor":     func(c *PlantConfig) { c.Tower.Sensors.BasinCond = Sensor{} },
		"no circulation":     func(c *PlantConfig) { c.Tower.CirculationM3h = 0 },
		"bad blowdown":       func(c *PlantConfig) { c.Tower.Blowdown.CyclesSetpoint = 1 },
		"acid without pump": func(c *PlantConfig) {
			c.Tower.Acid = &dosing.AcidConfig{SetpointPH: 8, Kp: 1, PumpMaxLh: 1, PlausibleMin: 4, PlausibleMax: 11, StaleAfterS: 60, LowLowPH: 7}
		},
		"time scale":       func(c *PlantConfig) { c.TimeScale = -1 },
		"step":             func(c *PlantConfig) { c.StepS = 0.001 },
		"set-point bounds": func(c *PlantConfig) { c.Setpoints = map[string]Bound{"cycles": {Min: 8, Max: 2}} },
	}
	for name, mutate := range bad {
		c := towerConfig()
		mutate(c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	raw, _ := json.Marshal(towerConfig())
	if _, err := ParseConfig(raw); err != nil {
		t.Fatalf("round trip through JSON: %v", err)
	}
	if _, err := ParseConfig([]byte(`{"id":"x","unknown":1`)); err == nil {
		t.Fatal("broken JSON accepted")
	}
}

// inputs returns sensor values of a tower at cycles n (make-up 400 µS/cm).
func inputs(n, age float64) Inputs {
	v := func(x float64) Value { return Value{V: x, AgeS: age, OK: true} }
	return Inputs{"M-CT/level_pct": v(60), "M-CT/cond_us_cm": v(400 * n), "M-CT/makeup_cond_us_cm": v(400), "M-CT/fluor_ppb": v(50),
		"M-CT/temp_c": v(30), "M-CT/return_temp_c": v(38), "M-CT/blowdown_m3h": v(3), "M-CT/ph": v(8.4)}
}

func TestPlantStep(t *testing.T) {
	p, err := NewController(towerConfig())
	if err != nil {
		t.Fatal(err)
	}
	res := p.Step(inputs(5.3, 10), 60, 0)
	if res.Tower == nil || math.Abs(float64(res.Tower.Cycles)-5.3) > 1e-9 || math.Abs(float64(res.Tower.ProductMgL)-5) > 1e-9 {
		t.Fatalf("tower %+v", res.Tower)
	}
	if math.Abs(float64(res.Tower.EvaporationM3h)-0.00153*1000*8) > 1e-9 {
		t.Fatalf("evaporation %v", res.Tower.EvaporationM3h)
	}
	x := res.Indices
	if x == nil || x.Error != "" || !(float64(x.LSI) > 0) || !(float64(x.SICalcite) > 0) || !(float64(x.MaxCycles) > 1.5) {
		t.Fatalf("indices %+v", x)
	}
	byName := map[string]actuate.Request{}
	for _, r := range res.Requests {
		byName[r.Actuator] = r
	}
	bd := byName["blowdown_valve"]
	if bd.By != "cooling.blowdown" || len(bd.Inputs) < 2 || !strings.Contains(bd.Reason, "5.30") || len(bd.Indices) == 0 {
		t.Fatalf("blowdown request %+v", bd)
	}
	// Too many cycles opens the blowdown further than too few.
	q, _ := NewController(towerConfig())
	low := q.Step(inputs(4.7, 10), 60, 0)
	var lowBD float64
	for _, r := range low.Requests {
		if r.Actuator == "blowdown_valve" {
			lowBD = r.Value
		}
	}
	if !(bd.Value > lowBD) {
		t.Fatalf("blowdown at 5.3 cycles %g, at 4.7 cycles %g", bd.Value, lowBD)
	}
	// Stale sensors: every tower controller goes to its fail-safe and says so.
	r, _ := NewController(towerConfig())
	stale := r.Step(inputs(5, 3600), 60, 0)
	if len(stale.Tower.FailSafe) != 3 || len(stale.Alarms) < 3 {
		t.Fatalf("stale inputs: fail-safe %v, alarms %+v", stale.Tower.FailSafe, stale.Alarms)
	}
	// Missing sensors entirely.
	empty := r.Step(Inputs{}, 60, 0)
	if len(empty.Tower.FailSafe) != 3 || empty.Indices.Error == "" {
		t.Fatalf("no inputs: %+v %+v", empty.Tower.FailSafe, empty.Indices)
	}
	if _, err := json.Marshal(Live{Tower: empty.Tower, Indices: empty.Indices, Reuse: empty.Reuse, Alarms: empty.Alarms}); err != nil {
		t.Fatalf("the live view of a step with missing sensors must still encode: %v", err)
	}
}

// fakes for the runner

type memLedger struct {
	mu sync.Mutex
	n  uint64
}

func (l *memLedger) Record(_ context.Context, e *reading.CommandEntry) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := e.Validate(); err != nil {
		return 0, err
	}
	l.n++
	return l.n, nil
}

type memStore struct {
	mu        sync.Mutex
	plants    map[string]plant.Record
	commands  map[string]command.Record
	overrides []command.Override
}

func (s *memStore) SaveCommands(_ context.Context, cs []command.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		s.commands[c.ID] = c
	}
	return nil
}
func (s *memStore) SetOverride(_ context.Context, o command.Override) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.overrides = append(s.overrides, o)
	return nil
}
func (s *memStore) SavePlant(_ context.Context, p plant.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plants[p.ID] = p
	return nil
}
func (s *memStore) Plants(context.Context, string) ([]plant.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []plant.Record
	for _, p := range s.plants {
		out = append(out, p)
	}
	return out, nil
}
func (s *memStore) Overrides(context.Context, string) ([]command.Override, error) { return nil, nil }

type nopBroker struct{}

func (nopBroker) Publish(string, []byte, byte) error { return nil }

func TestRunner(t *testing.T) {
	st := &memStore{plants: map[string]plant.Record{}, commands: map[string]command.Record{}}
	act, err := actuate.New(actuate.Options{Publisher: nopBroker{}, Ledger: &memLedger{}, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var alarms []PlantAlarm
	r, err := NewRunner(RunnerOptions{Actuation: act, Store: st, Now: func() time.Time { return now },
		OnAlarm: func(a PlantAlarm) { mu.Lock(); alarms = append(alarms, a); mu.Unlock() }, ClearAfterSteps: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Register(ctx, towerConfig(), true); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.plants["PL1"]; !ok {
		t.Fatal("configuration not saved")
	}
	bad := towerConfig()
	bad.Tower.Blowdown.Kp = math.NaN()
	bad.Tower.Blowdown.CyclesSetpoint = 0.5
	if err := r.Register(ctx, bad, true); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("invalid configuration: %v", err)
	}
	// A reading of an unrelated meter is ignored; the plant's are kept, with
	// ages counted from device time (or receive time when the clock runs ahead).
	obs := func(meterID string, at time.Time, vals map[string]float64) {
		rd := store.Reading{Meter: meterID, Time: at, Received: now}
		for k, v := range vals {
			rd.Values = append(rd.Values, store.Value{Channel: k, Value: v})
		}
		r.Observe([]store.Reading{rd})
	}
	obs("OTHER", now, map[string]float64{"cond_us_cm": 1})
	obs("M-CT", now.Add(-10*time.Second), map[string]float64{"level_pct": 60, "cond_us_cm": 2000, "makeup_cond_us_cm": 400,
		"fluor_ppb": 50, "temp_c": 30, "return_temp_c": 38, "blowdown_m3h": 3, "ph": 8.4})
	if err := r.Step(ctx, "PL1"); err != nil {
		t.Fatal(err)
	}
	live, err := r.Live("PL1")
	if err != nil || live == nil || math.Abs(float64(live.Tower.Cycles)-5) > 1e-9 {
		t.Fatalf("live %+v, %v", live, err)
	}
	if age := float64(live.Sensors["basin_cond"].AgeS); math.Abs(age-600) > 1e-6 {
		t.Fatalf("age %v process seconds, want 10 s × 60", age)
	}
	// An old reading arriving late does not replace a newer one.
	obs("M-CT", now.Add(-time.Hour), map[string]float64{"cond_us_cm": 9999})
	if x := r.inputs(towerConfig(), now)["M-CT/cond_us_cm"]; x.V != 2000 {
		t.Fatalf("late reading replaced the newer: %v", x.V)
	}
	// Set-points: within bounds recorded and applied, outside refused.
	if _, err := r.SetSetpoint(ctx, "PL1", "cycles", 16, "token:op", ""); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("cycles 16: %v", err)
	}
	if _, err := r.SetSetpoint(ctx, "PL1", "ph", 8, "token:op", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a set-point the plant has no controller for: %v", err)
	}
	rec, err := r.SetSetpoint(ctx, "PL1", "cycles", 5.5, "token:op", "summer")
	if err != nil || rec.Kind != command.KindSetpoint {
		t.Fatal(err)
	}
	cfg, _ := r.Config("PL1")
	if cfg.Tower.Blowdown.CyclesSetpoint != 5.5 {
		t.Fatal("set-point not applied")
	}
	var saved PlantConfig
	if err := json.Unmarshal(st.plants["PL1"].Config, &saved); err != nil || saved.Tower.Blowdown.CyclesSetpoint != 5.5 {
		t.Fatalf("set-point not saved: %v", err)
	}
	// Sensors go stale: alarms open, then clear when fresh values return.
	now = now.Add(time.Minute) // 3600 s of process time
	_ = r.Step(ctx, "PL1")
	mu.Lock()
	opened := len(alarms)
	mu.Unlock()
	if opened == 0 {
		t.Fatal("no alarm for stale sensors")
	}
	obs("M-CT", now, map[string]float64{"level_pct": 60, "cond_us_cm": 2000, "makeup_cond_us_cm": 400, "fluor_ppb": 50,
		"temp_c": 30, "return_temp_c": 38, "blowdown_m3h": 3, "ph": 8.4})
	for range 3 {
		now = now.Add(time.Second)
		_ = r.Step(ctx, "PL1")
	}
	mu.Lock()
	cleared := 0
	for _, a := range alarms {
		if a.Clear {
			cleared++
		}
	}
	mu.Unlock()
	if cleared == 0 {
		t.Fatalf("alarms %+v never cleared", alarms)
	}
	h, _ := r.History("PL1")
	if len(h) < 5 {
		t.Fatalf("history of %d points", len(h))
	}
	if _, err := r.Live("nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
}

func TestHistoryThins(t *testing.T) {
	h := history{max: 10}
	for i := range 1000 {
		h.add(HistoryPoint{Cycles: Num(i)})
	}
	if len(h.points) >= 10 || len(h.points) < 4 {
		t.Fatalf("%d points kept", len(h.points))
	}
	for i := 1; i < len(h.points); i++ {
		if !(h.points[i].Cycles > h.points[i-1].Cycles) {
			t.Fatal("history out of order")
		}
	}
}

func TestTimelineAndMarkers(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	cmd := func(min int, v float64, status string) command.Record {
		return command.Record{ID: "C" + string(rune('a'+min)), Kind: command.KindIssue, Actuator: "uf_mode", Value: v,
			Issued: t0.Add(time.Duration(min) * time.Minute), Status: status}
	}
	cmds := []command.Record{cmd(0, 0, command.Acked), cmd(10, 1, command.Acked), cmd(11, 0, command.Acked),
		cmd(12, 0, command.Acked), cmd(20, 2, command.Nacked), cmd(30, 2, command.Acked), cmd(45, 0, command.Pending)}
	segs := Timeline(cmds, "uf_mode", t0.Add(5*time.Minute), t0.Add(60*time.Minute), UFModeName)
	var got []string
	for _, s := range segs {
		got = append(got, s.Mode+"@"+s.From.Sub(t0).String())
	}
	want := "filtering@5m0s backwash@10m0s filtering@11m0s ceb@30m0s filtering@45m0s"
	if strings.Join(got, " ") != want {
		t.Fatalf("timeline %v, want %s", got, want)
	}
	ms := Markers(cmds, "uf_mode", 2)
	if len(ms) != 1 || ms[0].Time != t0.Add(30*time.Minute) {
		t.Fatalf("markers %+v: the refused CEB is no event", ms)
	}
	refresh := append(cmds, cmd(50, 0, command.Acked), cmd(51, 2, command.Acked), cmd(52, 2, command.Acked))
	if ms := Markers(refresh, "uf_mode", 2); len(ms) != 2 || ms[1].Time != t0.Add(51*time.Minute) {
		t.Fatalf("markers %+v: a refresh of the same value is no new event", ms)
	}
}

func TestROTrend(t *testing.T) {
	c := trainConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	p, err := NewController(c)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	series := map[string][]TimedValue{}
	for i := range 10 {
		at := t0.Add(time.Duration(i) * time.Minute)
		// The reference point itself (conductivities from TDS/0.64): its normalised flow is the reference flow.
		for role, v := range map[string]float64{"ro_feed_pressure": 1, "ro_diff_pressure": 1.5, "ro_perm_pressure": 0.5, "ro_feed_cond": 1200 / 0.64,
			"ro_perm_cond": 18 / 0.64, "ro_feed_flow": 40 / 0.75, "ro_perm_flow": 40, "temp": 25} {
			series[role] = append(series[role], TimedValue{T: at, V: v})
		}
	}
	pts := p.ROTrend(series, t0, t0.Add(10*time.Minute), 2)
	if len(pts) != 2 || math.Abs(float64(pts[0].NormFlow)-40) > 1e-6 || math.Abs(float64(pts[0].FlowChangePct)) > 1e-6 || pts[0].Readings != 5 {
		t.Fatalf("trend %+v", pts)
	}
	delete(series, "temp")
	if pts := p.ROTrend(series, t0, t0.Add(10*time.Minute), 2); len(pts) != 0 {
		t.Fatalf("a window without every sensor must be left out: %+v", pts)
	}
}

func BenchmarkPlantStep(b *testing.B) {
	p, err := NewController(towerConfig())
	if err != nil {
		b.Fatal(err)
	}
	in := inputs(5.1, 10)
	b.ReportAllocs()
	for b.Loop() {
		p.Step(in, 60, 0)
	}
}

func BenchmarkMaxCycles(b *testing.B) {
	p, err := NewController(towerConfig())
	if err != nil {
		b.Fatal(err)
	}
	in := inputs(5.1, 10)
	b.ReportAllocs()
	for b.Loop() {
		p.lastOptS = math.Inf(-1) // run the optimiser every step
		p.Step(in, 60, 0)
	}
}
