package netmon_test

import (
	"math"
	"testing"

	"github.com/shuixiao/shuixiao/internal/netmon"
	"github.com/shuixiao/shuixiao/internal/sim/parknet"
	"github.com/shuixiao/shuixiao/leak"
	"github.com/shuixiao/shuixiao/network"
)

// parkSensors are sensors of the simulator's demo park network.
var parkSensors = []leak.Sensor{
	{Kind: leak.Pressure, ID: "T01"}, {Kind: leak.Pressure, ID: "A13"}, {Kind: leak.Pressure, ID: "A16"},
	{Kind: leak.Pressure, ID: "B09"}, {Kind: leak.Pressure, ID: "C08"}, {Kind: leak.Pressure, ID: "C18"},
	{Kind: leak.Flow, ID: "P-IN"}, {Kind: leak.Flow, ID: "PU1"}, {Kind: leak.Level, ID: "TK1"},
}

// readSensors returns the true sensor values of the park model now.
func readSensors(t testing.TB, m *parknet.Model) []float64 {
	t.Helper()
	row := make([]float64, len(parkSensors))
	for k, s := range parkSensors {
		var err error
		switch s.Kind {
		case leak.Flow:
			row[k], err = m.Flow(s.ID)
		default:
			row[k], err = m.Pressure(s.ID)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return row
}

func parkNetwork(t testing.TB) *network.Network {
	t.Helper()
	net, err := network.ParseBytes(parknet.INP())
	if err != nil {
		t.Fatal(err)
	}
	return net
}

func TestReferenceModelFollowsTheMeasuredState(t *testing.T) {
	net := parkNetwork(t)
	ref, err := netmon.NewReferenceModel(net, parkSensors)
	if err != nil {
		t.Fatal(err)
	}
	if !ref.HasDemandCalibration() {
		t.Fatal("P-IN leaves the reservoir: the model should calibrate demand on it")
	}
	m, err := parknet.New(3, 0)
	if err != nil {
		t.Fatal(err)
	}
	res := make([]float64, len(parkSensors))
	worst := 0.0
	for T := int64(0); T <= 2*86400; T += 300 {
		if err := m.Advance(T); err != nil {
			t.Fatal(err)
		}
		row := readSensors(t, m)
		s, mult, err := ref.Solve(T, row)
		if err != nil {
			t.Fatalf("T=%d: %v", T, err)
		}
		// The simulated demand is the file's times a day factor of a few
		// per cent and junction noise.
		if mult < 0.8 || mult > 1.2 {
			t.Fatalf("T=%d: demand multiplier %.3f", T, mult)
		}
		if q := s.Flow(0); math.Abs(q-row[6]) > 1e-3*row[6] {
			t.Fatalf("T=%d: modelled inflow %.2f, measured %.2f", T, q, row[6])
		}
		if err := ref.Residuals(T, row, res); err != nil {
			t.Fatal(err)
		}
		for k, sen := range parkSensors {
			if sen.Kind == leak.Pressure {
				worst = max(worst, math.Abs(res[k]))
			} else if res[k] != row[k] {
				t.Fatalf("Residuals changed the %s column", sen.Column())
			}
		}
	}
	// Without a leak, what is left is the demand noise inside the zones.
	if worst > 1 {
		t.Errorf("largest pressure residual without a leak %.2f m, want < 1 m", worst)
	}
	t.Logf("largest pressure residual over two leak-free days: %.3f m", worst)
}

// TestLeakSignaturesMatchASimulatedLeak checks the signatures against the
// simulator itself: opening a leak at a node changes the reference-model
// residuals as the node's signature times the leak flow says.
func TestLeakSignaturesMatchASimulatedLeak(t *testing.T) {
	net := parkNetwork(t)
	ref, err := netmon.NewReferenceModel(net, parkSensors)
	if err != nil {
		t.Fatal(err)
	}
	for _, node := range []string{"A16", "C09", "B11"} {
		const T = 10 * 3600
		before, after := make([]float64, len(parkSensors)), make([]float64, len(parkSensors))
		var q float64
		var row []float64
		for i, open := range []bool{false, true} {
			m, err := parknet.New(1, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Advance(T - 300); err != nil {
				t.Fatal(err)
			}
			if open {
				if _, err := m.OpenLeak(node, 15); err != nil {
					t.Fatal(err)
				}
			}
			if err := m.Advance(T); err != nil {
				t.Fatal(err)
			}
			row = readSensors(t, m)
			dst := [][]float64{before, after}[i]
			if err := ref.Residuals(T, row, dst); err != nil {
				t.Fatal(err)
			}
			q = m.LeakFlow(node)
		}
		sig, err := ref.LeakSignatures(T, parkSensors, row)
		if err != nil {
			t.Fatal(err)
		}
		at := -1
		for i, n := range sig.Nodes {
			if n == node {
				at = i
			}
		}
		if at < 0 {
			t.Fatalf("no signature for %s", node)
		}
		for k, sen := range parkSensors {
			if sen.Kind != leak.Pressure {
				continue
			}
			got, want := after[k]-before[k], sig.Delta[at][k]*q
			if math.Abs(got-want) > 0.02+0.1*math.Abs(want) {
				t.Errorf("leak of %.1f m³/h at %s: residual at %s changed by %.3f m, signature says %.3f m", q, node, sen.ID, got, want)
			}
		}
		// The leak's flow comes through the inflow, so the trial keeps the
		// measured inflow: its signature on P-IN is about zero.
		if d := sig.Delta[at][6]; math.Abs(d) > 0.01 {
			t.Errorf("signature of %s on the inflow: %.3f per m³/h", node, d)
		}
	}
}

func BenchmarkReferenceResiduals(b *testing.B) {
	net := parkNetwork(b)
	ref, err := netmon.NewReferenceModel(net, parkSensors)
	if err != nil {
		b.Fatal(err)
	}
	m, err := parknet.New(1, 0)
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Advance(36000); err != nil {
		b.Fatal(err)
	}
	row := readSensors(b, m)
	res := make([]float64, len(row))
	b.ReportAllocs()
	for b.Loop() {
		if err := ref.Residuals(36000, row, res); err != nil {
			b.Fatal(err)
		}
	}
}
