package savings

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func table(t *testing.T, name, csv string) Table {
	t.Helper()
	tb, err := ReadCSV(strings.NewReader(csv), name)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.9g, want %.9g (±%g)", what, got, want, tol)
	}
}

// The worked example is built so that it can be solved by hand: intake =
// 100 + 5·production + e, with residuals e = ±2 chosen orthogonal to the
// intercept and to production (Σe = 0, Σ x·e = 0), so least squares returns
// exactly 100 and 5 and the residuals are e.
const handBaseline = `period,intake_m3,production
2023-01,152,10
2023-02,158,12
2023-03,172,14
2023-04,178,16
2023-05,192,18
2023-06,198,20
2023-07,148,10
2023-08,162,12
2023-09,168,14
2023-10,182,16
2023-11,188,18
2023-12,202,20
`

const handReporting = `period,intake_m3,production
2024-01,160,15
2024-02,170,17
2024-03,180,19
`

func TestWorkedExampleByHand(t *testing.T) {
	r, err := Compute(table(t, "base", handBaseline), table(t, "rep", handReporting), nil)
	if err != nil {
		t.Fatal(err)
	}
	// By hand: SSE = 12·2² = 48, n − p = 10, ȳ = 100 + 5·15 = 175,
	// SST = 25·Σ(x−15)² + Σe² = 25·140 + 48 = 3548.
	near(t, "intercept", r.Model["intercept"], 100, 1e-9)
	near(t, "production", r.Model["production"], 5, 1e-10)
	near(t, "cv_rmse", r.CVRMSE, math.Sqrt(4.8)/175, 1e-12)
	near(t, "nmbe", r.NMBE, 0, 1e-12)
	near(t, "r2", r.R2, 1-48.0/3548, 1e-12)
	// Reporting: 3·100 + 5·(15+17+19) = 555 predicted against 510 metered.
	near(t, "adjusted_baseline_m3", r.AdjustedBaseline, 555, 1e-9)
	near(t, "reporting_m3", r.Reporting, 510, 0)
	near(t, "savings_m3", r.Savings, 45, 1e-9)
	// t(0.95, 10) = 1.812461 (any t table); U = t·1.26·CV·√((1+2/12)/3)·555.
	near(t, "t", r.T, 1.812461, 1e-6)
	wantU := 1.812461 * 1.26 * (math.Sqrt(4.8) / 175) * math.Sqrt((1+2.0/12)/3) * 555
	near(t, "savings_uncertainty_m3", r.Uncertainty, wantU, 1e-5)
	near(t, "savings_uncertainty_m3 (rounded by hand)", r.Uncertainty, 9.895, 0.001)
	if !r.MeetsGuideline14 || r.Granularity != Monthly || r.LimitCVRMSE != 0.15 || r.LimitNMBE != 0.05 {
		t.Errorf("monthly fit: meets=%v granularity=%s limits %g/%g", r.MeetsGuideline14, r.Granularity, r.LimitCVRMSE, r.LimitNMBE)
	}
	if !r.SavingsExceedTwiceUnc {
		t.Error("45 m³ saved against ±9.9 m³: savings exceed twice the uncertainty")
	}
}

func TestStudentTAgainstTables(t *testing.T) {
	for _, c := range []struct{ p, df, want float64 }{
		{0.95, 1, 6.313752}, {0.95, 2, 2.919986}, {0.95, 5, 2.015048}, {0.95, 10, 1.812461},
		{0.95, 30, 1.697261}, {0.95, 120, 1.657651}, {0.975, 10, 2.228139}, {0.995, 3, 5.840909},
	} {
		near(t, fmt.Sprintf("t(%g, %g)", c.p, c.df), StudentT(c.p, c.df), c.want, 2e-6)
	}
	if !math.IsNaN(StudentT(0.4, 3)) || !math.IsNaN(StudentT(0.95, 0)) {
		t.Error("p outside (0.5, 1) or df ≤ 0 must give NaN")
	}
}

func TestTwoDriversRecovered(t *testing.T) {
	// An exact linear relation is recovered to rounding: y = 40 + 3·a − 0.5·b.
	var b strings.Builder
	b.WriteString("period,intake_m3,a,cdd\n")
	for d := 1; d <= 28; d++ {
		a, c := float64(d%7+3), float64((d*d)%11)
		fmt.Fprintf(&b, "2024-02-%02d,%g,%g,%g\n", d, 40+3*a-0.5*c, a, c)
	}
	m, err := Fit(table(t, "base", b.String()))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "intercept", m.Intercept, 40, 1e-9)
	near(t, "a", m.Coefficients[0], 3, 1e-10)
	near(t, "cdd", m.Coefficients[1], -0.5, 1e-10)
	near(t, "cv", m.CVRMSE, 0, 1e-12)
	if m.Granularity != Daily {
		t.Errorf("granularity %s, want daily", m.Granularity)
	}
	cv, nmbe := Limits(Daily)
	if cv != 0.30 || nmbe != 0.10 {
		t.Errorf("daily limits %g %g", cv, nmbe)
	}
}

func TestAdjustments(t *testing.T) {
	adj := []Adjustment{{Period: "2024-02", M3: 12, Reason: "new rinse line"}}
	r, err := Compute(table(t, "base", handBaseline), table(t, "rep", handReporting), adj)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "adjusted", r.AdjustedBaseline, 567, 1e-9)
	near(t, "savings", r.Savings, 57, 1e-9)
	near(t, "routine", r.Routine, 555, 1e-9)
	if len(r.Adjustments) != 1 || r.Adjustments[0].Reason != "new rinse line" {
		t.Errorf("adjustments %v", r.Adjustments)
	}
}

func TestRefusals(t *testing.T) {
	base := table(t, "base", handBaseline)
	rep := table(t, "rep", handReporting)
	for _, c := range []struct {
		name string
		run  func() error
		want string
	}{
		{"too few periods", func() error {
			_, err := Fit(table(t, "base", "period,intake_m3,production\n2023-01,1,1\n2023-02,2,2\n"))
			return err
		}, "needs at least 3"},
		{"constant driver", func() error {
			_, err := Fit(table(t, "base", "period,intake_m3,p\n2023-01,1,4\n2023-02,2,4\n2023-03,4,4\n2023-04,3,4\n"))
			return err
		}, `driver "p" is constant or a linear combination`},
		{"collinear drivers", func() error {
			_, err := Fit(table(t, "base", "period,intake_m3,p,q\n2023-01,1,1,2\n2023-02,2,2,4\n2023-03,4,3,6\n2023-04,3,4,8\n2023-05,5,5,10\n"))
			return err
		}, `driver "q"`},
		{"zero intake", func() error {
			_, err := Fit(table(t, "base", "period,intake_m3,p\n2023-01,0,1\n2023-02,0,2\n2023-03,0,3\n"))
			return err
		}, "positive mean"},
		{"other drivers", func() error {
			_, err := Compute(base, table(t, "rep", "period,intake_m3,cdd\n2024-01,1,1\n"), nil)
			return err
		}, "same columns"},
		{"overlap", func() error {
			_, err := Compute(base, table(t, "rep", "period,intake_m3,production\n2023-12,1,1\n"), nil)
			return err
		}, "not after the baseline"},
		{"granularity", func() error {
			_, err := Compute(base, table(t, "rep", "period,intake_m3,production\n2024-01-05,1,1\n"), nil)
			return err
		}, "daily periods, the baseline base has monthly"},
		{"no reporting", func() error {
			_, err := Compute(base, table(t, "rep", "period,intake_m3,production\n"), nil)
			return err
		}, "no reporting periods"},
		{"adjustment without reason", func() error {
			_, err := Compute(base, rep, []Adjustment{{Period: "2024-01", M3: 1}})
			return err
		}, "needs its reason"},
		{"adjustment elsewhere", func() error {
			_, err := Compute(base, rep, []Adjustment{{Period: "2025-01", M3: 1, Reason: "x"}})
			return err
		}, "not a reporting period"},
		{"adjustment twice", func() error {
			_, err := Compute(base, rep, []Adjustment{{Period: "2024-01", M3: 1, Reason: "x"}, {Period: "2024-01", M3: 2, Reason: "y"}})
			return err
		}, "adjusted twice"},
	} {
		err := c.run()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestReadCSVErrorsNameLineAndField(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "empty file"},
		{"month,intake_m3\n", "header must start with period,intake_m3"},
		{"period,intake_m3,p,p\n", `column "p" twice`},
		{"period,intake_m3,intercept\n", "the model's constant"},
		{"period,intake_m3,p\n2024-01,5,\n", "r line 2, field p: empty"},
		{"period,intake_m3,p\n2024-01,-5,1\n", "line 2, field intake_m3: -5 is outside"},
		{"period,intake_m3,p\n2024-01,NaN,1\n", "field intake_m3"},
		{"period,intake_m3,p\n2024-01,0x10,1\n", "not a decimal number"},
		{"period,intake_m3,p\n2024-13,5,1\n", "field period"},
		{"period,intake_m3,p\n2024-01,5,1\n2024-02-01,5,1\n", "daily period \"2024-02-01\" in a table of monthly periods"},
		{"period,intake_m3,p\n2024-01,5,1\n2024-01,6,1\n", "period 2024-01 twice (lines 2 and 3)"},
		{"period,intake_m3,p\n2024-01,5\n", "wrong number of fields"},
	} {
		_, err := ReadCSV(strings.NewReader(c.in), "r")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.in, err, c.want)
		}
	}
}

func TestReadAdjustments(t *testing.T) {
	a, err := ReadAdjustments(strings.NewReader("period,m3,reason\n2024-01,-3.5,line shut for a month\n"), "adj")
	if err != nil || len(a) != 1 || a[0].M3 != -3.5 || a[0].Reason != "line shut for a month" {
		t.Fatalf("%v %v", a, err)
	}
	if _, err := ReadAdjustments(strings.NewReader("period,m3,reason\n2024-01,x,y\n"), "adj"); err == nil || !strings.Contains(err.Error(), "adj line 2, field m3") {
		t.Errorf("bad m3: %v", err)
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add([]byte(handBaseline))
	f.Add([]byte(handReporting))
	f.Add([]byte("period,intake_m3\n2024-01-01T05,3\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, err := ReadCSV(strings.NewReader(string(b)), "f")
		if err != nil {
			return
		}
		for i, p := range tb.Periods {
			if len(p.Drivers) != len(tb.Drivers) || p.Intake < 0 || math.IsNaN(p.Intake) {
				t.Fatalf("period %d: %+v", i, p)
			}
			if i > 0 && !p.Start.After(tb.Periods[i-1].Start) {
				t.Fatalf("periods out of order at %d", i)
			}
		}
		// A table that reads must fit or be refused with an error, never panic.
		if m, err := Fit(tb); err == nil && (math.IsNaN(m.CVRMSE) || math.IsInf(m.CVRMSE, 0)) {
			t.Fatalf("fit without error but CV(RMSE) %v", m.CVRMSE)
		}
	})
}
