package reuse

import (
	"fmt"
	"math"
)

// Viscosity of water (Pa·s) at tempC: μ = A·10^(B/(T_K − C)).
func (m *Membranes) Viscosity(tempC float64) float64 {
	return m.viscA * math.Pow(10, m.viscB/(tempC+273.15-m.viscC))
}

// UFReading is one operating point of a UF rack.
type UFReading struct {
	FiltrateFlow float64 // m³/h
	Area         float64 // m² of membrane in service
	FeedIn       float64 // bar
	FeedOut      float64 // bar (equal to FeedIn for dead-end operation)
	Filtrate     float64 // bar
	TempC        float64
}

// UFPerformance is flux, TMP and permeability, also referred to 20 °C.
type UFPerformance struct {
	Flux   float64 // LMH
	TMP    float64 // bar
	Perm   float64 // LMH/bar at the water temperature
	Perm20 float64 // LMH/bar at 20 °C: L·μ(T)/μ(20 °C)
}

// UF computes flux, TMP = (P_in + P_out)/2 − P_filtrate and the permeability.
func (m *Membranes) UF(r UFReading) (UFPerformance, error) {
	var p UFPerformance
	if !(r.Area > 0) || !(r.FiltrateFlow >= 0) || math.IsNaN(r.TempC) || r.TempC < 0 || r.TempC > 60 {
		return p, fmt.Errorf("UF reading: area, flow and temperature (0-60 °C) required")
	}
	p.Flux = r.FiltrateFlow * 1000 / r.Area
	p.TMP = (r.FeedIn+r.FeedOut)/2 - r.Filtrate
	if !(p.TMP > 0) {
		return p, fmt.Errorf("UF reading: TMP %.3f bar is not positive", p.TMP)
	}
	p.Perm = p.Flux / p.TMP
	p.Perm20 = p.Perm * m.Viscosity(r.TempC) / m.Viscosity(20)
	return p, nil
}
