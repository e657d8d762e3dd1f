package cooling

import (
	"fmt"
	"math"
	"sort"

	"github.com/shuixiao/shuixiao/chem"
)

// Limit is an allowed range; a nil bound is open.
type Limit struct {
	Min, Max *float64
}

// QualityLimits are water-quality limits of the circulating water, keyed by quantity: ph,
// ca_hardness_plus_alk, cl, so4_plus_cl, sio2, mg_x_sio2, m_alk (see data/water_quality_limits.csv).
type QualityLimits map[string]Limit

// IndexLimits are upper limits of scaling indices, keyed lsi, si_calcite, si_gypsum,
// si_anhydrite, si_sio2a, si_barite, si_celestite (see data/index_limits.csv).
type IndexLimits map[string]float64

// LoadQualityLimits returns one set of data/water_quality_limits.csv ("gb50050_2017", "gb50050_2007").
func LoadQualityLimits(set string) (QualityLimits, error) {
	h, rows, err := readCSV("water_quality_limits.csv")
	if err != nil {
		return nil, err
	}
	q := QualityLimits{}
	for i, r := range rows {
		if r[h["set"]] != set {
			continue
		}
		var l Limit
		if v, ok, err := optFloat(r[h["min"]]); err != nil {
			return nil, fmt.Errorf("water_quality_limits.csv row %d: %w", i+1, err)
		} else if ok {
			l.Min = &v
		}
		if v, ok, err := optFloat(r[h["max"]]); err != nil {
			return nil, fmt.Errorf("water_quality_limits.csv row %d: %w", i+1, err)
		} else if ok {
			l.Max = &v
		}
		q[r[h["quantity"]]] = l
	}
	if len(q) == 0 {
		return nil, fmt.Errorf("no water-quality limit set %q", set)
	}
	return q, nil
}

// LoadIndexLimits returns the default index limits of data/index_limits.csv.
func LoadIndexLimits() (IndexLimits, error) {
	h, rows, err := readCSV("index_limits.csv")
	if err != nil {
		return nil, err
	}
	l := IndexLimits{}
	for i, r := range rows {
		v, ok, err := optFloat(r[h["max"]])
		if err != nil || !ok {
			return nil, fmt.Errorf("index_limits.csv row %d: bad max", i+1)
		}
		l[r[h["quantity"]]] = v
	}
	return l, nil
}

// CyclesProblem is what the optimiser needs to know about a tower.
type CyclesProblem struct {
	Makeup     chem.Analysis
	BasinTempC float64 // bulk (cold-side) water temperature
	WallTempC  float64 // hottest heat-transfer surface (skin) temperature
	// PHRule and BasinPH say how the basin pH follows the cycles: chem.PHGiven with BasinPH
	// for an acid-controlled tower, chem.PHCO2Equilibrium with LogPCO2 for free degassing, …
	PHRule    chem.PHAssumption
	BasinPH   float64
	LogPCO2   float64
	MinCycles float64 // default 1.5
	MaxCycles float64 // default 15
	Quality   QualityLimits
	Indices   IndexLimits
}

// CyclesEvaluation is the water at one value of the cycles.
type CyclesEvaluation struct {
	Cycles     float64
	Basin      chem.Analysis // concentrated make-up at the basin temperature and pH
	WallPH     float64       // pH at the wall after closed-system heating
	Values     map[string]float64
	Violations []string // limits broken, sorted
}

// Optimizer evaluates cycles with a chem engine; not safe for concurrent use.
type Optimizer struct {
	sp      *chem.Speciator
	classic *chem.Classic
}

// NewOptimizer builds an optimiser on the WATEQ4F database.
func NewOptimizer() (*Optimizer, error) {
	db, err := chem.LoadWATEQ4F()
	if err != nil {
		return nil, err
	}
	sp, err := chem.NewSpeciator(db)
	if err != nil {
		return nil, err
	}
	c, err := chem.NewClassic(db.Coef)
	if err != nil {
		return nil, err
	}
	return &Optimizer{sp: sp, classic: c}, nil
}

// siPhases maps index-limit keys to chem phase names.
var siPhases = map[string]string{"si_calcite": "Calcite", "si_gypsum": "Gypsum", "si_anhydrite": "Anhydrite",
	"si_sio2a": "SiO2(a)", "si_barite": "Barite", "si_celestite": "Celestite"}

// Evaluate concentrates the make-up n times, speciates it at the basin and (after closed
// heating) at the wall, and checks every configured limit. Each saturation index is the worse
// of basin and wall (calcite and the sulfates are worst hot, silica cold).
func (o *Optimizer) Evaluate(p *CyclesProblem, n float64) (CyclesEvaluation, error) {
	ev := CyclesEvaluation{Cycles: n, Values: map[string]float64{}}
	basinT := p.BasinTempC
	basin, br, err := o.sp.Concentrate(p.Makeup, chem.Concentration{Factor: n, PHRule: p.PHRule, PH: p.BasinPH,
		LogPCO2: p.LogPCO2, TempC: &basinT})
	if err != nil {
		return ev, fmt.Errorf("cycles %.2f: basin water: %w", n, err)
	}
	ev.Basin = basin
	wallT := p.WallTempC
	wall, wr, err := o.sp.Concentrate(basin, chem.Concentration{Factor: 1, PHRule: chem.PHClosedSystem, TempC: &wallT})
	if err != nil {
		return ev, fmt.Errorf("cycles %.2f: wall water: %w", n, err)
	}
	ev.WallPH = wall.PH
	for key, phase := range siPhases {
		v := math.Max(br.SI(phase), wr.SI(phase))
		if !math.IsNaN(v) {
			ev.Values[key] = v
		}
	}
	if x, err := o.classic.Compute(&wall); err == nil {
		ev.Values["lsi"] = x.LSI
	}
	const caToCaCO3, mgToCaCO3 = 100.087 / 40.078, 100.087 / 24.305
	ev.Values["ph"] = basin.PH
	ev.Values["ca_hardness_plus_alk"] = basin.Ca*caToCaCO3 + basin.Alk
	ev.Values["m_alk"] = basin.Alk
	ev.Values["cl"] = basin.Cl
	ev.Values["so4_plus_cl"] = basin.SO4 + basin.Cl
	ev.Values["sio2"] = basin.SiO2
	ev.Values["mg_x_sio2"] = basin.Mg * mgToCaCO3 * basin.SiO2
	for key, max := range p.Indices {
		if v, ok := ev.Values[key]; ok && v > max {
			ev.Violations = append(ev.Violations, fmt.Sprintf("%s %.2f > %.2f", key, v, max))
		}
	}
	for key, l := range p.Quality {
		v, ok := ev.Values[key]
		if !ok {
			continue
		}
		if l.Max != nil && v > *l.Max {
			ev.Violations = append(ev.Violations, fmt.Sprintf("%s %.4g > %.4g", key, v, *l.Max))
		}
		if l.Min != nil && v < *l.Min {
			ev.Violations = append(ev.Violations, fmt.Sprintf("%s %.4g < %.4g", key, v, *l.Min))
		}
	}
	sort.Strings(ev.Violations)
	return ev, nil
}

// CyclesResult is the answer of MaxCycles.
type CyclesResult struct {
	Cycles  float64          // highest admissible cycles (to 0.01)
	Binding []string         // the limits that stop higher cycles ("max_cycles" if none)
	At      CyclesEvaluation // the water at Cycles
}

// MaxCycles finds the largest cycles in [MinCycles, MaxCycles] at which no limit is broken:
// a scan in steps of 0.25 to the first violation, then bisection to 0.01 cycles. Indices and
// concentrations rise with cycles, so the first violation bounds the admissible range.
func (o *Optimizer) MaxCycles(p *CyclesProblem) (CyclesResult, error) {
	lo, hi := p.MinCycles, p.MaxCycles
	if lo == 0 {
		lo = 1.5
	}
	if hi == 0 {
		hi = 15
	}
	if !(lo >= 1) || !(hi > lo) || hi > 100 {
		return CyclesResult{}, fmt.Errorf("cycles range [%g, %g] invalid", lo, hi)
	}
	first, err := o.Evaluate(p, lo)
	if err != nil {
		return CyclesResult{}, err
	}
	if len(first.Violations) > 0 {
		return CyclesResult{Cycles: lo, Binding: first.Violations, At: first},
			fmt.Errorf("limits broken already at the minimum cycles %.2f: %v", lo, first.Violations)
	}
	good := first
	badN := math.NaN()
	var bad CyclesEvaluation
	for n := lo + 0.25; n <= hi+1e-9; n += 0.25 {
		ev, err := o.Evaluate(p, n)
		if err != nil {
			return CyclesResult{}, err
		}
		if len(ev.Violations) > 0 {
			badN, bad = n, ev
			break
		}
		good = ev
	}
	if math.IsNaN(badN) {
		last, err := o.Evaluate(p, hi)
		if err != nil {
			return CyclesResult{}, err
		}
		if len(last.Violations) == 0 {
			return CyclesResult{Cycles: hi, Binding: []string{"max_cycles"}, At: last}, nil
		}
		badN, bad = hi, last
	}
	for badN-good.Cycles > 0.01 {
		mid := 0.5 * (good.Cycles + badN)
		ev, err := o.Evaluate(p, mid)
		if err != nil {
			return CyclesResult{}, err
		}
		if len(ev.Violations) > 0 {
			badN, bad = mid, ev
		} else {
			good = ev
		}
	}
	return CyclesResult{Cycles: math.Floor(good.Cycles*100) / 100, Binding: bad.Violations, At: good}, nil
}
