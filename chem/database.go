package chem

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// gasConstantKJ is the molar gas constant in kJ/(mol·K) (CODATA 2018).
const gasConstantKJ = 0.00831446261815324

// kelvinOffset converts °C to K.
const kelvinOffset = 273.15

// referenceTK is the temperature of tabulated log K and ΔH values (25 °C).
const referenceTK = 298.15

// GammaModel says how a species' activity coefficient is computed.
type GammaModel int

const (
	// GammaSetschenow is log γ = b·I for uncharged species (b = 0.1 by default).
	GammaSetschenow GammaModel = iota
	// GammaDavies is the Davies equation, used for charged species without WATEQ parameters.
	GammaDavies
	// GammaWATEQ is the WATEQ Debye-Hückel equation log γ = -A z² √I/(1 + B å √I) + b I.
	GammaWATEQ
	// GammaUnity is γ = 1 (water itself).
	GammaUnity
)

// logKModel is the temperature dependence of one tabulated reaction.
type logKModel struct {
	logK25      float64
	deltaHkJ    float64
	analytic    [6]float64
	hasAnalytic bool
}

// at evaluates log10 K at tk kelvin: the analytic expression when the database gives one,
// otherwise the van 't Hoff equation with constant ΔH (Parkhurst and Appelo 2013 eq. 10).
func (m logKModel) at(tk float64) float64 {
	if m.hasAnalytic {
		a := m.analytic
		return a[0] + a[1]*tk + a[2]/tk + a[3]*math.Log10(tk) + a[4]/(tk*tk) + a[5]*tk*tk
	}
	return m.logK25 - m.deltaHkJ/(gasConstantKJ*math.Ln10)*(1/tk-1/referenceTK)
}

// logKTerm adds coef·(log K of a tabulated reaction) to a species' overall log K.
type logKTerm struct {
	coef float64
	row  int
}

// Species is one aqueous species written as a product of master species.
type Species struct {
	Name       string
	Charge     float64
	Gamma      GammaModel
	DHA, DHB   float64 // WATEQ å (Å) and b, or the Setschenow b for neutral species
	Alkalinity float64 // eq/mol, as PHREEQC defines it from the master species
	// Masters holds the stoichiometric coefficient of each master species (indexed like
	// Database.Masters) in the formation reaction of this species.
	Masters []float64
	terms   []logKTerm
}

// Phase is a mineral (or gas) whose saturation index the speciation reports.
type Phase struct {
	Name      string
	Formula   string
	species   []int // indexes into Database.Species
	coefs     []float64
	row       int // its own tabulated dissolution log K
	needsMass []int
}

// Master is a master species and, for analysis components, how the analysis reports it.
type Master struct {
	Species       string
	Column        string  // analysis column (Ca, SO4, Alk_CaCO3, …); "" for H+ and H2O
	FormulaWeight float64 // g per mol (per eq for alkalinity) of the reported form
	Alkalinity    float64
}

// Database is a thermodynamic database restricted to the species a water analysis needs.
type Database struct {
	Masters []Master
	Species []Species
	Phases  []Phase
	Coef    Coefficients

	logK    []logKModel // tabulated reactions (species rows then phase rows)
	hIndex  int         // master index of H+
	wIndex  int         // master index of H2O
	alkComp int         // master index carrying the alkalinity balance (CO3-2)
	spIndex map[string]int
	phIndex map[string]int
}

// LoadWATEQ4F builds the database from the embedded WATEQ4F tables (data/*.csv).
func LoadWATEQ4F() (*Database, error) {
	coef, err := LoadCoefficients()
	if err != nil {
		return nil, err
	}
	db := &Database{Coef: coef, spIndex: map[string]int{}, phIndex: map[string]int{}, hIndex: -1, wIndex: -1, alkComp: -1}
	if err := db.loadMasters(); err != nil {
		return nil, err
	}
	if err := db.loadSpecies(); err != nil {
		return nil, err
	}
	if err := db.loadPhases(); err != nil {
		return nil, err
	}
	return db, nil
}

func (db *Database) loadMasters() error {
	t, err := readTable("elements.csv")
	if err != nil {
		return err
	}
	for i := range t.rows {
		fw, err := t.float(i, "formula_weight", 0)
		if err != nil {
			return err
		}
		alk, err := t.float(i, "alkalinity", 0)
		if err != nil {
			return err
		}
		m := Master{Species: t.get(i, "master"), Column: t.get(i, "column"), FormulaWeight: fw, Alkalinity: alk}
		switch m.Species {
		case "H+":
			db.hIndex = len(db.Masters)
			m.Column = ""
		case "H2O":
			db.wIndex = len(db.Masters)
			m.Column = ""
		case "CO3-2":
			db.alkComp = len(db.Masters)
		}
		db.Masters = append(db.Masters, m)
	}
	if db.hIndex < 0 || db.wIndex < 0 || db.alkComp < 0 {
		return fmt.Errorf("elements.csv: H+, H2O and CO3-2 master species are required")
	}
	return nil
}

// rawReaction is a tabulated reaction before it is rewritten in master species.
type rawReaction struct {
	defined string
	lhs     []term
	rhs     []term // without the defined species
	row     int
}

func readLogK(t *table, i int) (logKModel, error) {
	var m logKModel
	var err error
	if m.logK25, err = t.float(i, "log_k", 0); err != nil {
		return m, err
	}
	dh, err := t.float(i, "delta_h", 0)
	if err != nil {
		return m, err
	}
	switch t.get(i, "delta_h_unit") {
	case "kcal":
		dh *= 4.184 // thermochemical calorie
	case "kJ", "":
	default:
		return m, fmt.Errorf("table %s row %d: unknown delta_h unit %q", t.name, i+1, t.get(i, "delta_h_unit"))
	}
	m.deltaHkJ = dh
	if s := t.get(i, "analytic"); s != "" {
		f := strings.Fields(s)
		if len(f) > 6 {
			return m, fmt.Errorf("table %s row %d: more than 6 analytic coefficients", t.name, i+1)
		}
		for k, x := range f {
			if m.analytic[k], err = strconv.ParseFloat(x, 64); err != nil {
				return m, fmt.Errorf("table %s row %d analytic: %w", t.name, i+1, err)
			}
		}
		m.hasAnalytic = true
	}
	return m, nil
}

func (db *Database) loadSpecies() error {
	t, err := readTable("wateq4f_species.csv")
	if err != nil {
		return err
	}
	raw := map[string]rawReaction{}
	var order []string
	for i := range t.rows {
		lhs, rhs, err := parseReaction(t.get(i, "reaction"))
		if err != nil {
			return fmt.Errorf("wateq4f_species.csv row %d: %w", i+1, err)
		}
		name := t.get(i, "name")
		if rhs[0].species != name || rhs[0].coef != 1 {
			return fmt.Errorf("wateq4f_species.csv row %d: %s must be the first product", i+1, name)
		}
		lk, err := readLogK(t, i)
		if err != nil {
			return err
		}
		db.logK = append(db.logK, lk)
		raw[name] = rawReaction{defined: name, lhs: lhs, rhs: rhs[1:], row: len(db.logK) - 1}
		order = append(order, name)

		z, err := chargeOf(name)
		if err != nil {
			return err
		}
		sp := Species{Name: name, Charge: z}
		switch a := t.get(i, "dh_a"); {
		case name == "H2O":
			sp.Gamma = GammaUnity
		case a != "":
			sp.Gamma = GammaWATEQ
			if sp.DHA, err = t.float(i, "dh_a", 0); err != nil {
				return err
			}
			if sp.DHB, err = t.float(i, "dh_b", 0); err != nil {
				return err
			}
		case z == 0:
			sp.Gamma = GammaSetschenow
			sp.DHB = db.Coef["setschenow_b"].Value
		default:
			sp.Gamma = GammaDavies
		}
		db.spIndex[name] = len(db.Species)
		db.Species = append(db.Species, sp)
	}
	masterIdx := map[string]int{}
	for j, m := range db.Masters {
		masterIdx[m.Species] = j
	}
	// Rewrite every species in master species, substituting secondary species recursively.
	type resolved struct {
		vec   []float64
		terms []logKTerm
	}
	memo := map[string]resolved{}
	var resolve func(name string, depth int) (resolved, error)
	resolve = func(name string, depth int) (resolved, error) {
		if r, ok := memo[name]; ok {
			return r, nil
		}
		if depth > 10 {
			return resolved{}, fmt.Errorf("species %s: reaction chain too deep", name)
		}
		r := resolved{vec: make([]float64, len(db.Masters))}
		if j, ok := masterIdx[name]; ok {
			r.vec[j] = 1
			memo[name] = r
			return r, nil
		}
		rr, ok := raw[name]
		if !ok {
			return r, fmt.Errorf("species %s is not defined", name)
		}
		r.terms = append(r.terms, logKTerm{coef: 1, row: rr.row})
		add := func(ts []term, sign float64) error {
			for _, tm := range ts {
				sub, err := resolve(tm.species, depth+1)
				if err != nil {
					return err
				}
				for j := range r.vec {
					r.vec[j] += sign * tm.coef * sub.vec[j]
				}
				for _, st := range sub.terms {
					r.terms = append(r.terms, logKTerm{coef: sign * tm.coef * st.coef, row: st.row})
				}
			}
			return nil
		}
		if err := add(rr.lhs, 1); err != nil {
			return r, err
		}
		if err := add(rr.rhs, -1); err != nil {
			return r, err
		}
		memo[name] = r
		return r, nil
	}
	for _, name := range order {
		r, err := resolve(name, 0)
		if err != nil {
			return fmt.Errorf("wateq4f_species.csv: %w", err)
		}
		sp := &db.Species[db.spIndex[name]]
		sp.Masters = r.vec
		sp.terms = r.terms
		var z, alk float64
		for j, c := range r.vec {
			mz, _ := chargeOf(db.Masters[j].Species)
			z += c * mz
			alk += c * db.Masters[j].Alkalinity
		}
		if math.Abs(z-sp.Charge) > 1e-9 {
			return fmt.Errorf("wateq4f_species.csv: species %s: reaction charge %g, name says %g", name, z, sp.Charge)
		}
		sp.Alkalinity = alk
	}
	return nil
}

func (db *Database) loadPhases() error {
	t, err := readTable("wateq4f_phases.csv")
	if err != nil {
		return err
	}
	for i := range t.rows {
		lhs, rhs, err := parseReaction(t.get(i, "reaction"))
		if err != nil {
			return fmt.Errorf("wateq4f_phases.csv row %d: %w", i+1, err)
		}
		lk, err := readLogK(t, i)
		if err != nil {
			return err
		}
		db.logK = append(db.logK, lk)
		p := Phase{Name: t.get(i, "name"), Formula: lhs[0].species, row: len(db.logK) - 1}
		addSp := func(ts []term, sign float64) error {
			for _, tm := range ts {
				k, ok := db.spIndex[tm.species]
				if !ok {
					return fmt.Errorf("wateq4f_phases.csv phase %s: unknown species %s", p.Name, tm.species)
				}
				p.species = append(p.species, k)
				p.coefs = append(p.coefs, sign*tm.coef)
				if tm.species != "H2O" && tm.species != "H+" {
					p.needsMass = append(p.needsMass, k)
				}
			}
			return nil
		}
		if err := addSp(rhs, 1); err != nil {
			return err
		}
		if err := addSp(lhs[1:], -1); err != nil {
			return err
		}
		db.phIndex[p.Name] = len(db.Phases)
		db.Phases = append(db.Phases, p)
	}
	return nil
}

// SpeciesIndex returns the index of a species in Database.Species, or -1.
func (db *Database) SpeciesIndex(name string) int {
	if i, ok := db.spIndex[name]; ok {
		return i
	}
	return -1
}

// PhaseIndex returns the index of a phase in Database.Phases, or -1.
func (db *Database) PhaseIndex(name string) int {
	if i, ok := db.phIndex[name]; ok {
		return i
	}
	return -1
}

// LogK returns log10 K of the formation reaction of species i (from master species) at tempC.
func (db *Database) LogK(i int, tempC float64) float64 {
	tk := tempC + kelvinOffset
	var s float64
	for _, t := range db.Species[i].terms {
		s += t.coef * db.logK[t.row].at(tk)
	}
	return s
}

// PhaseLogK returns log10 K of the dissolution reaction of phase i at tempC.
func (db *Database) PhaseLogK(i int, tempC float64) float64 {
	return db.logK[db.Phases[i].row].at(tempC + kelvinOffset)
}
