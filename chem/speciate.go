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

// analysisField returns the Analysis field for a column name of elements.csv, or nil.
func analysisField(name string) func(*Analysis) *float64 {
	switch name {
	case "Ca":
		return func(a *Analysis) *float64 { return &a.Ca }
	case "Mg":
		return func(a *Analysis) *float64 { return &a.Mg }
	case "Na":
		return func(a *Analysis) *float64 { return &a.Na }
	case "K":
		return func(a *Analysis) *float64 { return &a.K }
	case "Cl":
		return func(a *Analysis) *float64 { return &a.Cl }
	case "SO4":
		return func(a *Analysis) *float64 { return &a.SO4 }
	case "Alk_CaCO3":
		return func(a *Analysis) *float64 { return &a.Alk }
	case "SiO2":
		return func(a *Analysis) *float64 { return &a.SiO2 }
	case "PO4":
		return func(a *Analysis) *float64 { return &a.PO4 }
	case "NO3":
		return func(a *Analysis) *float64 { return &a.NO3 }
	case "Ba":
		return func(a *Analysis) *float64 { return &a.Ba }
	case "Sr":
		return func(a *Analysis) *float64 { return &a.Sr }
	}
	return nil
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
	intNu    [4]int // nu as a small integer power (0 if not an integer 1..4)
	class    int    // activity-coefficient class (species sharing model, z², å, b)
	fixed    bool   // the free ion of a component that forms no other species
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
	total   [maxComponents]float64
	active  [maxComponents]bool
	unk     [maxComponents]int // unknown index of component, -1 if inactive
	u       [maxComponents]float64
	lnG     []float64 // per activity-coefficient class
	dlnG    []float64 // per class
	gInv    []float64 // 1/γ per class
	kH      []float64 // K·a(H+)^ν per species for the current analysis
	lnm     []float64
	m       []float64
	on      []bool
	expU    [maxComponents]float64
	classes []flatSpecies              // representative of each class (gamma, z2, dha, dhb)
	masterZ []float64                  // charge of each component's master species
	iH, iW  int                        // species indexes of H+ and H2O
	field   []func(*Analysis) *float64 // analysis field of each component
	// fixedComp marks components whose only species is the free master ion (Cl⁻, NO3⁻ in
	// WATEQ4F): their molality is the total, so they need no Newton unknown.
	fixedComp   [maxComponents]bool
	masterOfCmp [maxComponents]int // species index of each component's master species
	jac         [(maxComponents + 1) * (maxComponents + 1)]float64
	res         [maxComponents + 1]float64
	piv         [maxComponents + 1]int
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
		for k := 0; k < f.nc; k++ {
			if v := f.nu[k]; v == math.Trunc(v) && v >= 1 && v <= 4 {
				f.intNu[k] = int(v)
			}
		}
		f.class = -1
		for ci, c := range s.classes {
			if c.gamma == f.gamma && c.z2 == f.z2 && c.dha == f.dha && c.dhb == f.dhb {
				f.class = ci
				break
			}
		}
		if f.class < 0 {
			f.class = len(s.classes)
			s.classes = append(s.classes, f)
		}
		s.sp = append(s.sp, f)
	}
	for _, j := range s.comp {
		z, err := chargeOf(db.Masters[j].Species)
		if err != nil {
			return nil, err
		}
		s.masterZ = append(s.masterZ, z)
	}
	for _, j := range s.comp {
		f := analysisField(db.Masters[j].Column)
		if f == nil {
			return nil, fmt.Errorf("database component %s has no analysis column %q", db.Masters[j].Species, db.Masters[j].Column)
		}
		s.field = append(s.field, f)
	}
	for c, j := range s.comp {
		s.masterOfCmp[c] = db.SpeciesIndex(db.Masters[j].Species)
		if s.masterOfCmp[c] < 0 {
			return nil, fmt.Errorf("master species %s is not defined", db.Masters[j].Species)
		}
		count := 0
		for i := range s.sp {
			for k := 0; k < s.sp[i].nc; k++ {
				if s.sp[i].comp[k] == c {
					count++
				}
			}
		}
		s.fixedComp[c] = count == 1 && j != db.alkComp && s.sp[s.masterOfCmp[c]].alk == 0
	}
	for c := range s.comp {
		if s.fixedComp[c] {
			s.sp[s.masterOfCmp[c]].fixed = true
		}
	}
	s.iH, s.iW = db.SpeciesIndex("H+"), db.SpeciesIndex("H2O")
	if s.iH < 0 || s.iW < 0 {
		return nil, fmt.Errorf("database lacks H+ or H2O species")
	}
	n := len(s.sp)
	s.lnK = make([]float64, n)
	s.lnG = make([]float64, len(s.classes))
	s.dlnG = make([]float64, len(s.classes))
	s.gInv = make([]float64, len(s.classes))
	s.kH = make([]float64, n)
	s.lnm = make([]float64, n)
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

// gammas fills ln γ, d(ln γ)/dI and 1/γ of every activity-coefficient class at ionic strength I.
func (s *Speciator) gammas(I float64) {
	sq := math.Sqrt(I)
	A := s.dhA * math.Ln10
	for i := range s.classes {
		f := &s.classes[i]
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
		s.gInv[i] = math.Exp(-s.lnG[i])
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
		v := *s.field[c](a)
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
		if s.active[c] && !s.fixedComp[c] {
			s.unk[c] = nUnk
			nUnk++
		}
	}
	lnaH := -a.PH * math.Ln10
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
	s.on[s.iW] = false // water is the solvent: its activity is a_w, not a solute
	for i := range s.sp {
		if s.on[i] {
			s.kH[i] = math.Exp(s.lnK[i] + s.sp[i].nuH*lnaH)
		}
	}
	lnaW := 0.0

	// Initial guess: free ions, alkalinity as HCO3⁻.
	I := 0.0
	for c := range s.comp {
		z := s.masterZ[c]
		if c == alkC {
			z = -1
		}
		I += 0.5 * z * z * s.total[c]
	}
	I += 0.5 * math.Exp(lnaH)
	if I < 1e-7 {
		I = 1e-7
	}
	s.gammas(I)
	s.initialGuess(alkC)

	converged := false
	iter := 0
	for ; iter < s.maxIter; iter++ {
		s.gammas(I)
		sumM, halfZ2 := s.evaluate(lnaW)
		prevW := lnaW
		lnaW = math.Log(1 - s.water.awFactor*sumM)
		awSteady := math.Abs(lnaW-prevW) < 1e-9
		if s.assemble(n, iI, I, halfZ2) && iter > 0 {
			converged = true
			break
		}
		if !solveLinear(s.jac[:n*n], s.res[:n], s.piv[:n], n) {
			return fmt.Errorf("%w: singular Jacobian", ErrNoConvergence)
		}
		// Limit each step to a factor of 10 in activity and 2 in ionic strength.
		maxStep := 0.0
		for c := 0; c < nc; c++ {
			if s.unk[c] >= 0 {
				maxStep = math.Max(maxStep, math.Abs(s.res[s.unk[c]]))
			}
		}
		damp := 1.0
		if maxStep > math.Ln10 {
			damp = math.Ln10 / maxStep
		}
		for c := 0; c < nc; c++ {
			if s.unk[c] >= 0 {
				s.u[c] += damp * s.res[s.unk[c]]
			}
		}
		dI := damp * s.res[iI]
		switch {
		case I+dI < 0.5*I:
			I *= 0.5
		case I+dI > 2*I:
			I *= 2
		default:
			I += dI
		}
		if alkC >= 0 && s.active[alkC] && s.u[alkC] < -150 {
			return ErrAlkalinity
		}
		if math.IsNaN(I) {
			return fmt.Errorf("%w: ionic strength is NaN", ErrNoConvergence)
		}
		// Newton converges quadratically: once a full step is this small the next residual
		// is far below the tolerance, so evaluate the species once more and stop.
		if damp == 1 && awSteady && maxStep < 1e-5 && math.Abs(dI) < 1e-5*I {
			s.gammas(I)
			sumM, _ = s.evaluate(lnaW)
			lnaW = math.Log(1 - s.water.awFactor*sumM)
			converged = true
			iter++
			break
		}
	}
	if !converged {
		return fmt.Errorf("%w after %d iterations", ErrNoConvergence, iter)
	}
	s.fill(a, r, I, lnaH, lnaW, kgw, iter)
	return nil
}

// evaluate computes the molality of every active species from the current free activities and
// activity coefficients; it returns Σm and ½Σz²m. Species are products of powers of the
// component activities, so only one exponential per component and per activity class is needed.
func (s *Speciator) evaluate(lnaW float64) (sumM, halfZ2 float64) {
	for c := range s.comp {
		switch {
		case !s.active[c]:
		case s.fixedComp[c]:
			k := s.masterOfCmp[c]
			s.expU[c] = s.total[c] / (s.kH[k] * s.gInv[s.sp[k].class])
			s.u[c] = math.Log(s.expU[c])
		default:
			s.expU[c] = math.Exp(s.u[c])
		}
	}
	aW := math.Exp(lnaW)
	for i := range s.sp {
		if !s.on[i] {
			s.m[i] = 0
			continue
		}
		f := &s.sp[i]
		mi := s.kH[i] * s.gInv[f.class]
		switch f.nuW {
		case 0:
		case 1:
			mi *= aW
		case -1:
			mi /= aW
		default:
			mi *= math.Pow(aW, f.nuW)
		}
		for k := 0; k < f.nc; k++ {
			a := s.expU[f.comp[k]]
			switch f.intNu[k] {
			case 1:
				mi *= a
			case 2:
				mi *= a * a
			case 3:
				mi *= a * a * a
			case 4:
				mi *= a * a * a * a
			default:
				mi *= math.Exp(f.nu[k] * s.u[f.comp[k]])
			}
		}
		s.m[i] = mi
		sumM += mi
		halfZ2 += 0.5 * f.z2 * mi
	}
	return sumM, halfZ2
}

// assemble builds the Newton system J·Δ = −R for the mass balances, the alkalinity balance and
// the ionic-strength definition at the current molalities; it reports whether every residual
// is already within tolerance. Unknowns are ln a of the active components and I.
func (s *Speciator) assemble(n, iI int, I, halfZ2 float64) bool {
	for k := 0; k < n*n; k++ {
		s.jac[k] = 0
	}
	for k := 0; k < n; k++ {
		s.res[k] = 0
	}
	var scale [maxComponents]float64
	for i := range s.sp {
		mi := s.m[i]
		if mi == 0 {
			continue
		}
		f := &s.sp[i]
		dI := -mi * s.dlnG[f.class] // ∂m/∂I
		if f.fixed {
			continue // a fixed component's free ion: m = total whatever the unknowns
		}
		for r := 0; r < f.nr; r++ {
			row := s.unk[f.row[r]]
			if row < 0 {
				continue // e.g. the alkalinity row of OH⁻ when the water has no alkalinity
			}
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
	for c := range s.comp {
		if s.unk[c] < 0 {
			continue
		}
		row := s.unk[c]
		s.res[row] -= s.total[c]
		if math.Abs(s.res[row]) > s.tol*math.Max(s.total[c], scale[c]) {
			done = false
		}
	}
	for k := 0; k < n; k++ {
		s.res[k] = -s.res[k]
	}
	return done
}

// initialGuess sets the free activities so that each component's acid-base species alone
// (free ion, protonated and hydrolysed forms, without ion pairs) carry its total; for the
// carbonate component their alkalinity carries the total alkalinity.
func (s *Speciator) initialGuess(alkC int) {
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
			sum[c] += w * s.kH[i] * s.gInv[f.class]
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
		r.LogGamma[i] = s.lnG[f.class] / math.Ln10
		if !s.on[i] {
			r.LogActivity[i] = math.Inf(-1)
			continue
		}
		r.LogActivity[i] = math.Log10(s.m[i]) + r.LogGamma[i]
		if f.z > 0 {
			cat += f.z * s.m[i]
		} else {
			an -= f.z * s.m[i]
		}
	}
	r.LogActivity[s.iH] = lnaH / math.Ln10
	r.Molality[s.iW] = 0
	r.LogActivity[s.iW] = lnaW / math.Ln10
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
