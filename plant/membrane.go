package plant

import (
	"math"

	"github.com/shuixiao/shuixiao/reuse"
)

// UFParams describe UF fouling as three resistances in series (1/m): the clean membrane, a
// backwashable cake, a layer that only chemicals (CEB) remove, and an irreversible part that
// only CIP removes. Each grows with the filtered volume per area in proportion to the feed's
// fouling potential.
type UFParams struct {
	AreaM2            float64
	CleanResistance   float64 // 1/m
	CakePerM          float64 // 1/m of resistance per m (m³/m²) filtered, per unit fouling potential
	ChemicalShare     float64 // fraction of fouling that survives backwash
	IrreversibleShare float64 // fraction of that which survives CEB
	BackwashRecovery  float64 // fraction of the cake removed by one backwash
}

// UFState is the fouling state.
type UFState struct {
	Cake, Chemical, Irreversible float64 // resistances, 1/m
}

// TMP returns the transmembrane pressure (bar) for filtrate flow q (m³/h) at tempC:
// TMP = μ·J·R_total (Darcy), J in m/s.
func (p UFParams) TMP(m *reuse.Membranes, s UFState, q, tempC float64) float64 {
	j := q / 3600 / p.AreaM2
	return m.Viscosity(tempC) * j * (p.CleanResistance + s.Cake + s.Chemical + s.Irreversible) / 1e5
}

// Step advances the fouling over dt seconds in mode (from the reuse UF sequence) with
// filtrate flow q (m³/h) and fouling potential fp (dimensionless, 1 = design feed).
func (p UFParams) Step(s UFState, mode reuse.UFMode, q, fp, dt float64) UFState {
	switch mode {
	case reuse.UFFiltering:
		dv := q * dt / 3600 / p.AreaM2 // m³/m²
		d := p.CakePerM * math.Max(fp, 0) * dv
		s.Cake += d * (1 - p.ChemicalShare)
		s.Chemical += d * p.ChemicalShare * (1 - p.IrreversibleShare)
		s.Irreversible += d * p.ChemicalShare * p.IrreversibleShare
	case reuse.UFBackwash:
		s.Cake *= math.Pow(1-p.BackwashRecovery, dt/60) // full recovery share per minute of backwash
	case reuse.UFCEB:
		s.Cake, s.Chemical = 0, s.Chemical*math.Exp(-dt/300)
	case reuse.UFCIP:
		s.Cake, s.Chemical, s.Irreversible = 0, 0, s.Irreversible*math.Exp(-dt/1800)
	}
	return s
}

// ROFouling is a simple RO decline model: permeability falls and salt passage and ΔP rise
// exponentially towards a fouled limit with time in service; a cleaning restores a share.
type ROFouling struct {
	FlowDeclinePerDay float64 // fractional loss of permeability per day
	SPRisePerDay      float64 // fractional rise of salt passage per day
	DPRisePerDay      float64 // fractional rise of ΔP per day
	CleanRecovery     float64 // fraction of the decline a CIP removes
}

// ROState holds the performance multipliers relative to new membranes.
type ROState struct {
	Permeability, SaltPassage, DiffPressure float64 // 1 = as new
}

// NewRO returns the state of new membranes.
func NewRO() ROState { return ROState{1, 1, 1} }

// Step ages the membranes by dt seconds in service.
func (f ROFouling) Step(s ROState, dt float64) ROState {
	days := dt / 86400
	s.Permeability *= math.Exp(-f.FlowDeclinePerDay * days)
	s.SaltPassage *= math.Exp(f.SPRisePerDay * days)
	s.DiffPressure *= math.Exp(f.DPRisePerDay * days)
	return s
}

// Clean applies a CIP.
func (f ROFouling) Clean(s ROState) ROState {
	r := f.CleanRecovery
	return ROState{s.Permeability + r*(1-s.Permeability), s.SaltPassage - r*(s.SaltPassage-1), s.DiffPressure - r*(s.DiffPressure-1)}
}
