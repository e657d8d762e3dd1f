package sim

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/meter"
)

func TestGenerateDeterministic(t *testing.T) {
	a, err := Generate(1, 16)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate(1, 16)
	c, _ := Generate(1, 20)
	d, _ := Generate(2, 16)
	fingerprint := func(p *Province, n int) []string {
		var out []string
		for _, e := range p.Enterprises[:n] {
			out = append(out, e.ID, e.Name, e.Park, e.Archetype.Key, strings.Repeat("x", int(e.System.Capacity)%97))
			for _, pt := range e.Points {
				out = append(out, pt.ID, pt.Meter.ID, pt.Parent, string(pt.Source))
				out = append(out, strings.Repeat("b", int(math.Abs(pt.Meter.Bias)*1e6)%101))
			}
		}
		return out
	}
	if !reflect.DeepEqual(fingerprint(a, 16), fingerprint(b, 16)) {
		t.Fatal("same seed, different province")
	}
	if !reflect.DeepEqual(fingerprint(a, 16), fingerprint(c, 16)) {
		t.Fatal("a larger province does not extend the smaller one")
	}
	if reflect.DeepEqual(fingerprint(a, 16), fingerprint(d, 16)) {
		t.Fatal("seed has no effect")
	}
	if _, err := Generate(1, 0); err == nil {
		t.Fatal("accepted 0 enterprises")
	}
}

func TestProvinceShape(t *testing.T) {
	regions := map[string]bool{}
	for _, r := range meter.HunanRegions() {
		regions[r.Code] = true
	}
	for _, n := range []int{7, 16, 60} {
		p, err := Generate(42, n)
		if err != nil {
			t.Fatal(err)
		}
		groups := map[string]bool{}
		meters := map[string]bool{}
		parks := map[string]meter.Park{}
		for _, pk := range p.Parks {
			parks[pk.ID] = pk
			if !regions[pk.Region] || pk.Name == "" || pk.NameEN == "" {
				t.Errorf("park %+v", pk)
			}
		}
		for _, e := range p.Enterprises {
			groups[e.Archetype.Group] = true
			pk, ok := parks[e.Park]
			if !ok || pk.Region != e.Region {
				t.Errorf("%s: park %s region %s", e.ID, e.Park, e.Region)
			}
			found := false
			for _, code := range pk.Industries {
				found = found || code == e.Industry
			}
			if !found {
				t.Errorf("%s: industry %s not among park %s's %v", e.ID, e.Industry, pk.ID, pk.Industries)
			}
			if _, ok := meter.IndustryByCode(e.Industry); !ok {
				t.Errorf("%s: industry %s unknown", e.ID, e.Industry)
			}
			if !strings.Contains(e.Name, "模拟") || !strings.Contains(e.NameEN, "Sim") {
				t.Errorf("%s: name %q / %q does not say it is simulated", e.ID, e.Name, e.NameEN)
			}
			levels := map[meter.Level]int{}
			stages := map[meter.Stage]int{}
			ids := map[string]bool{}
			for _, pt := range e.Points {
				if err := pt.Validate(); err != nil {
					t.Error(err)
				}
				if pt.Parent != "" && !ids[pt.Parent] {
					t.Errorf("%s: parent %s not before it", pt.ID, pt.Parent)
				}
				ids[pt.ID] = true
				if meters[pt.Meter.ID] {
					t.Errorf("meter %s twice", pt.Meter.ID)
				}
				meters[pt.Meter.ID] = true
				levels[pt.Level]++
				if pt.Level == meter.Level1 {
					stages[pt.Stage]++
				}
				if math.Abs(pt.Meter.Bias) > p.Params.BiasShare*pt.Spec.MPE+1e-12 {
					t.Errorf("%s: bias %v beyond its share of the MPE", pt.Meter.ID, pt.Meter.Bias)
				}
				switch pt.Stage {
				case meter.StageDischarge:
					if pt.Level != meter.Level1 {
						if pt.Spec.Role != RoleWastewater || pt.Parent != "" {
							t.Errorf("%s: level-%d discharge point", pt.ID, pt.Level)
						}
						break
					}
					if pt.Meter.Signed != meter.SignedByGateway || len(pt.Channels) != 7 {
						t.Errorf("%s: outfall with %d channels signed by %s", pt.ID, len(pt.Channels), pt.Meter.Signed)
					}
				case meter.StageSupply:
					parent := e.Points[0]
					for _, q := range e.Points {
						if q.ID == pt.Parent {
							parent = q
						}
					}
					if parent.Stage != meter.StageIntake || pt.Level != meter.Level2 {
						t.Errorf("%s: supply point under %s", pt.ID, parent.ID)
					}
				}
			}
			if levels[meter.Level1] < 2 || levels[meter.Level2] < 3 || levels[meter.Level3] < 2 || stages[meter.StageDischarge] != 1 || stages[meter.StageIntake] < 1 {
				t.Errorf("%s (%s): levels %v stages %v", e.ID, e.Archetype.Key, levels, stages)
			}
		}
		if len(groups) != len(Groups) {
			t.Errorf("n=%d covers groups %v", n, groups)
		}
	}
}

// TestMeteredBalance: over a day the metered level-1 intake exceeds the sum
// of its level-2 children by the background leak plus meter error only —
// inside the 5 % balance tolerance — and an injected leak pushes it past.
func TestMeteredBalance(t *testing.T) {
	p, err := Generate(1, 16)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 4, 15, 0, 0, 0, 0, ChinaTime)
	for _, e := range p.Enterprises {
		for _, leak := range []float64{0, p.Params.LeakInjected} {
			var inj map[meter.Source]float64
			if leak > 0 {
				inj = map[meter.Source]float64{}
				for _, s := range e.System.Sources {
					inj[s] = leak
				}
			}
			vol := e.Volumes(&p.Params, day, day.Add(24*time.Hour), 5*time.Minute, inj)
			metered := map[string]float64{}
			for _, pt := range e.Points {
				metered[pt.ID] = pt.Spec.Flow(vol) * (1 + pt.Meter.Bias)
			}
			for _, pt := range e.Points {
				if pt.Stage != meter.StageIntake {
					continue
				}
				sum := 0.0
				for _, c := range e.Points {
					if c.Parent == pt.ID && c.Stage == meter.StageSupply {
						sum += metered[c.ID]
					}
				}
				unaccounted := (metered[pt.ID] - sum) / metered[pt.ID]
				bound := p.Params.LeakBackgroundMax + 2*p.Params.BiasShare*p.Params.MPEIntake
				switch {
				case leak == 0 && (unaccounted > bound || unaccounted < -2*p.Params.BiasShare*p.Params.MPEIntake || unaccounted > 0.05):
					t.Errorf("%s %s: unaccounted %.2f %% without a leak", e.ID, pt.ID, 100*unaccounted)
				case leak > 0 && unaccounted < 0.05:
					t.Errorf("%s %s: unaccounted %.2f %% with a %.0f %% leak: below the 5 %% tolerance", e.ID, pt.ID, 100*unaccounted, 100*leak)
				}
			}
		}
	}
}

func TestQualityValues(t *testing.T) {
	p, _ := Generate(1, 16)
	t0 := time.Date(2026, 4, 15, 10, 0, 0, 0, ChinaTime)
	for _, e := range p.Enterprises {
		_, samples := e.Sample(&p.Params, t0, nil)
		for i, pt := range e.Points {
			for _, ch := range pt.Channels {
				if ch.Name == "total_m3" || ch.Name == "flow_m3h" {
					continue
				}
				v, ok := samples[i].Quality[ch.Name]
				if !ok || !ch.Plausible(v) {
					t.Errorf("%s %s = %v (present %v)", pt.ID, ch.Name, v, ok)
				}
			}
			if pt.Spec.Role == RoleCoolingLoop {
				u := e.System.Units[e.System.unitIndex(pt.Spec.Unit)]
				cond := samples[i].Quality["cond_us_cm"]
				// N × make-up conductivity, within the noise and the reuse share.
				if cond < 0.5*u.Cycles*MakeupConductivity[u.Source] && cond < 0.5*u.Cycles*e.Template.Reuse.Cond || cond > 1.5*u.Cycles*math.Max(MakeupConductivity[u.Source], e.Template.Reuse.Cond) {
					t.Errorf("%s: circulating conductivity %.0f for N=%.1f", pt.ID, cond, u.Cycles)
				}
			}
			if pt.Spec.Role == RoleDischargeFlow && samples[i].Quality["cod_mg_l"] > 150 {
				t.Errorf("%s: discharge COD %.0f mg/L", pt.ID, samples[i].Quality["cod_mg_l"])
			}
		}
	}
}

// TestAboveScaleMix: the simulated province has enterprises above scale and
// below it, so the reuse-rate target (above scale only) is not everyone's.
func TestAboveScaleMix(t *testing.T) {
	for _, n := range []int{16, 60} {
		p, err := Generate(42, n)
		if err != nil {
			t.Fatal(err)
		}
		above := 0
		for _, e := range p.Enterprises {
			if e.AboveScale {
				above++
			}
		}
		if above == 0 || above == len(p.Enterprises) {
			t.Errorf("%d enterprises: %d above scale, want some but not all", len(p.Enterprises), above)
		}
		t.Logf("%d of %d above scale", above, len(p.Enterprises))
	}
}
