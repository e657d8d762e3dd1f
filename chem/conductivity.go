package chem

import (
	"fmt"
	"math"
)

// ConductivityEstimate is what an online conductivity sensor alone says about a water.
type ConductivityEstimate struct {
	EC25          float64 // specific conductance at 25 °C, µS/cm
	IonicStrength float64 // mol/L, I ≈ 1.6e-5·EC25 (Russell 1976)
	TDS           float64 // mg/L, from I ≈ 2.5e-5·TDS (Langelier 1936), i.e. TDS ≈ 0.64·EC25
}

// EstimateFromConductivity converts a conductivity reading into ionic strength and TDS.
// If compensated is false, ec is the raw reading at tempC and is brought to 25 °C with the
// linear coefficient of data/coefficients.csv (ec_temp_coefficient).
func (k *Classic) EstimateFromConductivity(ec, tempC float64, compensated bool) (ConductivityEstimate, error) {
	var e ConductivityEstimate
	if math.IsNaN(ec) || ec < 0 || ec > 300000 {
		return e, fmt.Errorf("conductivity %g µS/cm outside 0-300000", ec)
	}
	e.EC25 = ec
	if !compensated {
		if math.IsNaN(tempC) || tempC < 0 || tempC > 100 {
			return e, fmt.Errorf("temperature %g °C outside 0-100", tempC)
		}
		e.EC25 = ec / (1 + k.ecAlpha*(tempC-25))
	}
	e.IonicStrength = k.iPerEC * e.EC25
	e.TDS = e.IonicStrength / k.iPerTDS
	return e, nil
}

// IonicStrengthFromTDS is the Langelier estimate I ≈ 2.5e-5·TDS (mol/L, TDS in mg/L).
func (k *Classic) IonicStrengthFromTDS(tds float64) float64 { return k.iPerTDS * tds }
