package leak

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// twoSensorModel is a toy signature model: a leak at a lowers P_a, a
// leak at b lowers P_b; both add their flow to the inflow.
type twoSensorModel struct{}

func (twoSensorModel) LeakSignatures(t int64, sensors []Sensor, readings []float64) (*Signatures, error) {
	return &Signatures{Nodes: []string{"a", "b"}, Delta: [][]float64{{-0.05, -0.005, 1}, {-0.005, -0.05, 1}}}, nil
}

// toyStream makes readings of P_a, P_b (m) and Q_in (m³/h) every 5 min:
// a daily demand cycle with random day-to-day scaling, head losses
// growing with the square of the inflow, sensor noise, and a leak of
// leakFlow at node a from step leakStep on.
func toyStream(steps, leakStep int, leakFlow float64, seed uint64) (times []int64, rows [][]float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	scale := 1.0
	for i := range steps {
		if i%12 == 0 {
			scale = 0.8*scale + 0.2*(1+0.04*rng.NormFloat64())
		}
		q := scale * (100 + 40*math.Sin(2*math.Pi*float64(i)/288))
		pa, pb := 50-0.0004*q*q, 45-0.0003*q*q
		if i >= leakStep {
			q += leakFlow
			pa -= 0.05 * leakFlow
			pb -= 0.005 * leakFlow
		}
		times = append(times, int64(i)*300)
		rows = append(rows, []float64{pa + 0.02*rng.NormFloat64(), pb + 0.02*rng.NormFloat64(), q * (1 + 0.01*rng.NormFloat64())})
	}
	return times, rows
}

func toyDetector(t *testing.T) *Detector {
	t.Helper()
	g, err := NewPipeGraph([]GraphLink{
		{ID: "pa", From: "a", To: "x", Length: 100, IsPipe: true},
		{ID: "pb", From: "b", To: "x", Length: 100, IsPipe: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig(300)
	cfg.CalibrationSteps = 3 * 288
	d, err := NewDetector([]Sensor{{Pressure, "a"}, {Pressure, "b"}, {Flow, "in"}}, 300, cfg, g, twoSensorModel{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDetectorStreaming(t *testing.T) {
	const leakStep = 5 * 288
	times, rows := toyStream(7*288, leakStep, 8, 7)
	d := toyDetector(t)
	var alarms []Alarm
	for i, tm := range times {
		if i == 3*288-1 && d.Calibrated() {
			t.Fatal("calibrated before CalibrationSteps")
		}
		a, err := d.Step(tm, rows[i])
		if err != nil {
			t.Fatal(err)
		}
		alarms = append(alarms, a...)
		if i == 3*288 && !d.Calibrated() {
			t.Fatal("not calibrated after CalibrationSteps")
		}
	}
	if len(alarms) != 1 {
		t.Fatalf("%d alarms, want exactly 1 (the detector holds after an alarm): %+v", len(alarms), alarms)
	}
	a := alarms[0]
	onset := times[leakStep]
	if a.Time < onset || a.Time > onset+3600 || a.Start < onset-600 || a.Start > a.Detected || a.Detected > a.Time {
		t.Errorf("alarm at %d, detected %d, start %d; leak began at %d", a.Time, a.Detected, a.Start, onset)
	}
	if len(a.Candidates) != 2 || a.Candidates[0].Link != "pa" || a.Candidates[0].Node != "a" {
		t.Fatalf("candidates %+v, want pa/a first", a.Candidates)
	}
	if math.Abs(a.Flow-8) > 3 {
		t.Errorf("estimated flow %.2f m³/h, true 8", a.Flow)
	}
	// After Resolve the charts restart: the leak is still there, so it is
	// reported again.
	d.Resolve()
	_, more := toyStream(7*288+48, leakStep, 8, 7)
	var again []Alarm
	for i := 7 * 288; i < len(more); i++ {
		a, err := d.Step(int64(i)*300, more[i])
		if err != nil {
			t.Fatal(err)
		}
		again = append(again, a...)
	}
	if len(again) != 1 {
		t.Errorf("%d alarms after Resolve, want 1", len(again))
	}
}

func TestDetectorNoLeakNoAlarm(t *testing.T) {
	times, rows := toyStream(10*288, 1<<30, 0, 11)
	d := toyDetector(t)
	for i, tm := range times {
		a, err := d.Step(tm, rows[i])
		if err != nil {
			t.Fatal(err)
		}
		if len(a) > 0 {
			t.Fatalf("false alarm at step %d: %+v", i, a[0])
		}
	}
}

func TestDetectorBadInput(t *testing.T) {
	d := toyDetector(t)
	if _, err := d.Step(0, []float64{1, 2}); err == nil || !strings.Contains(err.Error(), "2 readings for 3 sensors") {
		t.Errorf("short row: %v", err)
	}
	if _, err := d.Step(0, []float64{1, math.NaN(), 3}); err == nil || !strings.Contains(err.Error(), "P_b") {
		t.Errorf("NaN: %v", err)
	}
	if _, err := d.Step(300, []float64{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Step(300, []float64{1, 2, 3}); err == nil || !strings.Contains(err.Error(), "does not follow") {
		t.Errorf("repeated time: %v", err)
	}
	if err := d.Calibrate([]int64{0}, [][]float64{{1, 2, 3}}); err == nil {
		t.Error("one calibration step accepted")
	}
	for _, cfg := range []Config{{}, func() Config { c := DefaultConfig(300); c.Lambdas = []float64{2}; return c }()} {
		if _, err := NewDetector([]Sensor{{Pressure, "a"}, {Pressure, "b"}, {Flow, "in"}}, 300, cfg, nil, nil); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
	if _, err := NewDetector([]Sensor{{Pressure, "a"}}, 300, DefaultConfig(300), nil, nil); err == nil {
		t.Error("one sensor accepted")
	}
}

func BenchmarkDetectorStep(b *testing.B) {
	times, rows := toyStream(4*288, 1<<30, 0, 3)
	g, _ := NewPipeGraph([]GraphLink{{ID: "pa", From: "a", To: "x", Length: 1, IsPipe: true}})
	cfg := DefaultConfig(300)
	cfg.CalibrationSteps = 3 * 288
	d, err := NewDetector([]Sensor{{Pressure, "a"}, {Pressure, "b"}, {Flow, "in"}}, 300, cfg, g, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 3 * 288 {
		if _, err := d.Step(times[i], rows[i]); err != nil {
			b.Fatal(err)
		}
	}
	t := times[len(times)-1]
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t += 300
		if _, err := d.Step(t, rows[3*288+i%288]); err != nil {
			b.Fatal(err)
		}
	}
}
