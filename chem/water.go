package chem

import (
	"fmt"
	"math"
)

// Physical constants (CODATA) used for the Debye-Hückel parameters.
const (
	avogadro = 6.02214076e23
	// elementaryChargeSqOverK is e²/k_B in Gaussian units (esu²·K/erg = cm·K):
	// (4.803204e-10 esu)² / 1.38065e-16 erg/K.
	elementaryChargeSqOverK = 1.671008e-3
	atmInBar                = 1.01325
)

// waterModel holds the fitted coefficients of the dielectric constant and density of water.
type waterModel struct {
	u                                  [9]float64 // Bradley and Pitzer (1979)
	tc, rhoc, b1, b2, b3, b4, b5, b6   float64    // Wagner and Pruss (2002) eq. 2.6
	awFactor, daviesLinear, setschenow float64
}

func newWaterModel(c Coefficients) (waterModel, error) {
	var w waterModel
	v, err := c.lookup("bp_u1", "bp_u2", "bp_u3", "bp_u4", "bp_u5", "bp_u6", "bp_u7", "bp_u8", "bp_u9",
		"wp_tc", "wp_rhoc", "wp_b1", "wp_b2", "wp_b3", "wp_b4", "wp_b5", "wp_b6",
		"aw_factor", "davies_linear", "setschenow_b")
	if err != nil {
		return w, fmt.Errorf("water model: %w", err)
	}
	copy(w.u[:], v[:9])
	w.tc, w.rhoc, w.b1, w.b2, w.b3, w.b4, w.b5, w.b6 = v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16]
	w.awFactor, w.daviesLinear, w.setschenow = v[17], v[18], v[19]
	return w, nil
}

// dielectric returns the relative permittivity of water at tk kelvin and 1 atm
// (Bradley and Pitzer 1979).
func (w *waterModel) dielectric(tk float64) float64 {
	u := w.u
	d1000 := u[0] * math.Exp(tk*(u[1]+tk*u[2]))
	c := u[3] + u[4]/(u[5]+tk)
	b := u[6] + u[7]/tk + u[8]*tk
	return d1000 + c*math.Log((b+atmInBar)/(b+1000))
}

// density returns the density of liquid water on the saturation line in kg/m³
// (Wagner and Pruss 2002 eq. 2.6). Compression to 1 atm changes it by < 1e-4 relative
// below 100 °C and is neglected.
func (w *waterModel) density(tk float64) float64 {
	th := 1 - tk/w.tc
	c := math.Cbrt(th)
	return w.rhoc * (1 + w.b1*c + w.b2*c*c + w.b3*math.Pow(th, 5.0/3) + w.b4*math.Pow(th, 16.0/3) +
		w.b5*math.Pow(th, 43.0/3) + w.b6*math.Pow(th, 110.0/3))
}

// debyeHuckel returns the Debye-Hückel A (kg^0.5/mol^0.5, for log10 γ) and B (1/(Å·(mol/kg)^0.5))
// at tempC, from the permittivity and density of water.
func (w *waterModel) debyeHuckel(tempC float64) (a, b float64) {
	tk := tempC + kelvinOffset
	e2DkT := elementaryChargeSqOverK / (w.dielectric(tk) * tk) // Bjerrum-type length, cm
	kappa := math.Sqrt(8 * math.Pi * avogadro * e2DkT * w.density(tk) / 1e6)
	a = kappa * e2DkT / (2 * math.Ln10)
	return a, kappa / 1e8
}
