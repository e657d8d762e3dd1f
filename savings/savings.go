// Package savings measures and verifies water savings the way IPMVP Options
// B and C measure energy savings (EVO, IPMVP Core Concepts 2022), with the
// statistics of ASHRAE Guideline 14-2014: an ordinary-least-squares baseline
// model of intake against its drivers (production, cooling degree days, …),
// its fit statistics CV(RMSE), NMBE and R² against the Guideline's acceptance
// limits, the adjusted baseline over the reporting periods, non-routine
// adjustments with their reasons, the savings and their uncertainty at 90 %
// confidence (Guideline 14 Annex B, eq. B-14 with n' = n; the
// autocorrelation-corrected figure is reported beside it).
//
// The package is pure: tables in, results out. The platform feeds it
// ledger-backed period volumes; `shuixiao savings` feeds it CSV files.
package savings

import (
	"fmt"
	"math"
	"strings"
)

// Adjustment is a non-routine adjustment (IPMVP): a change of the baseline
// conditions the model's drivers do not capture (a new production line, a
// unit shut down), added to the adjusted baseline of one reporting period.
type Adjustment struct {
	Period string  `json:"period"`
	M3     float64 `json:"m3"`
	Reason string  `json:"reason"`
}

// Result is a measurement-and-verification statement's figures.
type Result struct {
	Model            map[string]float64 `json:"model"` // coefficient by driver name, and "intercept"
	Drivers          []string           `json:"drivers"`
	Granularity      Granularity        `json:"granularity"`
	BaselinePeriods  int                `json:"baseline_periods"`
	ReportingPeriods int                `json:"reporting_periods"`
	CVRMSE           float64            `json:"cv_rmse"`
	NMBE             float64            `json:"nmbe"`
	R2               float64            `json:"r2"`
	LimitCVRMSE      float64            `json:"limit_cv_rmse"`
	LimitNMBE        float64            `json:"limit_nmbe"`
	MeetsGuideline14 bool               `json:"meets_guideline14"`

	// AdjustedBaseline is Σ of the model over the reporting periods' drivers
	// plus the non-routine adjustments (m³).
	AdjustedBaseline float64      `json:"adjusted_baseline_m3"`
	Routine          float64      `json:"routine_baseline_m3"` // Σ of the model alone
	NonRoutine       float64      `json:"non_routine_m3"`
	Adjustments      []Adjustment `json:"adjustments"`
	Reporting        float64      `json:"reporting_m3"`
	Savings          float64      `json:"savings_m3"` // adjusted baseline − reporting
	// Uncertainty = t(0.95, n−p) · 1.26 · CV · √((1 + 2/n)/m) · routine
	// baseline, m reporting periods (Guideline 14 eq. B-14, n' = n).
	Uncertainty float64 `json:"savings_uncertainty_m3"`
	// FractionalUncertainty = Uncertainty / Savings (absent when no saving).
	FractionalUncertainty *float64 `json:"fractional_uncertainty,omitempty"`
	T                     float64  `json:"t_statistic"`
	// Autocorrelation is the residuals' lag-1 autocorrelation ρ; the
	// corrected uncertainty uses n' = n(1−ρ)/(1+ρ) (eq. B-14 in full).
	Autocorrelation       float64  `json:"residual_autocorrelation"`
	UncertaintyCorrected  *float64 `json:"savings_uncertainty_autocorrelated_m3,omitempty"`
	SavingsExceedTwiceUnc bool     `json:"savings_exceed_twice_uncertainty"`
	Warnings              []string `json:"warnings,omitempty"`
}

// uncertaintyFactor is Guideline 14's empirical 1.26 (Annex B, eq. B-14),
// which corrects the formula's approximation of the prediction error.
const uncertaintyFactor = 1.26

// Compute fits the baseline model, applies it to the reporting periods and
// returns the savings with their uncertainty. It refuses reporting data with
// other drivers or granularity than the baseline, reporting periods that
// overlap the baseline, and adjustments for periods not reported, without a
// reason, or given twice.
func Compute(baseline, reporting Table, adj []Adjustment) (Result, error) {
	m, err := Fit(baseline)
	if err != nil {
		return Result{}, err
	}
	if err := compatible(baseline, reporting); err != nil {
		return Result{}, err
	}
	r := Result{
		Model:            map[string]float64{"intercept": m.Intercept},
		Drivers:          m.Drivers,
		Granularity:      m.Granularity,
		BaselinePeriods:  m.N,
		ReportingPeriods: len(reporting.Periods),
		CVRMSE:           m.CVRMSE,
		NMBE:             m.NMBE,
		R2:               m.R2,
		MeetsGuideline14: m.MeetsGuideline14(),
		Autocorrelation:  m.Autocorrelation,
		Adjustments:      []Adjustment{},
	}
	r.LimitCVRMSE, r.LimitNMBE = Limits(m.Granularity)
	for j, d := range m.Drivers {
		r.Model[d] = m.Coefficients[j]
	}
	for _, q := range reporting.Periods {
		r.Routine += m.Predict(q.Drivers)
		r.Reporting += q.Intake
	}
	if err := r.adjust(reporting, adj); err != nil {
		return Result{}, err
	}
	r.AdjustedBaseline = r.Routine + r.NonRoutine
	r.Savings = r.AdjustedBaseline - r.Reporting

	n, mm := float64(m.N), float64(len(reporting.Periods))
	r.T = StudentT(0.95, float64(m.N-m.P))
	r.Uncertainty = r.T * uncertaintyFactor * m.CVRMSE * math.Sqrt((1+2/n)/mm) * r.Routine
	if rho := m.Autocorrelation; rho > 0 && rho < 1 {
		nn := n * (1 - rho) / (1 + rho)
		u := r.T * uncertaintyFactor * m.CVRMSE * math.Sqrt(n/nn*(1+2/nn)/mm) * r.Routine
		r.UncertaintyCorrected = &u
	}
	if r.Savings > 0 {
		f := r.Uncertainty / r.Savings
		r.FractionalUncertainty = &f
	}
	r.SavingsExceedTwiceUnc = r.Savings > 2*r.Uncertainty
	r.Warnings = warnings(m, r)
	return r, nil
}

// compatible checks that the reporting table can be fed to the baseline's model.
func compatible(baseline, reporting Table) error {
	if len(reporting.Periods) == 0 {
		return fmt.Errorf("%s: no reporting periods", reporting.Name)
	}
	if strings.Join(reporting.Drivers, ",") != strings.Join(baseline.Drivers, ",") {
		return fmt.Errorf("%s: drivers %q, the baseline %s has %q (same columns, same order)",
			reporting.Name, reporting.Drivers, baseline.Name, baseline.Drivers)
	}
	if reporting.Granularity != baseline.Granularity {
		return fmt.Errorf("%s: %s periods, the baseline %s has %s periods", reporting.Name, reporting.Granularity, baseline.Name, baseline.Granularity)
	}
	last := baseline.Periods[len(baseline.Periods)-1]
	if first := reporting.Periods[0]; !first.Start.After(last.Start) {
		return fmt.Errorf("%s: reporting starts at %s, not after the baseline's last period %s", reporting.where(first), first.Label, last.Label)
	}
	return nil
}

// adjust records the non-routine adjustments.
func (r *Result) adjust(reporting Table, adj []Adjustment) error {
	periods := map[string]bool{}
	for _, q := range reporting.Periods {
		periods[q.Label] = true
	}
	seen := map[string]bool{}
	for i, a := range adj {
		where := fmt.Sprintf("adjustment %d (period %s)", i+1, a.Period)
		switch {
		case !periods[a.Period]:
			return fmt.Errorf("%s: not a reporting period", where)
		case strings.TrimSpace(a.Reason) == "":
			return fmt.Errorf("%s: a non-routine adjustment needs its reason", where)
		case seen[a.Period]:
			return fmt.Errorf("%s: the period is adjusted twice; give one adjustment per period", where)
		case math.IsNaN(a.M3) || math.IsInf(a.M3, 0) || math.Abs(a.M3) > MaxIntake:
			return fmt.Errorf("%s: %g m³ is not a usable volume", where, a.M3)
		}
		seen[a.Period] = true
		r.NonRoutine += a.M3
		r.Adjustments = append(r.Adjustments, a)
	}
	return nil
}

// warnings names what an M&V reviewer should look at although the
// computation is valid.
func warnings(m Model, r Result) []string {
	var w []string
	if !r.MeetsGuideline14 {
		w = append(w, fmt.Sprintf("模型未满足 ASHRAE Guideline 14 / model outside Guideline 14: CV(RMSE) %.3f (limit %.2f), NMBE %.4f (limit ±%.2f)",
			r.CVRMSE, r.LimitCVRMSE, r.NMBE, r.LimitNMBE))
	}
	if m.N < 3*m.P {
		w = append(w, fmt.Sprintf("基准期较短 / short baseline: %d periods for %d parameters", m.N, m.P))
	}
	if !r.SavingsExceedTwiceUnc {
		w = append(w, "节水量未超过其不确定度的两倍 / savings do not exceed twice their uncertainty (Guideline 14 §4.2.1.1)")
	}
	return w
}
