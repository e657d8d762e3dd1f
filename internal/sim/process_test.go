package sim

import (
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/actuate"
	"github.com/shuixiao/shuixiao/internal/control"
	"github.com/shuixiao/shuixiao/reuse"
)

// towerInputs turns instrument values into the control inputs of cfg.
func processInputs(cfg *control.PlantConfig, tw TowerReadings, tr TrainReadings, age float64) control.Inputs {
	in := control.Inputs{}
	put := func(s control.Sensor, v float64) {
		if s.Set() {
			in[s.Meter+"/"+s.Channel] = control.Value{V: v, AgeS: age, OK: true}
		}
	}
	t, r := cfg.Tower.Sensors, cfg.Reuse.Sensors
	put(t.Level, tw.LevelPct)
	put(t.BasinCond, tw.Cond)
	put(t.MakeupCond, tw.MakeupCond)
	put(t.Fluorescence, tw.Tracer)
	put(t.Tagged, tw.Tagged)
	put(t.BasinTemp, tw.TempC)
	put(t.ReturnTemp, tw.ReturnTempC)
	put(t.Circulation, tw.CirculationM3h)
	put(t.BlowdownFlow, tw.BlowdownM3h)
	put(t.MakeupFlow, tw.MakeupM3h)
	put(t.PH, tw.PH)
	put(t.ORP, tw.ORP)
	put(r.MMFHeadloss, tr.MMFHeadlossKPa)
	put(r.MMFTurbidity, tr.MMFTurbidity)
	put(r.UFTMP, tr.UFTMPKPa)
	put(r.UFFlow, tr.UFFlowM3h)
	put(r.Temp, tr.TempC)
	put(r.ROFeedP, tr.ROFeedMPa)
	put(r.RODiffP, tr.RODPKPa)
	put(r.ROPermP, tr.ROPermMPa)
	put(r.ROFeedCond, tr.ROFeedCond)
	put(r.ROPermCond, tr.ROPermCond)
	put(r.ROFeedFlow, tr.ROFeedM3h)
	put(r.ROPermFlow, tr.ROPermM3h)
	if rc := cfg.Reuse.Routing; rc != nil {
		for _, st := range rc.Streams {
			put(st.Quality["turbidity_ntu"], tr.ROPermTurb)
			put(st.Quality["ph"], tr.ROPermPH)
		}
	}
	return in
}

// loopResult is what a run of the compact plant measured.
type loopResult struct {
	worstCycles, worstProduct, worstProductMeasured float64
	worstBalance                                    float64 // 2-hour mass-balance cycles M/(B + D)
	maxDose                                         map[string]float64
	backwashes, ceb, roCleanings                    int
	minLevel, maxLevel                              float64
	minPH, maxPH                                    float64
	routes                                          map[string]int // use/status → steps
	valveOpenSteps                                  map[string]int // reuse valve → steps held open
}

// runProcessLoop closes the loop in one goroutine: plant → instruments →
// controllers → interlocks → actuators, with the actuators acting delay
// seconds after the readings they answer (the MQTT round trip of the real
// path).
func runProcessLoop(t *testing.T, p ProcessParams, step, delay, end float64, tune func(*control.PlantConfig)) loopResult {
	t.Helper()
	cfg, err := ProcessControl("PL-T", "EN-T", "HN-T-", p, step, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if tune != nil {
		tune(cfg)
	}
	pl, err := control.NewController(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := reuse.LoadMembranes()
	rng := rand.New(rand.NewSource(3))
	st := NewProcessState(p, cfg.Tower.Blowdown.CyclesSetpoint, cfg.Tower.Inhibitor.SetpointMgL)
	acts := map[string]actuate.Actuator{}
	states := map[string]actuate.State{}
	for _, a := range cfg.Actuators {
		acts[a.Name] = a
	}
	type pending struct {
		at   float64
		name string
		v    float64
	}
	var queue []pending
	res := loopResult{maxDose: map[string]float64{}, minLevel: 100, minPH: 14, routes: map[string]int{}, valveOpenSteps: map[string]int{}}
	var ufMode reuse.UFMode
	type mark struct{ t, makeup, purge float64 }
	var marks []mark
	for st.T < end {
		st = p.Advance(st, step, m)
		for len(queue) > 0 && queue[0].at <= st.T {
			x := queue[0]
			queue = queue[1:]
			applyProcess(&st, x.name, x.v, p)
		}
		tw, tr := p.ReadTower(st, rng), p.ReadTrain(st, m, rng)
		r := pl.Step(processInputs(cfg, tw, tr, step/2), step, math.Mod(st.T, 86400))
		for _, req := range r.Requests {
			a := acts[req.Actuator]
			d := a.Decide(states[a.Name], req, step)
			states[a.Name] = states[a.Name].Next(d)
			res.maxDose[a.Name] = math.Max(res.maxDose[a.Name], d.Value)
			queue = append(queue, pending{st.T + delay, a.Name, d.Value})
		}
		if r.Reuse != nil && r.Reuse.Routing != nil {
			for _, u := range r.Reuse.Routing.Uses {
				res.routes[u.Name+"/"+u.Status]++
			}
			for name := range reuseValveTags {
				if st.ReuseValves[name] == 100 {
					res.valveOpenSteps[name]++
				}
			}
		}
		if r.Reuse != nil {
			if mode := reuse.UFMode(states["uf_mode"].Held); mode != ufMode {
				if mode == reuse.UFCEB {
					res.ceb++
				}
				ufMode = mode
			}
		}
		if st.T > 1800 {
			res.minPH, res.maxPH = math.Min(res.minPH, p.PH(st)), math.Max(res.maxPH, p.PH(st))
			if d := math.Abs(float64(r.Tower.Cycles) - cfg.Tower.Blowdown.CyclesSetpoint); d > res.worstCycles {
				res.worstCycles = d
			}
			res.worstProduct = math.Max(res.worstProduct, math.Abs(st.Tower.ProductMgL-cfg.Tower.Inhibitor.SetpointMgL)/cfg.Tower.Inhibitor.SetpointMgL)
			res.worstProductMeasured = math.Max(res.worstProductMeasured, math.Abs(float64(r.Tower.ProductMgL)-cfg.Tower.Inhibitor.SetpointMgL)/cfg.Tower.Inhibitor.SetpointMgL)
		}
		res.minLevel, res.maxLevel = math.Min(res.minLevel, st.Tower.LevelPct), math.Max(res.maxLevel, st.Tower.LevelPct)
		marks = append(marks, mark{st.T, st.Tower.MakeupM3, st.Tower.PurgeM3})
		if n := len(marks); st.T > 2.5*3600 {
			for i := n - 1; i >= 0; i-- {
				if st.T-marks[i].t >= 2*3600 {
					nb := (st.Tower.MakeupM3 - marks[i].makeup) / (st.Tower.PurgeM3 - marks[i].purge)
					res.worstBalance = math.Max(res.worstBalance, math.Abs(nb-cfg.Tower.Blowdown.CyclesSetpoint))
					break
				}
			}
		}
	}
	res.backwashes, res.roCleanings = st.UFBackwashes, st.ROCleanings
	for name, v := range res.maxDose {
		if v > acts[name].Max {
			t.Errorf("%s decided %g above its interlock %g", name, v, acts[name].Max)
		}
	}
	return res
}

// applyProcess is what the actuator devices do with a command.
func applyProcess(s *ProcessState, name string, v float64, p ProcessParams) {
	pp := &ProcessPlant{Params: p}
	pp.st = *s
	pp.apply(name, v)
	*s = pp.st
}

// TestProcessLoopHoldsCyclesAndProduct runs the compact plant through its
// heat-load step and make-up swing with the controllers and interlocks of
// the server, without the network: cycles within ±0.2 of the set-point and
// product within ±10 %, no dose above its interlock, and the reuse train
// backwashing and cleaning on its own.
func TestProcessLoopHoldsCyclesAndProduct(t *testing.T) {
	p := FastProcessParams()
	res := runProcessLoop(t, p, 36, 108, 7*3600, nil)
	t.Logf("worst |ΔN| %.3f (2-h mass balance %.3f), worst product %.1f %% (measured %.1f %%), level %.0f-%.0f %%, pH %.2f-%.2f, UF backwashes %d CEB %d, RO cleanings %d, max doses %v",
		res.worstCycles, res.worstBalance, 100*res.worstProduct, 100*res.worstProductMeasured, res.minLevel, res.maxLevel, res.minPH, res.maxPH, res.backwashes, res.ceb, res.roCleanings, res.maxDose)
	if res.worstCycles > 0.2 {
		t.Errorf("cycles left ±0.2: %.3f", res.worstCycles)
	}
	if res.worstProduct > 0.10 {
		t.Errorf("product left ±10 %%: %.1f %%", 100*res.worstProduct)
	}
	if res.backwashes == 0 || res.roCleanings == 0 {
		t.Errorf("the reuse train did not run its sequences: %d backwashes, %d RO cleanings", res.backwashes, res.roCleanings)
	}
	// The permeate stays fit for every use: the uses are served by priority
	// while the RO produces, and wait while it cleans; none is cut off for quality.
	t.Logf("routing (use/status → steps): %v; valves open (steps): %v", res.routes, res.valveOpenSteps)
	for _, use := range []string{"product_rinse", "boiler_makeup", "tower_makeup", "floor_washing"} {
		if res.routes[use+"/"+control.RouteQuality] != 0 || res.routes[use+"/"+control.RouteNoFlow] == 0 {
			t.Errorf("%s: %v", use, res.routes)
		}
	}
	if res.routes["product_rinse/"+control.RouteServed] == 0 || res.routes["floor_washing/"+control.RoutePartial] == 0 ||
		res.valveOpenSteps["reuse_to_rinse"] == 0 || res.valveOpenSteps["reuse_to_washing"] == 0 {
		t.Errorf("reuse water not routed: %v, valves %v", res.routes, res.valveOpenSteps)
	}
	// The scenario is a real test: without the make-up lag compensation
	// (dividing by the instantaneous make-up conductivity) the controller
	// holds its own ratio while the water's mass-balance cycles wander.
	naive := runProcessLoop(t, p, 36, 108, 7*3600, func(c *control.PlantConfig) {
		c.Tower.Blowdown.SystemVolumeM3, c.Tower.Blowdown.MakeupFilterS = 0, 0
	})
	t.Logf("without lag compensation: 2-h mass-balance cycles off by %.3f (with: %.3f)", naive.worstBalance, res.worstBalance)
	if naive.worstBalance < 2*res.worstBalance {
		t.Errorf("the make-up swing does not test the lag compensation: naive %.3f vs %.3f", naive.worstBalance, res.worstBalance)
	}
}

// TestDemoPlantRuns runs the demo's plant (DefaultProcessParams) for ten
// process days at the demo's step of four minutes: its heat-load cycle and
// steps, make-up swing and fouling keep the controllers busy without
// leaving their bands, and the RO is cleaned when its normalised flow drops.
func TestDemoPlantRuns(t *testing.T) {
	p := DefaultProcessParams()
	res := runProcessLoop(t, p, 240, 240, 10*86400, nil)
	t.Logf("demo plant, 10 days: worst |ΔN| %.3f, product %.1f %%, level %.0f-%.0f %%, pH %.2f-%.2f, UF backwashes %d CEB %d, RO cleanings %d",
		res.worstCycles, 100*res.worstProduct, res.minLevel, res.maxLevel, res.minPH, res.maxPH, res.backwashes, res.ceb, res.roCleanings)
	if res.worstCycles > 0.3 || res.worstProduct > 0.15 || res.minLevel < 30 || res.maxLevel > 90 {
		t.Errorf("the demo plant leaves its bands")
	}
	if res.roCleanings == 0 || res.backwashes == 0 {
		t.Errorf("the demo's reuse train does not run its sequences")
	}
}

// TestReuseRoutingFollowsPermeateQuality runs the compact plant with its
// permeate's pH past every class's upper limit (a caustic overdose at the
// degasser): no use receives it, every reuse valve stays shut.
func TestReuseRoutingFollowsPermeateQuality(t *testing.T) {
	p := FastProcessParams()
	p.PermeatePH = 9.4
	res := runProcessLoop(t, p, 36, 108, 2*3600, nil)
	for _, use := range []string{"product_rinse", "boiler_makeup", "tower_makeup", "floor_washing"} {
		if res.routes[use+"/"+control.RouteQuality] == 0 || res.routes[use+"/"+control.RouteServed]+res.routes[use+"/"+control.RoutePartial] != 0 {
			t.Errorf("%s: %v", use, res.routes)
		}
	}
	if len(res.valveOpenSteps) != 0 {
		t.Errorf("valves opened to unfit water: %v", res.valveOpenSteps)
	}
}

// TestROSealCutsOffTheRinse: a failed permeate seal (the ro-seal injection)
// lifts the permeate conductivity above the RO-permeate class; the product
// rinse is cut off and its share goes to the uses whose class still holds.
func TestROSealCutsOffTheRinse(t *testing.T) {
	p := DefaultProcessParams()
	cfg, err := ProcessControl("PL-T", "EN-T", "HN-T-", p, 240, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := reuse.LoadMembranes()
	for _, c := range []struct {
		bypass float64
		want   map[string]string
	}{
		{0, map[string]string{"product_rinse": control.RouteServed, "boiler_makeup": control.RouteServed, "tower_makeup": control.RouteServed, "floor_washing": control.RoutePartial}},
		{roSealBypass, map[string]string{"product_rinse": control.RouteQuality, "boiler_makeup": control.RouteServed, "tower_makeup": control.RouteServed, "floor_washing": control.RouteServed}},
	} {
		pl, err := control.NewController(cfg)
		if err != nil {
			t.Fatal(err)
		}
		st := NewProcessState(p, 5, 5)
		st.PermeateBypass = c.bypass
		tr := p.ReadTrain(st, m, nil)
		res := pl.Step(processInputs(cfg, p.ReadTower(st, nil), tr, 10), 60, 0)
		for _, u := range res.Reuse.Routing.Uses {
			if u.Status != c.want[u.Name] {
				t.Errorf("bypass %g (permeate %.0f µS/cm): %s %s, want %s", c.bypass, tr.ROPermCond, u.Name, u.Status, c.want[u.Name])
			}
		}
	}
}
