package chem

import (
	"errors"
	"fmt"
	"math"
)

// Analysis is a water analysis as a laboratory or an online analyser reports it.
// Concentrations are mg/L; zero means "not present / not measured".
type Analysis struct {
	TempC float64 // sample temperature, °C
	PH    float64 // measured at TempC
	Ca    float64 // mg/L as Ca
	Mg    float64 // mg/L as Mg
	Na    float64 // mg/L as Na
	K     float64 // mg/L as K
	Cl    float64 // mg/L as Cl
	SO4   float64 // mg/L as SO4
	Alk   float64 // total (M) alkalinity, mg/L as CaCO3
	SiO2  float64 // mg/L as SiO2
	PO4   float64 // mg/L as PO4
	NO3   float64 // mg/L as NO3
	Ba    float64 // mg/L as Ba (optional)
	Sr    float64 // mg/L as Sr (optional)
	// Density is the solution density in kg/L used to convert mg/L to mol/kg water;
	// 0 means 1.0, as PHREEQC assumes by default.
	Density float64
}

// columns returns the analysis concentrations keyed by the column names of elements.csv.
func (a *Analysis) column(name string) float64 {
	switch name {
	case "Ca":
		return a.Ca
	case "Mg":
		return a.Mg
	case "Na":
		return a.Na
	case "K":
		return a.K
	case "Cl":
		return a.Cl
	case "SO4":
		return a.SO4
	case "Alk_CaCO3":
		return a.Alk
	case "SiO2":
		return a.SiO2
	case "PO4":
		return a.PO4
	case "NO3":
		return a.NO3
	case "Ba":
		return a.Ba
	case "Sr":
		return a.Sr
	}
	return 0
}

// Validate reports the first impossible value in the analysis.
func (a *Analysis) Validate() error {
	if math.IsNaN(a.TempC) || a.TempC < 0 || a.TempC > 100 {
		return fmt.Errorf("temperature %g °C outside 0-100 °C", a.TempC)
	}
	if math.IsNaN(a.PH) || a.PH < 0 || a.PH > 14 {
		return fmt.Errorf("pH %g outside 0-14", a.PH)
	}
	fields := []struct {
		name string
		v    float64
	}{{"Ca", a.Ca}, {"Mg", a.Mg}, {"Na", a.Na}, {"K", a.K}, {"Cl", a.Cl}, {"SO4", a.SO4},
		{"Alk_CaCO3", a.Alk}, {"SiO2", a.SiO2}, {"PO4", a.PO4}, {"NO3", a.NO3}, {"Ba", a.Ba}, {"Sr", a.Sr}}
	var sum float64
	for _, f := range fields {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return fmt.Errorf("%s = %g mg/L: concentration must be a non-negative number", f.name, f.v)
		}
		sum += f.v
	}
	if a.Density < 0 || a.Density > 2 || math.IsNaN(a.Density) {
		return fmt.Errorf("density %g kg/L outside 0-2", a.Density)
	}
	if sum > 350000 {
		return fmt.Errorf("total dissolved solids %g mg/L exceed 350 g/L", sum)
	}
	return nil
}

// ActivityModel selects the activity-coefficient equations.
type ActivityModel int

const (
	// WATEQDebyeHuckel uses the database's WATEQ parameters (PHREEQC with wateq4f.dat).
	WATEQDebyeHuckel ActivityModel = iota
	// DaviesOnly uses the Davies equation for every charged species.
	DaviesOnly
)

// Result is the speciation of one analysis. Slices are indexed like Database.Species and
// Database.Phases; a Result is reused across calls by Speciator.SpeciateInto.
type Result struct {
	TempC         float64
	PH            float64
	IonicStrength float64 // mol/kg water
	ActivityWater float64
	MassWater     float64 // kg of water per litre of solution
	// Cations and Anions are the sums of z·m over positive and negative species (eq/kg water);
	// ChargeErrorPercent is 100·(Cations − Anions)/(Cations + Anions), as PHREEQC prints it.
	Cations, Anions    float64
	ChargeErrorPercent float64
	Iterations         int
	Molality           []float64 // mol/kg water
	LogActivity        []float64
	LogGamma           []float64
	SaturationIndex    []float64 // log(IAP/K); NaN when a component of the phase is absent
	db                 *Database
}

// SI returns the saturation index of a phase by name (NaN if unknown or not applicable).
func (r *Result) SI(phase string) float64 {
	i := r.db.PhaseIndex(phase)
	if i < 0 {
		return math.NaN()
	}
	return r.SaturationIndex[i]
}

// Molal returns the molality of a species by name (0 if unknown).
func (r *Result) Molal(species string) float64 {
	i := r.db.SpeciesIndex(species)
	if i < 0 {
		return 0
	}
	return r.Molality[i]
}

// LogAct returns log10 activity of a species by name (-Inf if unknown or absent).
func (r *Result) LogAct(species string) float64 {
	i := r.db.SpeciesIndex(species)
	if i < 0 {
		return math.Inf(-1)
	}
	return r.LogActivity[i]
}

// maxComponents bounds the number of analysis components a database may carry.
const maxComponents = 16

// flatSpecies is a species prepared for the Newton loop.
type flatSpecies struct {
	z2       float64
	z        float64
	gamma    GammaModel
	dha, dhb float64
	alk      float64
	nuH, nuW float64
	nc       int
	comp     [4]int
	nu       [4]float64
	// rows of the Jacobian this species contributes to, with weights.
	nr     int
	row    [5]int
	weight [5]float64
}

// ErrNoConvergence is returned when the Newton iteration does not converge.
var ErrNoConvergence = errors.New("speciation did not converge")

// ErrAlkalinity is returned when the alkalinity is below what OH⁻, silicate and phosphate
// alone carry at the given pH, so no non-negative carbonate concentration satisfies it.
var ErrAlkalinity = errors.New("alkalinity is inconsistent with pH (less than the non-carbonate alkalinity)")

// Speciator solves speciation problems with preallocated workspace. It is not safe for
// concurrent use; create one per goroutine (they may share the Database).
type Speciator struct {
	db       *Database
	water    waterModel
	model    ActivityModel
	maxIter  int
	tol      float64
	comp     []int // master index of each analysis component
	sp       []flatSpecies
	lastT    float64
	lnK      []float64
	phaseLK  []float64
	dhA, dhB float64

	// workspace
	total  [maxComponents]float64
	active [maxComponents]bool
	unk    [maxComponents]int // unknown index of component, -1 if inactive
	u      [maxComponents]float64
	lnG    []float64
	dlnG   []float64
	m      []float64
	on     []bool
	jac    [(maxComponents + 1) * (maxComponents + 1)]float64
	res    [maxComponents + 1]float64
	piv    [maxComponents + 1]int
}

// SpeciatorOption configures a Speciator.
type SpeciatorOption func(*Speciator)

// WithActivityModel selects the activity-coefficient model (default WATEQDebyeHuckel).
func WithActivityModel(m ActivityModel) SpeciatorOption { return func(s *Speciator) { s.model = m } }

// WithTolerance sets the relative convergence tolerance of the mass balances (default 1e-11).
func WithTolerance(tol float64) SpeciatorOption { return func(s *Speciator) { s.tol = tol } }

// NewSpeciator prepares a speciation engine for db.
func NewSpeciator(db *Database, opts ...SpeciatorOption) (*Speciator, error) {
	w, err := newWaterModel(db.Coef)
	if err != nil {
		return nil, err
	}
	s := &Speciator{db: db, water: w, maxIter: 200, tol: 1e-11, lastT: math.NaN()}
	for _, o := range opts {
		o(s)
	}
	compOf := make([]int, len(db.Masters))
	for j, m := range db.Masters {
		compOf[j] = -1
		if m.Column != "" {
			compOf[j] = len(s.comp)
			s.comp = append(s.comp, j)
		}
	}
	if len(s.comp) > maxComponents {
		return nil, fmt.Errorf("database has %d components, at most %d supported", len(s.comp), maxComponents)
	}
	alkC := compOf[db.alkComp]
	for _, sp := range db.Species {
		f := flatSpecies{z: sp.Charge, z2: sp.Charge * sp.Charge, gamma: sp.Gamma, dha: sp.DHA, dhb: sp.DHB, alk: sp.Alkalinity}
		if s.model == DaviesOnly && sp.Gamma == GammaWATEQ {
			if sp.Charge != 0 {
				f.gamma = GammaDavies
			} else {
				f.gamma, f.dhb = GammaSetschenow, 0
			}
		}
		for j, c := range sp.Masters {
			switch {
			case c == 0:
			case j == db.hIndex:
				f.nuH = c
			case j == db.wIndex:
				f.nuW = c
			default:
				if f.nc == len(f.comp) {
					return nil, fmt.Errorf("species %s has more than %d components", sp.Name, len(f.comp))
				}
				f.comp[f.nc], f.nu[f.nc] = compOf[j], c
				f.nc++
			}
		}
		for k := 0; k < f.nc; k++ {
			if f.comp[k] != alkC {
				f.row[f.nr], f.weight[f.nr] = f.comp[k], f.nu[k]
				f.nr++
			}
		}
		if f.alk != 0 {
			f.row[f.nr], f.weight[f.nr] = alkC, f.alk
			f.nr++
		}
		s.sp = append(s.sp, f)
	}
	n := len(s.sp)
	s.lnK = make([]float64, n)
	s.lnG = make([]float64, n)
	s.dlnG = make([]float64, n)
	s.m = make([]float64, n)
	s.on = make([]bool, n)
	s.phaseLK = make([]float64, len(db.Phases))
	return s, nil
}

// Database returns the database the speciator uses.
func (s *Speciator) Database() *Database { return s.db }

// NewResult allocates a Result sized for this speciator's database.
func (s *Speciator) NewResult() *Result {
	return &Result{
		Molality:        make([]float64, len(s.sp)),
		LogActivity:     make([]float64, len(s.sp)),
		LogGamma:        make([]float64, len(s.sp)),
		SaturationIndex: make([]float64, len(s.db.Phases)),
		db:              s.db,
	}
}

// Speciate computes the speciation of a; it allocates the Result.
func (s *Speciator) Speciate(a Analysis) (*Result, error) {
	r := s.NewResult()
	if err := s.SpeciateInto(&a, r); err != nil {
		return nil, err
	}
	return r, nil
}

// setTemperature evaluates all log K (as ln K) and the Debye-Hückel parameters at tempC,
// reusing the previous values when the temperature has not changed.
func (s *Speciator) setTemperature(tempC float64) {
	if tempC == s.lastT {
		return
	}
	for i := range s.sp {
		s.lnK[i] = s.db.LogK(i, tempC) * math.Ln10
	}
	for i := range s.db.Phases {
		s.phaseLK[i] = s.db.PhaseLogK(i, tempC)
	}
	s.dhA, s.dhB = s.water.debyeHuckel(tempC)
	s.lastT = tempC
}

// gammas fills ln γ and d(ln γ)/dI of the active species at ionic strength I.
func (s *Speciator) gammas(I float64) {
	sq := math.Sqrt(I)
	A := s.dhA * math.Ln10
	for i := range s.sp {
		if !s.on[i] {
			continue
		}
		f := &s.sp[i]
		switch f.gamma {
		case GammaWATEQ:
			d := 1 + f.dha*s.dhB*sq
			s.lnG[i] = -A*f.z2*sq/d + f.dhb*math.Ln10*I
			s.dlnG[i] = -A*f.z2/(2*sq*d*d) + f.dhb*math.Ln10
		case GammaDavies:
			s.lnG[i] = -A * f.z2 * (sq/(1+sq) - s.water.daviesLinear*I)
			s.dlnG[i] = -A * f.z2 * (1/(2*sq*(1+sq)*(1+sq)) - s.water.daviesLinear)
		case GammaSetschenow:
			s.lnG[i] = f.dhb * math.Ln10 * I
			s.dlnG[i] = f.dhb * math.Ln10
		default:
			s.lnG[i], s.dlnG[i] = 0, 0
		}
	}
}

// SpeciateInto computes the speciation of a into r without allocating.
func (s *Speciator) SpeciateInto(a *Analysis, r *Result) error {
	if err := a.Validate(); err != nil {
		return err
	}
	db := s.db
	s.setTemperature(a.TempC)
	dens := a.Density
	if dens == 0 {
		dens = 1
	}
	// mg/L → mol/kg water the way PHREEQC converts "units mg/L": the water mass per litre is
	// the solution mass minus the mass of the solutes as reported.
	var solutes float64
	for c, j := range s.comp {
		v := a.column(db.Masters[j].Column)
		solutes += v
		s.total[c] = v / dens / 1000 / db.Masters[j].FormulaWeight
	}
	kgw := 1 - 1e-6*solutes/dens
	if kgw <= 0.5 {
		return fmt.Errorf("solutes %g mg/L leave too little water for the ion-association model", solutes)
	}
	nc := len(s.comp)
	alkC := -1
	nUnk := 0
	for c, j := range s.comp {
		s.total[c] /= kgw
		s.active[c] = s.total[c] > 0
		s.unk[c] = -1
		if j == db.alkComp {
			alkC = c
		}
		if s.active[c] {
			s.unk[c] = nUnk
			nUnk++
		}
	}
	iI := nUnk // index of the ionic-strength unknown
	n := nUnk + 1
	for i := range s.sp {
		f := &s.sp[i]
		on := true
		for k := 0; k < f.nc; k++ {
			on = on && s.active[f.comp[k]]
		}
		s.on[i] = on
	}
	if w := db.SpeciesIndex("H2O"); w >= 0 {
		s.on[w] = false // water is the solvent: its activity is a_w, not a solute
	}
	lnaH := -a.PH * math.Ln10
	lnaW := 0.0

	// Initial guess: free ions, alkalinity as HCO3⁻.
	I := 0.0
	for c, j := range s.comp {
		z, _ := chargeOf(db.Masters[j].Species)
		if j == db.alkComp {
			z = -1
		}
		I += 0.5 * z * z * s.total[c]
	}
	I += 0.5 * math.Exp(lnaH)
	if I < 1e-7 {
		I = 1e-7
	}
	s.gammas(I)
	s.initialGuess(alkC, lnaH)

	converged := false
	iter := 0
	for ; iter < s.maxIter; iter++ {
		s.gammas(I)
		for k := 0; k < n*n; k++ {
			s.jac[k] = 0
		}
		for k := 0; k < n; k++ {
			s.res[k] = 0
		}
		var sumM, halfZ2 float64
		var scale [maxComponents]float64
		for i := range s.sp {
			if !s.on[i] {
				s.m[i] = 0
				continue
			}
			f := &s.sp[i]
			lnm := s.lnK[i] + f.nuH*lnaH + f.nuW*lnaW - s.lnG[i]
			for k := 0; k < f.nc; k++ {
				lnm += f.nu[k] * s.u[f.comp[k]]
			}
			mi := math.Exp(lnm)
			s.m[i] = mi
			sumM += mi
			hz := 0.5 * f.z2 * mi
			halfZ2 += hz
			dI := -mi * s.dlnG[i] // ∂m/∂I
			for r := 0; r < f.nr; r++ {
				row := s.unk[f.row[r]]
				w := f.weight[r]
				s.res[row] += w * mi
				scale[f.row[r]] += math.Abs(w * mi)
				base := row * n
				for k := 0; k < f.nc; k++ {
					s.jac[base+s.unk[f.comp[k]]] += w * f.nu[k] * mi
				}
				s.jac[base+iI] += w * dI
			}
			if f.z2 != 0 {
				base := iI * n
				for k := 0; k < f.nc; k++ {
					s.jac[base+s.unk[f.comp[k]]] += 0.5 * f.z2 * f.nu[k] * mi
				}
				s.jac[base+iI] += 0.5 * f.z2 * dI
			}
		}
		s.res[iI] = halfZ2 - I
		s.jac[iI*n+iI] -= 1
		done := math.Abs(s.res[iI]) <= s.tol*I
		for c := 0; c < nc; c++ {
			if !s.active[c] {
				continue
			}
			row := s.unk[c]
			s.res[row] -= s.total[c]
			if math.Abs(s.res[row]) > s.tol*math.Max(s.total[c], scale[c]) {
				done = false
			}
		}
		lnaW = math.Log(1 - s.water.awFactor*sumM)
		if done && iter > 0 {
			converged = true
			break
		}
		for k := 0; k < n; k++ {
			s.res[k] = -s.res[k]
		}
		if !solveLinear(s.jac[:n*n], s.res[:n], s.piv[:n], n) {
			return fmt.Errorf("%w: singular Jacobian", ErrNoConvergence)
		}
		// Limit each step to a factor of 10 in activity and keep I positive.
		maxStep := 0.0
		for c := 0; c < nc; c++ {
			if s.active[c] {
				maxStep = math.Max(maxStep, math.Abs(s.res[s.unk[c]]))
			}
		}
		damp := 1.0
		if maxStep > math.Ln10 {
			damp = math.Ln10 / maxStep
		}
		for c := 0; c < nc; c++ {
			if s.active[c] {
				s.u[c] += damp * s.res[s.unk[c]]
			}
		}
		dI := damp * s.res[iI]
		if I+dI < 0.5*I {
			I *= 0.5
		} else if I+dI > 2*I {
			I *= 2
		} else {
			I += dI
		}
		if alkC >= 0 && s.active[alkC] && s.u[alkC] < -150 {
			return ErrAlkalinity
		}
		if math.IsNaN(I) {
			return fmt.Errorf("%w: ionic strength is NaN", ErrNoConvergence)
		}
	}
	if !converged {
		return fmt.Errorf("%w after %d iterations", ErrNoConvergence, iter)
	}
	s.fill(a, r, I, lnaH, lnaW, kgw, iter)
	return nil
}

// initialGuess sets the free activities so that each component's acid-base species alone
// (free ion, protonated and hydrolysed forms, without ion pairs) carry its total; for the
// carbonate component their alkalinity carries the total alkalinity.
func (s *Speciator) initialGuess(alkC int, lnaH float64) {
	var sum [maxComponents]float64
	for i := range s.sp {
		f := &s.sp[i]
		if !s.on[i] || f.nc != 1 || f.nu[0] != 1 {
			continue
		}
		c := f.comp[0]
		w := 1.0
		if c == alkC {
			w = f.alk
		}
		if w > 0 {
			sum[c] += w * math.Exp(s.lnK[i]+f.nuH*lnaH-s.lnG[i])
		}
	}
	for c := range s.comp {
		switch {
		case !s.active[c]:
			s.u[c] = math.Inf(-1)
		case sum[c] > 0:
			s.u[c] = math.Log(s.total[c]) - math.Log(sum[c])
		default:
			s.u[c] = math.Log(s.total[c])
		}
	}
}

// fill copies the converged state into r and computes saturation indices.
func (s *Speciator) fill(a *Analysis, r *Result, I, lnaH, lnaW, kgw float64, iter int) {
	r.db = s.db
	r.TempC, r.PH, r.IonicStrength, r.MassWater, r.Iterations = a.TempC, a.PH, I, kgw, iter
	r.ActivityWater = math.Exp(lnaW)
	var cat, an float64
	for i := range s.sp {
		f := &s.sp[i]
		r.Molality[i] = s.m[i]
		r.LogGamma[i] = s.lnG[i] / math.Ln10
		if !s.on[i] {
			r.LogActivity[i] = math.Inf(-1)
			continue
		}
		r.LogActivity[i] = (math.Log(s.m[i]) + s.lnG[i]) / math.Ln10
		if f.z > 0 {
			cat += f.z * s.m[i]
		} else {
			an -= f.z * s.m[i]
		}
	}
	if h := s.db.SpeciesIndex("H+"); h >= 0 {
		r.LogActivity[h] = lnaH / math.Ln10
	}
	if w := s.db.SpeciesIndex("H2O"); w >= 0 {
		r.Molality[w] = 0
		r.LogActivity[w] = lnaW / math.Ln10
	}
	r.Cations, r.Anions = cat, an
	r.ChargeErrorPercent = 100 * (cat - an) / (cat + an)
	for p := range s.db.Phases {
		ph := &s.db.Phases[p]
		ok := true
		for _, k := range ph.needsMass {
			ok = ok && s.on[k] && s.m[k] > 0
		}
		if !ok {
			r.SaturationIndex[p] = math.NaN()
			continue
		}
		iap := 0.0
		for k, sp := range ph.species {
			iap += ph.coefs[k] * r.LogActivity[sp]
		}
		r.SaturationIndex[p] = iap - s.phaseLK[p]
	}
}
