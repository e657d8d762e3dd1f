package leak

import (
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// scenario is one evaluation file with its ground truth.
type scenario struct {
	name      string
	path      []string // under testdata
	calibrate []string // leak-free file to calibrate on (nil: first week)
	pipe      string   // true leak pipe ("" for none)
	onset     int64
	incipient bool
	noise     uint64 // seed of the σ = 0.02 m pressure noise added (0: none)
}

func scenarios() []scenario {
	train := func(name, pipe string, incipient bool) scenario {
		return scenario{name: name, path: []string{"leak", "training_ltown", name + ".csv"}, pipe: pipe, onset: 864000, incipient: incipient}
	}
	synth := func(name, pipe string, seed uint64) scenario {
		return scenario{name: name, path: []string{"leak", "synthetic_ltown", name + ".csv"},
			calibrate: []string{"leak", "synthetic_ltown", "baseline.csv"}, pipe: pipe, onset: 108000, noise: seed}
	}
	return []scenario{
		train("train_noleak", "", false),
		train("train_01", "p391", false),
		train("train_02", "p78", false),
		train("train_03", "p890", false),
		train("train_04", "p307", true),
		train("train_05", "p204", false),
		train("train_06", "p255", false),
		train("train_07", "p743", true),
		train("train_08", "p893", false),
		synth("leak_p142", "p142", 142),
		synth("leak_p523", "p523", 523),
		synth("leak_p827", "p827", 827),
	}
}

// readLabel reads the leak_flow label column (the detector never sees it).
func readLabel(t testing.TB, parts ...string) []float64 {
	t.Helper()
	rows, err := csv.NewReader(openData(t, parts...)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := -1
	for c, h := range rows[0] {
		if h == "leak_flow" {
			col = c
		}
	}
	if col < 0 {
		t.Fatal("no leak_flow column")
	}
	out := make([]float64, len(rows)-1)
	for i, r := range rows[1:] {
		if out[i], err = strconv.ParseFloat(r[col], 64); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// readNoisy reads a SCADA file and adds seeded Gaussian noise of σ = 0.02 m
// to the pressures when seed is not 0.
func readNoisy(t testing.TB, g *PipeGraph, seed uint64, parts ...string) *SCADA {
	t.Helper()
	s, err := ReadSCADA(openData(t, parts...), g)
	if err != nil {
		t.Fatal(err)
	}
	if seed != 0 {
		rng := rand.New(rand.NewPCG(seed, 2020))
		for _, row := range s.Values {
			for k, sen := range s.Sensors {
				if sen.Kind == Pressure {
					row[k] += 0.02 * rng.NormFloat64()
				}
			}
		}
	}
	return s
}

// outcome is the evaluation of one scenario.
type outcome struct {
	sc          scenario
	alarms      []Alarm
	falseAlarms int
	delay       int64 // first alarm after onset − onset (s); -1 none
	delay5      int64 // first alarm − time the leak first reached 5 m³/h
	distance    float64
	estFlow     float64
	trueFlow    float64 // label at the alarm time
}

func evaluate(t testing.TB, g *PipeGraph, model SignatureModel, sc scenario) outcome {
	t.Helper()
	data := readNoisy(t, g, sc.noise, sc.path...)
	det, err := NewDetector(data.Sensors, data.Step, DefaultConfig(data.Step), g, model)
	if err != nil {
		t.Fatal(err)
	}
	if sc.calibrate != nil {
		cal := readNoisy(t, g, sc.noise+1, sc.calibrate...)
		if err := det.Calibrate(cal.Times, cal.Values); err != nil {
			t.Fatal(err)
		}
	}
	out := outcome{sc: sc, delay: -1, delay5: -1, distance: math.NaN(), estFlow: math.NaN(), trueFlow: math.NaN()}
	for i, tm := range data.Times {
		alarms, err := det.Step(tm, data.Values[i])
		if err != nil {
			t.Fatal(err)
		}
		out.alarms = append(out.alarms, alarms...)
	}
	if sc.pipe == "" {
		out.falseAlarms = len(out.alarms)
		return out
	}
	label := readLabel(t, sc.path...)
	t5 := int64(-1)
	for i, q := range label {
		if q >= 5 {
			t5 = data.Times[i]
			break
		}
	}
	for _, a := range out.alarms {
		if a.Time < sc.onset {
			out.falseAlarms++
			continue
		}
		if out.delay >= 0 {
			continue
		}
		out.delay = a.Time - sc.onset
		if t5 >= 0 {
			out.delay5 = a.Time - t5
		}
		out.estFlow = a.Flow
		out.trueFlow = label[(a.Time-data.Times[0])/data.Step]
		if len(a.Candidates) > 0 {
			if out.distance, err = g.Distance(a.Candidates[0].Link, sc.pipe); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

func (o outcome) String() string {
	return fmt.Sprintf("%-13s %-5s alarms %d false %d delay %6.0f min (from 5 m³/h: %6.0f min) rank-1 %7.1f m  flow est %5.1f true %5.1f",
		o.sc.name, o.sc.pipe, len(o.alarms), o.falseAlarms, float64(o.delay)/60, float64(o.delay5)/60, o.distance, o.estFlow, o.trueFlow)
}

// TestDetectorTargets checks the targets on the training and
// synthetic L-Town scenarios: no alarm on leak-free days, every leak
// alarmed within an hour of onset (incipient leaks: of reaching 5 m³/h),
// and the rank-1 candidate within 300 m of the true pipe for at least 5
// of 6 abrupt leaks. Under -race one leak file runs (its days 7–10 still
// test for false alarms); the full
// table is printed with -v.
func TestDetectorTargets(t *testing.T) {
	net := ltownNetwork(t)
	g, err := NetworkGraph(net)
	if err != nil {
		t.Fatal(err)
	}
	model, err := NewHydraulicModel(net)
	if err != nil {
		t.Fatal(err)
	}
	var located, abrupt int
	for _, sc := range scenarios() {
		if raceEnabled && sc.name != "train_08" {
			continue
		}
		o := evaluate(t, g, model, sc)
		t.Log(o)
		if o.falseAlarms > 0 {
			t.Errorf("%s: %d false alarms", sc.name, o.falseAlarms)
		}
		if sc.pipe == "" {
			continue
		}
		switch {
		case o.delay < 0:
			t.Errorf("%s: leak not detected", sc.name)
		case sc.incipient && o.delay5 > 3600:
			t.Errorf("%s: incipient leak alarmed %d s after reaching 5 m³/h", sc.name, o.delay5)
		case !sc.incipient && o.delay > 3600:
			t.Errorf("%s: alarm %d s after onset", sc.name, o.delay)
		}
		if !sc.incipient {
			abrupt++
			if o.distance <= 300 {
				located++
			}
			// The flow estimate is checked on the realistic training files;
			// on the two-day synthetic files the calibration is too short
			// to separate inflow from pressure effects (see the report).
			if rel := math.Abs(o.estFlow-o.trueFlow) / o.trueFlow; sc.calibrate == nil && !(rel < 0.5) {
				t.Errorf("%s: estimated flow %.1f m³/h, true %.1f", sc.name, o.estFlow, o.trueFlow)
			}
		}
	}
	// At least 5 of 6 leaks within 300 m (all of a smaller subset).
	if need := abrupt - abrupt/6; located < need {
		t.Errorf("rank-1 within 300 m for %d of %d abrupt leaks, want at least %d", located, abrupt, need)
	}
}

// BenchmarkLeakSignatures measures one localisation's hydraulic work on
// L-Town: a base snapshot and one snapshot per junction (782).
func BenchmarkLeakSignatures(b *testing.B) {
	net := ltownNetwork(b)
	g, err := NetworkGraph(net)
	if err != nil {
		b.Fatal(err)
	}
	model, err := NewHydraulicModel(net)
	if err != nil {
		b.Fatal(err)
	}
	data := readNoisy(b, g, 0, "leak", "training_ltown", "train_08.csv")
	for b.Loop() {
		if _, err := model.LeakSignatures(data.Times[2890], data.Sensors, data.Values[2890]); err != nil {
			b.Fatal(err)
		}
	}
}
