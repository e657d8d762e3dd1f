package cooling

import (
	"fmt"
	"math"
)

// Flows is the steady water balance of a tower: M = E + B + D and N = M/(B + D).
type Flows struct {
	Evaporation float64 // E
	Drift       float64 // D
	Blowdown    float64 // B (the controlled bleed)
	Makeup      float64 // M
	Cycles      float64 // N
}

// Purge is the total concentration-removing flow B + D.
func (f Flows) Purge() float64 { return f.Blowdown + f.Drift }

// EvaporationUS is the US rule E = 0.00153·Q·ΔT (Q m³/h, ΔT °C), i.e. 0.00085 per gpm·°F.
func (e *Evaporation) EvaporationUS(circulation, rangeC float64) float64 {
	return e.usM3hC * circulation * rangeC
}

// EvaporationUSgpm is the US rule in US units: E(gpm) = 0.00085·Q(gpm)·Range(°F).
func (e *Evaporation) EvaporationUSgpm(circulationGPM, rangeF float64) float64 {
	return e.usGPMF * circulationGPM * rangeF
}

// EvaporationGB is GB/T 50050: Qe = k·Δt·Qr with k from the ambient air temperature.
func (e *Evaporation) EvaporationGB(circulation, rangeC, ambientC float64) (float64, error) {
	k, err := e.GBFactor(ambientC)
	if err != nil {
		return 0, err
	}
	return k * rangeC * circulation, nil
}

// Balance solves the tower balance for evaporation E, cycles N (> 1) and drift D:
// B + D = E/(N − 1), B = E/(N − 1) − D, M = E·N/(N − 1). It fails when drift alone already
// purges more than the cycles allow (N cannot be reached by closing the blowdown).
func Balance(evaporation, cycles, drift float64) (Flows, error) {
	if !(evaporation >= 0) || !(drift >= 0) || math.IsInf(evaporation, 0) {
		return Flows{}, fmt.Errorf("evaporation %g and drift %g must be non-negative", evaporation, drift)
	}
	if !(cycles > 1) || math.IsInf(cycles, 0) {
		return Flows{}, fmt.Errorf("cycles %g must exceed 1", cycles)
	}
	purge := evaporation / (cycles - 1)
	if drift > purge {
		return Flows{}, fmt.Errorf("drift %.4g m³/h exceeds the purge %.4g m³/h that %g cycles allow", drift, purge, cycles)
	}
	return Flows{Evaporation: evaporation, Drift: drift, Blowdown: purge - drift,
		Makeup: evaporation + purge, Cycles: cycles}, nil
}

// CyclesFromConcentrations is N = C_tower/C_makeup for a conserved tracer (Cl, Mg, conductivity).
func CyclesFromConcentrations(tower, makeup float64) (float64, error) {
	if !(makeup > 0) || !(tower > 0) {
		return 0, fmt.Errorf("concentrations must be positive (tower %g, make-up %g)", tower, makeup)
	}
	return tower / makeup, nil
}

// CyclesFromFlows is N = M/(B + D).
func CyclesFromFlows(makeup, purge float64) (float64, error) {
	if !(purge > 0) || !(makeup >= purge) {
		return 0, fmt.Errorf("make-up %g must be at least the purge %g > 0", makeup, purge)
	}
	return makeup / purge, nil
}

// InhibitorFeed is the steady product feed G (kg/h) that holds dose g (mg/L) against a purge
// B + D (m³/h): G = (B + D)·g/1000 (GB/T 50050 dosing equation).
func InhibitorFeed(purge, doseMgL float64) float64 { return purge * doseMgL / 1000 }

// TimeConstant is τ = V/(B + D) in hours for system volume V (m³) and purge (m³/h).
func TimeConstant(volume, purge float64) float64 { return volume / purge }

// HoldingTimeIndex is the half-life of a non-consumed chemical, HTI = ln2·V/(B + D), hours.
func HoldingTimeIndex(volume, purge float64) float64 { return math.Ln2 * volume / purge }
