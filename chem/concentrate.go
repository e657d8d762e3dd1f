package chem

import (
	"errors"
	"fmt"
	"math"
)

// PHAssumption says how the pH of a concentrated water is obtained.
type PHAssumption int

const (
	// PHGiven uses Concentration.PH (a measured basin or concentrate pH), or keeps the feed pH
	// when that is zero.
	PHGiven PHAssumption = iota
	// PHClosedSystem conserves total inorganic carbon: TIC scales with the concentration
	// factor and no CO2 is exchanged (a tight, vented-to-nothing system).
	PHClosedSystem
	// PHConstantCO2 keeps the CO2 concentration of the feed while alkalinity scales: the RO
	// rule of ASTM D3739/D4582 practice (membranes pass CO2, reject bicarbonate).
	PHConstantCO2
	// PHCO2Equilibrium degasses to the partial pressure Concentration.LogPCO2 (log atm; the
	// table value log_pco2_atmosphere when zero). This is an assumption: real cooling towers
	// run above atmospheric equilibrium, often by 0.2-0.5 pH units below it.
	PHCO2Equilibrium
)

// Concentration describes concentrating a water by evaporation (cycles) or by a membrane
// (recovery): every dissolved constituent and the alkalinity scale by Factor.
type Concentration struct {
	Factor  float64      // concentration factor: cycles N, or 1/(1−Y) for recovery Y
	PHRule  PHAssumption // how to obtain the pH of the concentrate
	PH      float64      // for PHGiven; 0 keeps the feed pH
	LogPCO2 float64      // for PHCO2Equilibrium; 0 uses the table value
	TempC   *float64     // temperature of the concentrate; nil keeps the feed temperature
}

// RecoveryFactor is the concentration factor of an RO concentrate at recovery y (0 ≤ y < 1),
// assuming full rejection: CF = 1/(1 − y).
func RecoveryFactor(y float64) (float64, error) {
	if math.IsNaN(y) || y < 0 || y >= 1 {
		return 0, fmt.Errorf("recovery %g outside [0, 1)", y)
	}
	return 1 / (1 - y), nil
}

// ComponentTotal returns the total molality of a master species (e.g. "CO3-2" for inorganic
// carbon) summed over all species that contain it.
func (r *Result) ComponentTotal(master string) float64 {
	j := -1
	for k, m := range r.db.Masters {
		if m.Species == master {
			j = k
		}
	}
	if j < 0 {
		return 0
	}
	var t float64
	for i, sp := range r.db.Species {
		if c := sp.Masters[j]; c != 0 && r.Molality[i] > 0 {
			t += c * r.Molality[i]
		}
	}
	return t
}

// Concentrate concentrates feed by c.Factor, works out the pH of the concentrate by c.PHRule,
// and returns the concentrated analysis with its speciation.
func (s *Speciator) Concentrate(feed Analysis, c Concentration) (Analysis, *Result, error) {
	if math.IsNaN(c.Factor) || c.Factor < 1 || c.Factor > 1000 {
		return Analysis{}, nil, fmt.Errorf("concentration factor %g outside [1, 1000]", c.Factor)
	}
	fr, err := s.Speciate(feed)
	if err != nil {
		return Analysis{}, nil, fmt.Errorf("speciate feed: %w", err)
	}
	out := feed
	f := c.Factor
	out.Ca, out.Mg, out.Na, out.K, out.Cl, out.SO4 = f*feed.Ca, f*feed.Mg, f*feed.Na, f*feed.K, f*feed.Cl, f*feed.SO4
	out.Alk, out.SiO2, out.PO4, out.NO3, out.Ba, out.Sr = f*feed.Alk, f*feed.SiO2, f*feed.PO4, f*feed.NO3, f*feed.Ba, f*feed.Sr
	if c.TempC != nil {
		out.TempC = *c.TempC
	}
	var target func(r *Result) float64 // log of the conserved quantity; decreasing in pH
	var want float64
	switch c.PHRule {
	case PHGiven:
		if c.PH != 0 {
			out.PH = c.PH
		}
		r, err := s.Speciate(out)
		if err != nil {
			return out, nil, fmt.Errorf("speciate concentrate: %w", err)
		}
		return out, r, nil
	case PHClosedSystem:
		// mol of carbon per litre of solution.
		want = math.Log10(f * fr.ComponentTotal("CO3-2") * fr.MassWater)
		target = func(r *Result) float64 { return math.Log10(r.ComponentTotal("CO3-2") * r.MassWater) }
	case PHConstantCO2:
		want = math.Log10(fr.Molal("CO2"))
		target = func(r *Result) float64 { return math.Log10(r.Molal("CO2")) }
	case PHCO2Equilibrium:
		lp := c.LogPCO2
		if lp == 0 {
			lp = s.db.Coef["log_pco2_atmosphere"].Value
		}
		want = lp
		target = func(r *Result) float64 { return r.SI("CO2(g)") }
	default:
		return out, nil, fmt.Errorf("unknown pH rule %d", c.PHRule)
	}
	if feed.Alk <= 0 {
		return out, nil, fmt.Errorf("pH rule %d needs a positive alkalinity", c.PHRule)
	}
	r := s.NewResult()
	lo, hi := 3.0, 12.5
	for it := 0; it < 48 && hi-lo > 1e-6; it++ {
		out.PH = 0.5 * (lo + hi)
		err := s.SpeciateInto(&out, r)
		switch {
		case errors.Is(err, ErrAlkalinity):
			hi = out.PH // hydroxide alone exceeds the alkalinity: pH is lower
			continue
		case err != nil:
			return out, nil, fmt.Errorf("speciate concentrate at pH %.3f: %w", out.PH, err)
		}
		if target(r) > want {
			lo = out.PH
		} else {
			hi = out.PH
		}
	}
	out.PH = math.Round(0.5*(lo+hi)*1e5) / 1e5
	if out.PH <= 3.0001 || out.PH >= 12.4999 {
		return out, nil, fmt.Errorf("no concentrate pH in 3-12.5 satisfies the pH rule")
	}
	if err := s.SpeciateInto(&out, r); err != nil {
		return out, nil, fmt.Errorf("speciate concentrate: %w", err)
	}
	return out, r, nil
}
