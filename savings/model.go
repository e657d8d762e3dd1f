package savings

import (
	"fmt"
	"math"
)

// Model is an ordinary-least-squares baseline model: intake = intercept +
// Σ coefficient·driver, fitted on a baseline table, with the fit statistics
// of ASHRAE Guideline 14-2014 (§4.3, Annex B).
type Model struct {
	Drivers      []string
	Coefficients []float64 // in Drivers order
	Intercept    float64
	Granularity  Granularity

	N     int     // baseline periods
	P     int     // parameters: drivers + 1
	MeanY float64 // mean baseline intake (m³ per period)
	SSE   float64 // Σ (y − ŷ)²
	SST   float64 // Σ (y − ȳ)²
	Bias  float64 // Σ (y − ŷ)

	// CVRMSE = √(SSE/(n−p)) / ȳ.
	CVRMSE float64
	// NMBE = Σ(y − ŷ) / ((n−p)·ȳ).
	NMBE float64
	// R2 = 1 − SSE/SST (1 when SST = 0 and SSE = 0).
	R2 float64
	// Autocorrelation is the lag-1 autocorrelation of the residuals in time
	// order (Guideline 14 Annex B: ρ); 0 when undefined.
	Autocorrelation float64
}

// singularTolerance: a column whose part not explained by the columns
// before it is below this share of its own size makes the design singular.
const singularTolerance = 1e-9

// Fit fits the model on a baseline table. It refuses a table with fewer
// periods than parameters + 1 (no degree of freedom left for CV(RMSE)), a
// mean intake of zero (CV undefined), and a singular design (a driver that is
// constant, or a linear combination of the others), naming the driver.
func Fit(t Table) (Model, error) {
	n, p := len(t.Periods), len(t.Drivers)+1
	m := Model{Drivers: append([]string(nil), t.Drivers...), Granularity: t.Granularity, N: n, P: p}
	if n < p+1 {
		return m, fmt.Errorf("%s: %d periods; a model with %d driver(s) and an intercept needs at least %d", t.Name, n, p-1, p+1)
	}
	y := make([]float64, n)
	for i, q := range t.Periods {
		y[i] = q.Intake
		m.MeanY += q.Intake
	}
	m.MeanY /= float64(n)
	if m.MeanY <= 0 {
		return m, fmt.Errorf("%s: mean intake is %g m³; CV(RMSE) needs a positive mean", t.Name, m.MeanY)
	}
	beta, err := leastSquares(design(t), y)
	if err != nil {
		col := err.(singularError).col
		if col == 0 {
			return m, fmt.Errorf("%s: singular design", t.Name)
		}
		return m, fmt.Errorf("%s: singular design: driver %q is constant or a linear combination of the intercept and the drivers before it", t.Name, t.Drivers[col-1])
	}
	m.Intercept, m.Coefficients = beta[0], beta[1:]
	res := make([]float64, n)
	for i, q := range t.Periods {
		res[i] = q.Intake - m.Predict(q.Drivers)
		m.SSE += res[i] * res[i]
		m.Bias += res[i]
		d := q.Intake - m.MeanY
		m.SST += d * d
	}
	dof := float64(n - p)
	m.CVRMSE = math.Sqrt(m.SSE/dof) / m.MeanY
	m.NMBE = m.Bias / (dof * m.MeanY)
	switch {
	case m.SST > 0:
		m.R2 = 1 - m.SSE/m.SST
	case m.SSE == 0:
		m.R2 = 1
	}
	m.Autocorrelation = lag1(res)
	return m, nil
}

// Predict is the model's intake for one period's drivers (in Drivers order).
func (m Model) Predict(drivers []float64) float64 {
	v := m.Intercept
	for j, c := range m.Coefficients {
		v += c * drivers[j]
	}
	return v
}

// Limits are Guideline 14's acceptance limits for a baseline model of the
// given granularity: CV(RMSE) ≤ 15 % and |NMBE| ≤ 5 % for monthly data,
// 30 % and 10 % for daily or hourly data (ASHRAE Guideline 14-2014 §4.3.2.4;
// reference/standards.md).
func Limits(g Granularity) (cv, nmbe float64) {
	if g == Monthly {
		return 0.15, 0.05
	}
	return 0.30, 0.10
}

// MeetsGuideline14 tells whether the fit is within Limits.
func (m Model) MeetsGuideline14() bool {
	cv, nmbe := Limits(m.Granularity)
	return m.CVRMSE <= cv && math.Abs(m.NMBE) <= nmbe
}

// design is the n×p design matrix, column-major: a column of ones, then one
// column per driver.
func design(t Table) [][]float64 {
	x := make([][]float64, len(t.Drivers)+1)
	for j := range x {
		x[j] = make([]float64, len(t.Periods))
	}
	for i, q := range t.Periods {
		x[0][i] = 1
		for j, v := range q.Drivers {
			x[j+1][i] = v
		}
	}
	return x
}

type singularError struct{ col int }

func (e singularError) Error() string { return fmt.Sprintf("column %d is linearly dependent", e.col) }

// leastSquares solves min ‖Xβ − y‖ by Householder QR (Golub & Van Loan
// §5.3.3), which stays accurate where the normal equations square the
// condition number. x is column-major and is overwritten; so is y.
func leastSquares(x [][]float64, y []float64) ([]float64, error) {
	n, p := len(y), len(x)
	norms := make([]float64, p)
	for j := range x {
		norms[j] = norm(x[j])
	}
	rdiag := make([]float64, p)
	for k := 0; k < p; k++ {
		a := norm(x[k][k:])
		if a <= singularTolerance*norms[k] || a == 0 {
			return nil, singularError{col: k}
		}
		if x[k][k] > 0 {
			a = -a
		}
		// v = x[k][k:] − a·e₁, stored in place; R_kk = a.
		x[k][k] -= a
		vv := 0.0
		for i := k; i < n; i++ {
			vv += x[k][i] * x[k][i]
		}
		reflect := func(c []float64) {
			s := 0.0
			for i := k; i < n; i++ {
				s += x[k][i] * c[i]
			}
			s = 2 * s / vv
			for i := k; i < n; i++ {
				c[i] -= s * x[k][i]
			}
		}
		for j := k + 1; j < p; j++ {
			reflect(x[j])
		}
		reflect(y)
		rdiag[k] = a
	}
	// Back substitution on R β = Qᵀy; R's strict upper part is x[j][k], k < j.
	beta := make([]float64, p)
	for k := p - 1; k >= 0; k-- {
		s := y[k]
		for j := k + 1; j < p; j++ {
			s -= x[j][k] * beta[j]
		}
		beta[k] = s / rdiag[k]
	}
	return beta, nil
}

func norm(v []float64) float64 {
	scale, ssq := 0.0, 1.0
	for _, x := range v {
		if x == 0 {
			continue
		}
		ax := math.Abs(x)
		if scale < ax {
			ssq = 1 + ssq*(scale/ax)*(scale/ax)
			scale = ax
		} else {
			ssq += (ax / scale) * (ax / scale)
		}
	}
	return scale * math.Sqrt(ssq)
}

// lag1 is the lag-1 autocorrelation of a series (0 when it has no variance).
func lag1(r []float64) float64 {
	if len(r) < 3 {
		return 0
	}
	mean := 0.0
	for _, v := range r {
		mean += v
	}
	mean /= float64(len(r))
	num, den := 0.0, 0.0
	for i, v := range r {
		d := v - mean
		den += d * d
		if i > 0 {
			num += d * (r[i-1] - mean)
		}
	}
	if den == 0 {
		return 0
	}
	return num / den
}
