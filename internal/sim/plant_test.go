package sim

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/meter"
)

func mustParams(t testing.TB) Parameters {
	t.Helper()
	p, err := DefaultParameters()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func buildArchetype(t testing.TB, key string, variant uint64) *WaterSystem {
	t.Helper()
	archs, err := Archetypes()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range archs {
		if a.Key != key {
			continue
		}
		units := Templates[key].Units(rand.New(rand.NewPCG(variant, 7)))
		leak := map[meter.Source]float64{}
		for _, u := range units {
			if u.Source != "" {
				leak[u.Source] = 0.01
			}
		}
		p, err := Build(WaterSystemSpec{Archetype: a, Capacity: (a.CapacityMin + a.CapacityMax) / 2, Units: units, LeakBackground: leak}, mustParams(t))
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		return p
	}
	t.Fatalf("no archetype %s", key)
	return nil
}

func TestTablesLoad(t *testing.T) {
	archs, err := Archetypes()
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]bool{}
	for _, a := range archs {
		groups[a.Group] = true
		if _, ok := Templates[a.Key]; !ok {
			t.Errorf("archetype %s has no template", a.Key)
		}
	}
	for _, g := range Groups {
		if !groups[g] {
			t.Errorf("group %s has no archetype", g)
		}
	}
	if len(Templates) != len(archs) {
		t.Errorf("%d templates for %d archetypes", len(Templates), len(archs))
	}
	sites, err := ParkSites()
	if err != nil {
		t.Fatal(err)
	}
	// The parks the brief names must be there with their industries.
	want := map[string]string{"湘潭高新技术产业开发区": "steel", "岳阳绿色化工高新技术产业开发区": "refinery", "郴州高新技术产业开发区": "zinc"}
	for _, s := range sites {
		if a, ok := want[s.Park.Name]; ok {
			found := false
			for _, x := range s.Archetypes {
				found = found || x == a
			}
			if !found {
				t.Errorf("%s lacks %s", s.Park.Name, a)
			}
			delete(want, s.Park.Name)
		}
		if s.Park.Lat < 24.6 || s.Park.Lat > 30.2 || s.Park.Lon < 108.7 || s.Park.Lon > 114.3 {
			t.Errorf("%s at %v,%v is outside Hunan", s.Park.Name, s.Park.Lat, s.Park.Lon)
		}
	}
	if len(want) > 0 {
		t.Errorf("parks missing: %v", want)
	}
	p := mustParams(t)
	for _, tc := range []struct{ air, k float64 }{{-20, 0.0008}, {0, 0.0010}, {15, 0.0013}, {30, 0.0015}, {35, 0.00155}, {50, 0.0016}} {
		if got := p.EvaporationK(tc.air); math.Abs(got-tc.k) > 1e-12 {
			t.Errorf("k(%v) = %v, want %v", tc.air, got, tc.k)
		}
	}
}

// TestCoolingTowerVector checks the cooling-system balance against the
// constructed test vector of reference/chemistry.md §4: Qr = 1000 m³/h,
// Δt = 10 °C, N = 5, drift 0.01 %, GB form with k = 0.0015 →
// E = 15.000, B + D = 3.750, M = 18.750 m³/h.
func TestCoolingTowerVector(t *testing.T) {
	params := mustParams(t)
	params.DriftFraction = 0.0001
	a := Archetype{Key: "vector", IntakePerUnit: 1, ReuseRate: 0.995, CapacityMin: 1, CapacityMax: 1}
	p, err := Build(WaterSystemSpec{Archetype: a, Capacity: 24, Units: []UnitSpec{
		{ID: "CT", Kind: UnitCooling, Source: meter.SourceSurface, Demand: 1, RangeC: 10, Cycles: 5},
		{ID: "P", Kind: UnitProcess, Source: meter.SourceSurface, Demand: 1, Consumed: 0.5, Recirculation: 1},
		{ID: "WWTP", Kind: UnitWWTP},
	}}, params)
	if err != nil {
		t.Fatal(err)
	}
	ct := &p.Units[0]
	ct.Circulation = 1000 / (0.7 + 0.3) // circulation at production 1
	f := p.Flows(Conditions{Production: 1, AirC: 30})
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %.6f, want %.6f", name, got, want)
		}
	}
	near("Qr", f[ct.recirculation], 1000)
	near("E+D", f[ct.consumption], 15+0.1)
	near("B", f[ct.wastewater], 3.75-0.1)
	near("M", f[ct.supply], 18.75)
	near("N = M/(B+D)", f[ct.supply]/(f[ct.wastewater]+0.1), 5)
}

// TestDesignCalibration checks every archetype, in several template
// variants: at design conditions the intake equals capacity × intake per
// unit product and the reuse rate equals the archetype's.
func TestDesignCalibration(t *testing.T) {
	archs, err := Archetypes()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range archs {
		for variant := uint64(0); variant < 6; variant++ {
			p := buildArchetype(t, a.Key, variant)
			b := p.BalanceOf(p.DesignFlows())
			if want := p.Capacity * a.IntakePerUnit / 24; math.Abs(b.Intake-want) > 1e-9*want {
				t.Errorf("%s/%d: design intake %.3f m³/h, want %.3f", a.Key, variant, b.Intake, want)
			}
			if math.Abs(b.ReuseRate()-a.ReuseRate) > 1e-9 {
				t.Errorf("%s/%d: design reuse rate %.6f, want %.6f", a.Key, variant, b.ReuseRate(), a.ReuseRate)
			}
			if math.Abs(b.Error()) > 1e-12 {
				t.Errorf("%s/%d: design balance error %g", a.Key, variant, b.Error())
			}
			for i, v := range p.DesignFlows() {
				if v < 0 || math.IsNaN(v) {
					t.Errorf("%s/%d: stream %s flow %v", a.Key, variant, p.Streams[i].ID, v)
				}
			}
		}
	}
}

// simulateDay integrates a province enterprise of each archetype over one
// working day and one Sunday.
func TestDayBalance(t *testing.T) {
	prov, err := Generate(3, 40)
	if err != nil {
		t.Fatal(err)
	}
	params := prov.Params
	seen := map[string]bool{}
	for _, e := range prov.Enterprises {
		if seen[e.Archetype.Key] {
			continue
		}
		seen[e.Archetype.Key] = true
		for _, day := range []time.Time{
			time.Date(2026, 4, 15, 0, 0, 0, 0, ChinaTime), // a Wednesday in spring
			time.Date(2026, 7, 19, 0, 0, 0, 0, ChinaTime), // a hot Sunday
		} {
			vol := e.Volumes(&params, day, day.Add(24*time.Hour), time.Minute, nil)
			p := e.System
			// Every unit and header: in = out.
			for node, d := range p.NodeImbalance(vol) {
				through := 0.0
				for i, s := range p.Streams {
					if s.To == node && s.From != node {
						through += vol[i]
					}
				}
				if math.Abs(d) > 1e-9*math.Max(through, 1) {
					t.Errorf("%s %s: node %s imbalance %.6g m³ of %.6g", e.Archetype.Key, day.Format("01-02"), node, d, through)
				}
			}
			b := p.BalanceOf(vol)
			if math.Abs(b.Error()) > 1e-12 {
				t.Errorf("%s %s: Vi %.3f ≠ Vco+Vd+Vl %.3f", e.Archetype.Key, day.Format("01-02"), b.Intake, b.Consumption+b.Discharge+b.Leakage)
			}
			if b.Consumption <= 0 || b.Discharge <= 0 || b.Leakage <= 0 {
				t.Errorf("%s: degenerate balance %+v", e.Archetype.Key, b)
			}
			if day.Weekday() != time.Wednesday {
				continue
			}
			if got := b.ReuseRate(); math.Abs(got-e.Archetype.ReuseRate) > 0.02 {
				t.Errorf("%s: day reuse rate %.4f, design %.4f", e.Archetype.Key, got, e.Archetype.ReuseRate)
			}
			out := e.Output(day, day.Add(24*time.Hour), time.Minute)
			if per := b.Intake / out; math.Abs(per/e.Archetype.IntakePerUnit-1) > 0.15 {
				t.Errorf("%s: intake per unit product %.3f, baseline %.3f", e.Archetype.Key, per, e.Archetype.IntakePerUnit)
			}
		}
	}
	if len(seen) != len(Templates) {
		t.Errorf("40 enterprises covered %d of %d archetypes", len(seen), len(Templates))
	}
}

// TestHiddenLeak: a leak on a header raises the level-1 intake by its share
// of the supplied water, and no level-2 supply changes.
func TestHiddenLeak(t *testing.T) {
	p := buildArchetype(t, "steel", 0)
	c := Conditions{Production: 0.9, AirC: 25, Office: 1}
	base := p.Flows(c)
	c.Leak = map[meter.Source]float64{meter.SourceSurface: 0.12}
	leaky := p.Flows(c)
	supplied := 0.0
	for i, s := range p.Streams {
		switch s.Kind {
		case StreamSupply:
			if base[i] != leaky[i] {
				t.Errorf("supply %s changed: %v → %v", s.ID, base[i], leaky[i])
			}
			if s.From == HeaderNode(meter.SourceSurface) {
				supplied += base[i]
			}
		}
	}
	in := p.intake[meter.SourceSurface]
	if d := leaky[in] - base[in]; math.Abs(d-0.12*supplied) > 1e-9*supplied {
		t.Errorf("intake rose by %.3f, want %.3f", d, 0.12*supplied)
	}
	if b := p.BalanceOf(leaky); math.Abs(b.Error()) > 1e-12 {
		t.Errorf("leaky balance error %g", b.Error())
	}
}

func TestProfiles(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2026, 4, d, h, 0, 0, 0, ChinaTime) } // 2026-04-15 is a Wednesday
	dye := Templates["dyeing"].Production
	if dye.At(day(15, 3), 1) >= dye.At(day(15, 11), 1) {
		t.Error("dyeing: night not below day")
	}
	if dye.At(day(19, 11), 1) >= dye.At(day(15, 11), 1) {
		t.Error("dyeing: Sunday not below Wednesday")
	}
	bj := Templates["baijiu"].Production
	jul := time.Date(2026, 7, 15, 11, 0, 0, 0, ChinaTime)
	if bj.At(jul, 1) >= 0.6*bj.At(day(15, 11), 1) {
		t.Error("baijiu: no summer stop")
	}
	// Pure in time: the same instant gives the same value; keys differ.
	if dye.At(day(15, 11), 42) != dye.At(day(15, 11).UTC(), 42) {
		t.Error("profile depends on the time zone of its argument")
	}
	if dye.At(day(15, 11), 1) == dye.At(day(15, 11), 2) {
		t.Error("different keys give the same noise")
	}
	// Smooth noise: about N(0,1), continuous.
	sum, sq, steps := 0.0, 0.0, 0.0
	const n = 20000
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := SmoothNoise(9, t0, time.Hour)
	for i := 1; i <= n; i++ {
		v := SmoothNoise(9, t0.Add(time.Duration(i)*7*time.Minute), time.Hour)
		sum += v
		sq += v * v
		steps += math.Abs(v - prev)
		prev = v
	}
	mean := sum / n
	sd := math.Sqrt(sq/n - mean*mean)
	if math.Abs(mean) > 0.1 || sd < 0.6 || sd > 1.2 {
		t.Errorf("smooth noise mean %.3f sd %.3f", mean, sd)
	}
	// Independent N(0,1) draws would move by 1.13 on average.
	if steps/n > 0.4 {
		t.Errorf("smooth noise moves by %.2f per 7 min on average: not smooth", steps/n)
	}
	p := mustParams(t)
	if p.AirTemperature(jul, 1) < p.AirTemperature(time.Date(2026, 1, 15, 11, 0, 0, 0, ChinaTime), 1)+10 {
		t.Error("July not warmer than January")
	}
}

func TestBuildRejects(t *testing.T) {
	params := mustParams(t)
	a := Archetype{Key: "x", IntakePerUnit: 1, ReuseRate: 0.5, CapacityMin: 1, CapacityMax: 1}
	wwtp := UnitSpec{ID: "WWTP", Kind: UnitWWTP}
	proc := UnitSpec{ID: "P", Kind: UnitProcess, Source: meter.SourceSurface, Demand: 1, Consumed: 0.1, Recirculation: 1}
	for name, units := range map[string][]UnitSpec{
		"no wwtp":         {proc},
		"dup id":          {proc, proc, wwtp},
		"bad kind":        {{ID: "Q", Kind: "pond"}, wwtp},
		"no source":       {{ID: "P", Kind: UnitProcess, Demand: 1}, wwtp},
		"boiler no demin": {proc, wwtp, {ID: "B", Kind: UnitBoiler, Steam: 1, CycleLoss: 0.1}},
		"steam no boiler": {{ID: "P", Kind: UnitProcess, Source: meter.SourceSurface, Demand: 1, SteamWeight: 1}, wwtp},
		"bad blowdown":    {{ID: "C", Kind: UnitCooling, Source: meter.SourceSurface, Demand: 1, RangeC: 5, Cycles: 3, BlowdownTo: "Z"}, wwtp},
		"cycles 1":        {{ID: "C", Kind: UnitCooling, Source: meter.SourceSurface, Demand: 1, RangeC: 5, Cycles: 1}, wwtp},
		"no recirc":       {{ID: "P", Kind: UnitProcess, Source: meter.SourceSurface, Demand: 1}, wwtp},
		"too much loop":   {{ID: "C", Kind: UnitCooling, Source: meter.SourceSurface, Demand: 1, RangeC: 5, Cycles: 3}, wwtp},
		"bad id":          {{ID: "a b", Kind: UnitWWTP}},
	} {
		if _, err := Build(WaterSystemSpec{Archetype: a, Capacity: 10, Units: units}, params); err == nil {
			t.Errorf("%s: built", name)
		}
	}
}

func BenchmarkFlows(b *testing.B) {
	p := buildArchetype(b, "steel", 0)
	f := make([]float64, len(p.Streams))
	c := Conditions{Production: 0.95, AirC: 24, Office: 1}
	b.ReportAllocs()
	for b.Loop() {
		p.FlowsInto(f, c)
	}
}

func BenchmarkSample(b *testing.B) {
	prov, err := Generate(1, 1)
	if err != nil {
		b.Fatal(err)
	}
	e := prov.Enterprises[0]
	t0 := time.Date(2026, 4, 15, 10, 0, 0, 0, ChinaTime)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.Sample(&prov.Params, t0.Add(time.Duration(i)*time.Second), nil)
		i++
	}
}
