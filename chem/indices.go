package chem

import (
	"fmt"
	"math"
)

// Molar masses (g/mol, IUPAC 2013 standard atomic weights) for the Standard Methods formulas,
// which work in mol/L of the reported ions.
const (
	molarCa  = 40.078
	molarMg  = 24.305
	molarNa  = 22.990
	molarK   = 39.098
	molarCl  = 35.453
	molarSO4 = 96.06
	molarNO3 = 62.004
	molarPO4 = 94.971
	molarBa  = 137.327
	molarSr  = 87.62
)

// ClassicIndices are the calcium-carbonate and corrosion indices computed from the analysis
// alone, the way Standard Methods 2330 B and the index literature define them: Davies
// activities and no ion pairs. They are display and comparison numbers; control should use
// the speciation-based saturation indices.
type ClassicIndices struct {
	IonicStrength float64 // ½Σcz², mol/L (SM 2330 B), carbonate split at the measured pH
	PFM           float64 // −log γ of a monovalent ion (Davies)
	HCO3, CO3     float64 // mol/L from alkalinity at the measured pH
	PK2, PKs, PKw float64 // at the sample temperature (Plummer and Busenberg 1982; SM 2330)
	DaviesA       float64
	PHs           float64 // pH of CaCO3 (calcite) saturation
	LSI           float64 // Langelier: pH − pHs
	LSIAragonite  float64 // the same with pKs of aragonite
	RSI           float64 // Ryznar: 2 pHs − pH
	PHeq          float64 // Puckorius equilibrium pH: 1.465 log Alk + 4.54
	PSI           float64 // Puckorius: 2 pHs − pHeq
	LarsonSkold   float64 // (epm Cl + epm SO4)/(epm alkalinity)
	TDS           float64 // calculated TDS, mg/L (SM 1030 E)
	SimplePHs     float64 // "9.3 + A + B − C − D" vendor formula — never for control
	SimpleLSI     float64
}

// Classic computes ClassicIndices with the coefficients of data/coefficients.csv.
type Classic struct {
	daviesA, epsA, epsB, epsC     float64
	pk2                           [5]float64
	pksCal                        [4]float64
	pksAraA1, pksAraA3            float64
	pkwA, pkwB, pkwC              float64
	alkEq, psiSlope, psiIntercept float64
	sBase, sB1, sB2, sC, tdsAlk   float64
	davies                        float64
	ecAlpha, iPerEC, iPerTDS      float64
}

// NewClassic reads the Standard Methods and index coefficients from c.
func NewClassic(c Coefficients) (*Classic, error) {
	v, err := c.lookup("sm_davies_a", "sm_eps_a", "sm_eps_b", "sm_eps_c",
		"sm_pk2_a1", "sm_pk2_a2", "sm_pk2_a3", "sm_pk2_a4", "sm_pk2_a5",
		"sm_pks_cal_a1", "sm_pks_cal_a2", "sm_pks_cal_a3", "sm_pks_cal_a4", "sm_pks_ara_a1", "sm_pks_ara_a3",
		"sm_pkw_a", "sm_pkw_b", "sm_pkw_c", "alk_eq_weight", "psi_slope", "psi_intercept",
		"simple_lsi_base", "simple_lsi_b1", "simple_lsi_b2", "simple_lsi_c", "tds_alk_factor", "davies_linear",
		"ec_temp_coefficient", "ionic_strength_per_ec", "ionic_strength_per_tds")
	if err != nil {
		return nil, fmt.Errorf("classic indices: %w", err)
	}
	k := &Classic{daviesA: v[0], epsA: v[1], epsB: v[2], epsC: v[3]}
	copy(k.pk2[:], v[4:9])
	copy(k.pksCal[:], v[9:13])
	k.pksAraA1, k.pksAraA3 = v[13], v[14]
	k.pkwA, k.pkwB, k.pkwC = v[15], v[16], v[17]
	k.alkEq, k.psiSlope, k.psiIntercept = v[18], v[19], v[20]
	k.sBase, k.sB1, k.sB2, k.sC, k.tdsAlk = v[21], v[22], v[23], v[24], v[25]
	k.davies = v[26]
	k.ecAlpha, k.iPerEC, k.iPerTDS = v[27], v[28], v[29]
	return k, nil
}

// TDSCalculated is the calculated total dissolved solids of Standard Methods 1030 E, mg/L.
func (k *Classic) TDSCalculated(a *Analysis) float64 {
	return k.tdsAlk*a.Alk + a.Na + a.K + a.Ca + a.Mg + a.Cl + a.SO4 + a.SiO2 + a.NO3 + a.PO4 + a.Ba + a.Sr
}

// Compute evaluates the classic indices of a. LSI follows SM 2330 B exactly:
//
//	pHs = pK2 − pKs + p[Ca²⁺] + p[HCO3⁻] + 5 pfm,
//	[HCO3⁻] = (Alk_eq − [OH⁻] + [H⁺]) / (1 + 2·10^(pH − pK2 + 3 pfm)),
//
// with the Davies pfm from the ionic strength of the full analysis (phosphate counted as
// HPO4²⁻, carbonate split at the measured pH, iterated to consistency).
func (k *Classic) Compute(a *Analysis) (ClassicIndices, error) {
	return k.compute(a, 0)
}

// ComputeOnline evaluates the indices when only online sensors exist (pH, temperature,
// calcium, alkalinity and conductivity): the ionic strength comes from the sensor estimate
// (e.g. EstimateFromConductivity) instead of the full analysis.
func (k *Classic) ComputeOnline(a *Analysis, ionicStrength float64) (ClassicIndices, error) {
	if !(ionicStrength > 0) || ionicStrength > 2 {
		return ClassicIndices{}, fmt.Errorf("ionic strength %g mol/L outside (0, 2]", ionicStrength)
	}
	return k.compute(a, ionicStrength)
}

func (k *Classic) compute(a *Analysis, givenI float64) (ClassicIndices, error) {
	var x ClassicIndices
	if err := a.Validate(); err != nil {
		return x, err
	}
	if a.Ca <= 0 || a.Alk <= 0 {
		return x, fmt.Errorf("calcium and alkalinity must be positive for the calcium carbonate indices")
	}
	tk := a.TempC + kelvinOffset
	lt := math.Log10(tk)
	x.PK2 = k.pk2[0] + k.pk2[1]*tk + k.pk2[2]/tk + k.pk2[3]*lt + k.pk2[4]/(tk*tk)
	x.PKs = k.pksCal[0] + k.pksCal[1]*tk + k.pksCal[2]/tk + k.pksCal[3]*lt
	pksAra := k.pksAraA1 + k.pksCal[1]*tk + k.pksAraA3/tk + k.pksCal[3]*lt
	x.PKw = k.pkwA/tk + k.pkwB*tk - k.pkwC
	eps := k.epsA/(tk+k.epsB) - k.epsC
	x.DaviesA = k.daviesA * math.Pow(eps*tk, -1.5)

	ca := a.Ca / 1000 / molarCa
	alkEq := a.Alk / 1000 / k.alkEq
	// Ions other than the carbonate system, Σ c z² in mol/L.
	fixed := 4*ca + 4*a.Mg/1000/molarMg + a.Na/1000/molarNa + a.K/1000/molarK + a.Cl/1000/molarCl +
		4*a.SO4/1000/molarSO4 + a.NO3/1000/molarNO3 + 4*a.PO4/1000/molarPO4 + 4*a.Ba/1000/molarBa + 4*a.Sr/1000/molarSr
	I := 0.5 * (fixed + alkEq)
	if givenI > 0 {
		I = givenI
	}
	for it := 0; it < 8; it++ {
		sq := math.Sqrt(I)
		x.PFM = x.DaviesA * (sq/(1+sq) - k.davies*I)
		h := math.Pow(10, -a.PH+x.PFM)
		oh := math.Pow(10, a.PH-x.PKw+x.PFM)
		x.HCO3 = (alkEq - oh + h) / (1 + 2*math.Pow(10, a.PH-x.PK2+3*x.PFM))
		if !(x.HCO3 > 0) {
			break
		}
		x.CO3 = x.HCO3 * math.Pow(10, a.PH-x.PK2+3*x.PFM)
		next := 0.5 * (fixed + x.HCO3 + 4*x.CO3 + oh + h)
		if givenI > 0 {
			next = givenI
		}
		done := math.Abs(next-I) < 1e-12
		I = next
		if done {
			break
		}
	}
	x.IonicStrength = I
	if !(x.HCO3 > 0) {
		return x, fmt.Errorf("alkalinity %g mg/L as CaCO3 is below the hydroxide alkalinity at pH %g", a.Alk, a.PH)
	}
	pCa, pHCO3 := -math.Log10(ca), -math.Log10(x.HCO3)
	x.PHs = x.PK2 - x.PKs + pCa + pHCO3 + 5*x.PFM
	x.LSI = a.PH - x.PHs
	x.LSIAragonite = a.PH - (x.PK2 - pksAra + pCa + pHCO3 + 5*x.PFM)
	x.RSI = 2*x.PHs - a.PH
	x.PHeq = k.psiSlope*math.Log10(a.Alk) + k.psiIntercept
	x.PSI = 2*x.PHs - x.PHeq
	epmCl, epmSO4, epmAlk := a.Cl/molarCl, a.SO4/(molarSO4/2), a.Alk/k.alkEq
	x.LarsonSkold = (epmCl + epmSO4) / epmAlk
	x.TDS = k.TDSCalculated(a)
	// Simplified vendor LSI (Carrier / Lenntech): A=(log TDS − 1)/10, B=−13.12 log(T+273)+34.55,
	// C=log(Ca as CaCO3) − 0.4, D=log(Alk as CaCO3).
	A := (math.Log10(x.TDS) - 1) / 10
	B := k.sB1*math.Log10(a.TempC+273) + k.sB2
	C := math.Log10(a.Ca*(100.087/40.078)) - k.sC
	D := math.Log10(a.Alk)
	x.SimplePHs = (k.sBase + A + B) - (C + D)
	x.SimpleLSI = a.PH - x.SimplePHs
	return x, nil
}
