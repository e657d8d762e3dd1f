package cooling

import (
	"math"
	"testing"
)

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// TestWorkedBalanceVector reproduces chemistry.md §4 exactly (to its printed digits).
func TestWorkedBalanceVector(t *testing.T) {
	e, err := LoadEvaporation()
	if err != nil {
		t.Fatal(err)
	}
	const qr, dT, n, driftFrac = 1000.0, 10.0, 5.0, 0.0001
	E := e.EvaporationUS(qr, dT)
	f, err := Balance(E, n, driftFrac*qr)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"E", f.Evaporation, 15.300, 5e-4},
		{"B+D", f.Purge(), 3.825, 5e-4},
		{"D", f.Drift, 0.100, 5e-4},
		{"B", f.Blowdown, 3.725, 5e-4},
		{"M", f.Makeup, 19.125, 5e-4},
		{"feed 5 mg/L kg/h", InhibitorFeed(f.Purge(), 5), 0.01912, 5e-6},
	}
	n2, err := CyclesFromFlows(f.Makeup, f.Purge())
	if err != nil {
		t.Fatal(err)
	}
	checks = append(checks, struct {
		name      string
		got, want float64
		tol       float64
	}{"M/(B+D)", n2, 5.000, 5e-4})
	// GB/T 50050 with k = 0.0015 (30 °C ambient).
	gbE, err := e.EvaporationGB(qr, dT, 30)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Balance(gbE, n, 0)
	if err != nil {
		t.Fatal(err)
	}
	checks = append(checks, []struct {
		name      string
		got, want float64
		tol       float64
	}{{"GB E", gbE, 15.000, 5e-4}, {"GB B+D", g.Purge(), 3.750, 5e-4}, {"GB M", g.Makeup, 18.750, 5e-4}}...)
	// US units: 1000 gpm, 10 °F range, N = 4.
	usE := e.EvaporationUSgpm(1000, 10)
	u, err := Balance(usE, 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	checks = append(checks, []struct {
		name      string
		got, want float64
		tol       float64
	}{{"US E gpm", usE, 8.50, 5e-3}, {"US B gpm", u.Blowdown, 2.833, 5e-4}, {"US M gpm", u.Makeup, 11.333, 5e-4}}...)
	for _, c := range checks {
		if !near(c.got, c.want, c.tol) {
			t.Errorf("%s = %.5f, want %.5f", c.name, c.got, c.want)
		}
	}
}

func TestGBFactorInterpolationAndErrors(t *testing.T) {
	e, err := LoadEvaporation()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ t, k float64 }{{-10, 0.0008}, {25, 0.00145}, {35, 0.00155}, {40, 0.0016}} {
		k, err := e.GBFactor(c.t)
		if err != nil || !near(k, c.k, 1e-12) {
			t.Errorf("k(%g) = %g, %v; want %g", c.t, k, err, c.k)
		}
	}
	if _, err := e.GBFactor(45); err == nil {
		t.Error("45 °C accepted")
	}
	if _, err := Balance(10, 1, 0); err == nil {
		t.Error("N = 1 accepted")
	}
	if _, err := Balance(10, 20, 1); err == nil {
		t.Error("drift above purge accepted")
	}
	if _, err := CyclesFromConcentrations(500, 0); err == nil {
		t.Error("zero make-up concentration accepted")
	}
	if d, err := e.DriftFraction("eliminators"); err != nil || d != 0.0002 {
		t.Errorf("drift eliminators %g %v", d, err)
	}
}

// TestHoldingTime reproduces the §5 slug/HTI vector: V = 500 m³, B + D = 3.825 m³/h.
func TestHoldingTime(t *testing.T) {
	tau := TimeConstant(500, 3.825)
	if !near(tau, 130.7, 0.05) || !near(HoldingTimeIndex(500, 3.825), 90.6, 0.05) || !near(3*tau, 392, 0.5) {
		t.Errorf("τ %.2f HTI %.2f", tau, HoldingTimeIndex(500, 3.825))
	}
}
