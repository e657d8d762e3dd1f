package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/netmon"
	"github.com/shuixiao/shuixiao/internal/sim/parknet"
	"github.com/shuixiao/shuixiao/leak"
)

func TestParkNetworkIsConsistent(t *testing.T) {
	m, err := parknet.New(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	net := m.Network()
	cfg := parkNetworkConfig(net, "U-", netmon.Clock{Speed: 1}, 2).WithDefaults()
	if err := cfg.Validate(net); err != nil {
		t.Fatalf("the park's monitoring configuration does not fit its model: %v", err)
	}
	if len(cfg.Zones) != 3 {
		t.Fatalf("zones: %d", len(cfg.Zones))
	}
	// Every junction with demand belongs to a zone, and the zones' customer
	// meters cover most of the demand (the rest is unmetered small use).
	metered, total := 0.0, 0.0
	customers := map[string]bool{}
	for _, z := range cfg.Zones {
		for _, c := range z.Consumers {
			customers[c] = true
		}
	}
	for i := range net.Junctions {
		nd := net.Nodes[i]
		if len(nd.Demands) == 0 || nd.Demands[0].Base == 0 {
			continue
		}
		if nd.Tag == "" {
			t.Errorf("junction %s has demand but no zone tag", nd.ID)
		}
		total += nd.Demands[0].Base
		if customers["U-CU-"+nd.ID] {
			metered += nd.Demands[0].Base
		}
	}
	if share := metered / total; share < 0.8 || share > 0.98 {
		t.Errorf("customer meters cover %.0f %% of the demand, want 80-98 %%", 100*share)
	}
	// Mass balance over a day: the inflow equals demand plus what the tank
	// took in, and every zone's boundary meters carry its demand.
	var inflow, demand, zoneIn [3]float64
	for step := int64(0); step <= 288; step++ {
		if err := m.Advance(step * 300); err != nil {
			t.Fatal(err)
		}
		q, _ := m.Flow("P-IN")
		inflow[0] += q
		for i := range net.Junctions {
			d, _ := m.Demand(net.Nodes[i].ID)
			demand[0] += d
		}
		for zi, z := range cfg.Zones {
			for _, in := range z.Inflows {
				f, _ := m.Flow(in.Link)
				zoneIn[zi] += in.Sign * f
			}
			for i := range net.Junctions {
				if net.Nodes[i].Tag == z.Tag {
					d, _ := m.Demand(net.Nodes[i].ID)
					zoneIn[zi] -= d
				}
			}
		}
		for _, node := range parkPressureLoggers {
			if p, _ := m.Pressure(node); p < 10 || p > 60 {
				t.Fatalf("pressure at %s is %.1f m at step %d", node, p, step)
			}
		}
	}
	level, _ := m.Pressure("TK1")
	tankM3 := (level - 3.5) * math.Pi * 11 * 11 / 4
	if d := inflow[0]/12 - demand[0]/12 - tankM3; math.Abs(d) > 0.02*inflow[0]/12 {
		t.Errorf("day balance: inflow %.0f m³, demand %.0f m³, tank %+.0f m³: %.0f m³ unaccounted", inflow[0]/12, demand[0]/12, tankM3, d)
	}
	for zi, z := range cfg.Zones {
		if z.ID == "B" {
			continue // the tank's meter sits on its outlet: checked by the day balance
		}
		if math.Abs(zoneIn[zi]/12) > 1 {
			t.Errorf("zone %s: boundary meters and demand differ by %.1f m³ over the day", z.ID, zoneIn[zi]/12)
		}
	}
}

// parkScenario is one leak the detector should find.
type parkScenario struct {
	node string
	flow float64
}

// detectionResult is what the detector made of one scenario.
type detectionResult struct {
	falseAlarms []time.Duration // network time of false alarms after calibration
	delay       time.Duration   // from onset to alarm; <0 missed
	distance    float64         // rank-1 candidate to the leak's pipes (m)
	flow        float64
	startError  time.Duration
}

// runParkDetection simulates the park network with its sensors' noise,
// feeds the monitor's watcher as the platform would (pressures in MPa,
// flows, levels), opens the leak after calibration plus a leak-free day,
// and reports what the detector did.
func runParkDetection(t testing.TB, seed int64, sc parkScenario, calibrationDays float64, leakAfter time.Duration) detectionResult {
	m, err := parknet.New(seed, 0)
	if err != nil {
		t.Fatal(err)
	}
	net := m.Network()
	clock := netmon.Clock{Speed: 1}
	cfg := parkNetworkConfig(net, "U-", clock, calibrationDays)
	w, err := netmon.NewWatcher(net, cfg)
	if err != nil {
		t.Fatal(err)
	}
	graph, err := leak.NetworkGraph(net)
	if err != nil {
		t.Fatal(err)
	}
	pts := parkPoints(net)
	noise := rand.New(rand.NewPCG(uint64(seed), 0x5e5))
	onset := (int64(calibrationDays*86400) + int64(leakAfter.Seconds())) / 300 * 300
	end := onset + 6*3600
	res := detectionResult{delay: -1}
	for T := int64(0); T <= end; T += 300 {
		if T == onset {
			if _, err := m.OpenLeak(sc.node, sc.flow); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.Advance(T); err != nil {
			t.Fatal(err)
		}
		now := clock.Instant(T)
		for _, p := range pts {
			if !p.Detector {
				continue
			}
			vals, err := parkReading(m, p, noise)
			if err != nil {
				t.Fatal(err)
			}
			for ch, v := range vals {
				w.Observe("U-"+p.Tag, ch, now, v)
			}
		}
		fs, err := w.Advance(now.Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			at := time.Duration(clock.Seconds(f.Raised)) * time.Second
			if T < onset {
				res.falseAlarms = append(res.falseAlarms, at)
				w.Resolve()
				continue
			}
			if res.delay >= 0 {
				continue
			}
			res.delay = at - time.Duration(onset)*time.Second
			res.flow = f.FlowM3H
			res.startError = time.Duration(clock.Seconds(f.Start)-onset) * time.Second
			res.distance = math.Inf(1)
			if len(f.Candidates) > 0 {
				for _, p := range graph.PipesAt(sc.node) {
					d, err := graph.Distance(f.Candidates[0].Link, p)
					if err != nil {
						t.Fatal(err)
					}
					res.distance = min(res.distance, d)
				}
			}
		}
		if res.delay >= 0 {
			break
		}
	}
	return res
}

func TestParkLeaksAreDetectedAndLocated(t *testing.T) {
	scenarios := []parkScenario{{"A06", 12}, {"B11", 12}, {"C09", 12}, {"C18", 10}, {"A10", 10}, {"B13", 12}, {"C14", 8}, {"A16", 8}}
	if testing.Short() || parkRaceEnabled {
		// One leak per zone still checks detection and location.
		scenarios = scenarios[:3]
	}
	var delays []time.Duration
	within := 0
	falseAlarms := 0
	for i, sc := range scenarios {
		r := runParkDetection(t, int64(i+1), sc, parkCalibrationDays, 20*time.Hour+time.Duration(i)*135*time.Minute)
		falseAlarms += len(r.falseAlarms)
		if r.delay < 0 {
			t.Errorf("leak of %.0f m³/h at %s: not detected within 6 h", sc.flow, sc.node)
			continue
		}
		delays = append(delays, r.delay)
		if r.distance <= 300 {
			within++
		}
		t.Logf("leak of %.0f m³/h at %s: alarm after %v (onset estimated %+v), flow %.1f m³/h, rank-1 candidate %.0f m from the leak; false alarms before: %d",
			sc.flow, sc.node, r.delay, r.startError, r.flow, r.distance, len(r.falseAlarms))
	}
	slices.Sort(delays)
	if len(delays) > 0 {
		t.Logf("detection delay: median %v, worst %v; rank-1 within 300 m: %d of %d; false alarms: %d", delays[len(delays)/2], delays[len(delays)-1], within, len(scenarios), falseAlarms)
		if median := delays[len(delays)/2]; median > time.Hour {
			t.Errorf("median detection delay %v, want ≤ 1 h", median)
		}
		if worst := delays[len(delays)-1]; worst > 3*time.Hour {
			t.Errorf("worst detection delay %v, want ≤ 3 h", worst)
		}
	}
	if within < len(scenarios)*2/3 {
		t.Errorf("rank-1 candidate within 300 m for %d of %d leaks, want at least %d", within, len(scenarios), len(scenarios)*2/3)
	}
	if falseAlarms > 1 {
		t.Errorf("%d false alarms on %d leak-free days", falseAlarms, len(scenarios))
	}
}

// The park history (Config.ParkHistory) is uploaded only when all of it is
// younger than the admission's skew limit, so that none of it is flagged,
// and it covers the monitor's calibration, so that a pipe leak injected at
// start opens once the monitor watches.
func TestParkHistoryFitsTheSkewLimit(t *testing.T) {
	if parkHistoryMaxAge >= ingest.DefaultPolicy.SkewPast {
		t.Fatalf("history up to %v old, but readings over %v old are flagged", parkHistoryMaxAge, ingest.DefaultPolicy.SkewPast)
	}
	if parkHistoryS < parkCalibrationDays*86400 {
		t.Fatalf("history of %d s is shorter than the calibration", parkHistoryS)
	}
	for _, c := range []struct {
		speed float64
		fits  bool
	}{{600, true}, {1440, true}, {555, true}, {550, false}, {60, false}, {1, false}, {0, false}} {
		if got := parkHistoryFits(netmon.Clock{Speed: c.speed}); got != c.fits {
			t.Errorf("speed %v: fits %v, want %v", c.speed, got, c.fits)
		}
	}
}
