package plant

import (
	"fmt"
	"math"
	"math/rand"
)

// TowerParams are the fixed properties of a tower and its treatment.
type TowerParams struct {
	HoldupM3            float64 // water outside the basin (pipes, exchangers), constant
	BasinM3PerPct       float64 // basin volume per % of level span
	CirculationM3h      float64
	EvapPerM3hC         float64 // evaporation per m³/h of circulation per °C of range (0.00153)
	DriftFraction       float64 // of circulation
	MakeupCapacityM3h   float64 // make-up valve flow when open
	BlowdownCapacityM3h float64 // blowdown flow at full valve opening
	ProductDensity      float64 // kg/L of neat inhibitor product
	TracerPerProduct    float64 // µg/L tracer per mg/L product
	// PolymerLossPerH is the first-order consumption of the tagged polymer (1/h) per unit of
	// Stress; 0 means no scaling stress.
	PolymerLossPerH float64
}

// Validate checks the parameters.
func (p TowerParams) Validate() error {
	if !(p.HoldupM3 > 0 && p.BasinM3PerPct > 0 && p.CirculationM3h > 0 && p.EvapPerM3hC > 0 &&
		p.MakeupCapacityM3h > 0 && p.BlowdownCapacityM3h > 0 && p.ProductDensity > 0 && p.TracerPerProduct > 0) ||
		p.DriftFraction < 0 || p.PolymerLossPerH < 0 {
		return fmt.Errorf("tower parameters must be positive: %+v", p)
	}
	return nil
}

// TowerState is the dynamic state.
type TowerState struct {
	LevelPct   float64
	CondUScm   float64 // basin conductivity
	ProductMgL float64 // product carried by the inert tracer
	TaggedMgL  float64 // active (unconsumed) polymer, product-equivalent
	// Cumulative volumes, for mass-balance cycles over any window.
	MakeupM3, PurgeM3, EvaporatedM3 float64
}

// TowerInput is what the controllers and the weather do to the tower during a step.
type TowerInput struct {
	RangeC         float64 // cooling range (heat load)
	MakeupCondUScm float64
	MakeupOpen     bool
	BlowdownValve  float64 // 0..1
	InhibitorLh    float64 // neat product, L/h
	Stress         float64 // scaling stress multiplier of PolymerLossPerH (0 = none)
}

// TowerFlows are the flows of a step (m³/h).
type TowerFlows struct {
	Evaporation, Drift, Blowdown, Makeup float64
}

// Volume is the water in the system at the given level.
func (p TowerParams) Volume(levelPct float64) float64 {
	return p.HoldupM3 + p.BasinM3PerPct*math.Max(levelPct, 0)
}

// Step integrates the tower over dt seconds (explicit Euler; keep dt ≤ a few minutes, far
// below the hours-long time constants). Concentrations are mixed-tank balances:
// d(VC)/dt = M·C_m − (B + D)·C, evaporation carries no solutes.
func (p TowerParams) Step(s TowerState, in TowerInput, dt float64) (TowerState, TowerFlows) {
	h := dt / 3600
	var f TowerFlows
	f.Evaporation = p.EvapPerM3hC * p.CirculationM3h * math.Max(in.RangeC, 0)
	f.Drift = p.DriftFraction * p.CirculationM3h
	f.Blowdown = p.BlowdownCapacityM3h * math.Max(0, math.Min(1, in.BlowdownValve))
	if in.MakeupOpen {
		f.Makeup = p.MakeupCapacityM3h
	}
	if s.LevelPct <= 0 {
		f.Blowdown = 0 // an empty basin has nothing to bleed
	}
	purge := f.Blowdown + f.Drift
	v0 := p.Volume(s.LevelPct)
	v1 := v0 + (f.Makeup-f.Evaporation-purge)*h
	feedMgLm3 := 1000 * p.ProductDensity * math.Max(in.InhibitorLh, 0) // g/h = mg/L·m³/h
	next := s
	next.LevelPct = (v1 - p.HoldupM3) / p.BasinM3PerPct
	next.CondUScm = (v0*s.CondUScm + (f.Makeup*in.MakeupCondUScm-purge*s.CondUScm)*h) / v1
	next.ProductMgL = (v0*s.ProductMgL + (feedMgLm3-purge*s.ProductMgL)*h) / v1
	loss := p.PolymerLossPerH * math.Max(in.Stress, 0) * v0 * s.TaggedMgL
	next.TaggedMgL = math.Max(0, (v0*s.TaggedMgL+(feedMgLm3-purge*s.TaggedMgL-loss)*h)/v1)
	next.MakeupM3 += f.Makeup * h
	next.PurgeM3 += purge * h
	next.EvaporatedM3 += f.Evaporation * h
	return next, f
}

// SensorModel turns the true state into instrument readings: multiplicative drift (fraction per
// day) and Gaussian noise (relative standard deviation).
type SensorModel struct {
	CondDriftPerDay, TracerDriftPerDay float64
	RelNoise                           float64
}

// Readings are the instrument values at elapsed time t (s).
type Readings struct {
	LevelPct, CondUScm, MakeupCondUScm, TracerUgL, TaggedMgL float64
}

// Read samples the instruments; rng may be nil for noise-free readings.
func (m SensorModel) Read(p TowerParams, s TowerState, makeupCond, t float64, rng *rand.Rand) Readings {
	noise := func() float64 {
		if rng == nil || m.RelNoise == 0 {
			return 1
		}
		return 1 + m.RelNoise*rng.NormFloat64()
	}
	days := t / 86400
	return Readings{
		LevelPct:       s.LevelPct + 0.2*(noise()-1)*100,
		CondUScm:       s.CondUScm * (1 + m.CondDriftPerDay*days) * noise(),
		MakeupCondUScm: makeupCond * noise(),
		TracerUgL:      s.ProductMgL * p.TracerPerProduct * (1 + m.TracerDriftPerDay*days) * noise(),
		TaggedMgL:      s.TaggedMgL * noise(),
	}
}
