package plant

import (
	"testing"

	"github.com/shuixiao/shuixiao/reuse"
)

// TestUFFoulingUnderSequence runs the reuse UF sequence on the fouling model for 20 days and
// checks the sequence keeps TMP below the module maximum with backwashes and CEBs.
func TestUFFoulingUnderSequence(t *testing.T) {
	m, err := reuse.LoadMembranes()
	if err != nil {
		t.Fatal(err)
	}
	th, err := reuse.LoadThresholds()
	if err != nil {
		t.Fatal(err)
	}
	c, err := reuse.UFConfigFrom(th)
	if err != nil {
		t.Fatal(err)
	}
	c.BackwashDurationS, c.CEBDurationS, c.CIPDurationS, c.SettleS, c.StaleAfterS, c.PlausibleTMPMax = 60, 900, 4*3600, 60, 120, 5
	p := UFParams{AreaM2: 2000, CleanResistance: 2e12, CakePerM: 4e11, ChemicalShare: 0.1, IrreversibleShare: 0.05, BackwashRecovery: 0.9}
	const q, tempC, dt = 120.0, 15.0, 10.0
	perf, err := m.UF(reuse.UFReading{FiltrateFlow: q, Area: p.AreaM2, FeedIn: p.TMP(m, UFState{}, q, tempC), FeedOut: p.TMP(m, UFState{}, q, tempC), TempC: tempC})
	if err != nil {
		t.Fatal(err)
	}
	c.BaselineL20 = perf.Perm20
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	var s UFState
	var us reuse.UFState
	counts := map[reuse.UFMode]int{}
	prev := reuse.UFFiltering
	maxTMP := 0.0
	for k := 0; k < 20*8640; k++ {
		tmp := p.TMP(m, s, q, tempC)
		if tmp > maxTMP {
			maxTMP = tmp
		}
		pf, err := m.UF(reuse.UFReading{FiltrateFlow: q, Area: p.AreaM2, FeedIn: tmp, FeedOut: tmp, TempC: tempC})
		if err != nil {
			t.Fatal(err)
		}
		var out reuse.UFOutput
		us, out, _ = c.Step(us, reuse.UFInput{TMP: reuse.Reading{Value: tmp, Valid: true}, L20: reuse.Reading{Value: pf.Perm20, Valid: true}}, dt)
		if out.Mode != prev {
			counts[out.Mode]++
			prev = out.Mode
		}
		s = p.Step(s, out.Mode, q, 1, dt)
	}
	t.Logf("20 days: %d backwashes, %d CEBs, %d CIPs, max TMP %.2f bar", counts[reuse.UFBackwash], counts[reuse.UFCEB], counts[reuse.UFCIP], maxTMP)
	if counts[reuse.UFBackwash] < 500 || counts[reuse.UFCEB] < 5 {
		t.Errorf("sequence too idle: %v", counts)
	}
	if maxTMP >= c.TMPMax {
		t.Errorf("TMP reached the module maximum %.2f bar", maxTMP)
	}
}

func TestROFoulingAndCleaning(t *testing.T) {
	f := ROFouling{FlowDeclinePerDay: 0.005, SPRisePerDay: 0.003, DPRisePerDay: 0.004, CleanRecovery: 0.8}
	s := NewRO()
	for d := 0; d < 30; d++ {
		s = f.Step(s, 86400)
	}
	if s.Permeability > 0.87 || s.Permeability < 0.85 || s.SaltPassage < 1.09 {
		t.Errorf("after 30 days %+v", s)
	}
	c := f.Clean(s)
	if !(c.Permeability > s.Permeability && c.Permeability < 1 && c.SaltPassage < s.SaltPassage) {
		t.Errorf("clean %+v from %+v", c, s)
	}
}
