package netmon

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/leak"
	"github.com/shuixiao/shuixiao/network"
)

// Physical constants for turning gauge pressure into metres of water head,
// the pressure unit of an SI EPANET model (specific gravity 1).
const (
	standardGravity = 9.80665 // m/s², CGPM 1901
	waterDensity    = 1000.0  // kg/m³, EPANET's reference water
	// MetresPerMPa is the head (m) of 1 MPa of gauge pressure.
	MetresPerMPa = 1e6 / (waterDensity * standardGravity)
)

// HeadMetres converts a pressure reading on channel to metres of water
// head: channels named *_mpa, *_kpa or *_bar are converted, others are
// taken to be in metres already.
func HeadMetres(channel string, v float64) float64 {
	switch {
	case strings.HasSuffix(channel, "_mpa"):
		return v * MetresPerMPa
	case strings.HasSuffix(channel, "_kpa"):
		return v * MetresPerMPa / 1000
	case strings.HasSuffix(channel, "_bar"):
		return v * MetresPerMPa / 10
	}
	return v
}

// Watcher runs the leak detector of one network on its live readings: it
// assembles time steps, turns pressures into residuals against the
// reference model, and feeds the detector. It calibrates itself on the
// first CalibrationDays of steps it sees. A Watcher is not safe for
// concurrent use.
type Watcher struct {
	cfg       Config
	net       *network.Network
	graph     *leak.PipeGraph
	ref       *ReferenceModel
	det       *leak.Detector
	asm       *Assembler
	sensorsOf map[string][]int // "point/channel" → sensor indexes
	residual  []float64
	status    Status
}

// Status is what a Watcher has done so far.
type Status struct {
	// Steps were assembled and fed to the detector; Errors of them failed
	// in the reference model and were left out.
	Steps  int `json:"steps"`
	Errors int `json:"errors"`
	// CalibrationSteps is how many steps calibration takes.
	CalibrationSteps int  `json:"calibration_steps"`
	Calibrated       bool `json:"calibrated"`
	// LastStep is the real time of the last step fed.
	LastStep time.Time `json:"last_step,omitzero"`
	// Statistics and Thresholds are the detector's chart statistics at
	// the last step and their alarm limits.
	Statistics []float64 `json:"statistics,omitempty"`
	Thresholds []float64 `json:"thresholds,omitempty"`
	// Watching is false while an alarm is open (the detector holds until
	// the leak is repaired).
	Watching  bool           `json:"watching"`
	Assembler AssemblerStats `json:"assembler"`
	// LastError is the last reference-model failure, if any.
	LastError string `json:"last_error,omitempty"`
}

// Finding is a leak the detector found, in real time.
type Finding struct {
	Raised, Detected, Start time.Time
	// FlowM3H is the estimated leak outflow.
	FlowM3H    float64
	Candidates []leak.Candidate
	// Statistic and Threshold are the chart value that fired and its limit.
	Statistic, Threshold float64
}

// detectorWait is how long (real time) the assembler waits for late
// readings beyond a step's window, in steps.
const detectorWait = 2

// NewWatcher prepares the detector of a network; cfg's defaults are filled
// in and it is validated against the model.
func NewWatcher(net *network.Network, cfg Config) (*Watcher, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(net); err != nil {
		return nil, err
	}
	sensors := cfg.LeakSensors()
	ref, err := NewReferenceModel(net, sensors)
	if err != nil {
		return nil, err
	}
	graph, err := leak.NetworkGraph(net)
	if err != nil {
		return nil, err
	}
	d := cfg.Detection
	lc := leak.DefaultConfig(d.StepS)
	lc.CalibrationSteps = max(int(math.Round(d.CalibrationDays*86400/float64(d.StepS))), 48)
	lc.FalseAlarmsPerYear = d.FalseAlarmsPerYear
	lc.Candidates = d.Candidates
	if d.CalibrationMargin > 0 {
		lc.CalibrationMargin = d.CalibrationMargin
	}
	det, err := leak.NewDetector(sensors, d.StepS, lc, graph, ref)
	if err != nil {
		return nil, err
	}
	stepReal := cfg.Clock.Real(time.Duration(d.StepS) * time.Second)
	w := &Watcher{cfg: cfg, net: net, graph: graph, ref: ref, det: det,
		asm:       NewAssembler(len(sensors), cfg.Clock, d.StepS, d.HoldSteps, detectorWait*stepReal),
		sensorsOf: map[string][]int{}, residual: make([]float64, len(sensors)),
		status: Status{CalibrationSteps: lc.CalibrationSteps, Watching: true}}
	for k, s := range cfg.Sensors {
		key := s.Point + "/" + s.Channel
		w.sensorsOf[key] = append(w.sensorsOf[key], k)
	}
	return w, nil
}

// Config returns the watcher's configuration (defaults filled in).
func (w *Watcher) Config() Config { return w.cfg }

// Graph returns the network's pipe graph.
func (w *Watcher) Graph() *leak.PipeGraph { return w.graph }

// Status returns the watcher's counters and the detector's state.
func (w *Watcher) Status() Status {
	s := w.status
	s.Assembler = w.asm.Stats()
	s.Statistics = slices.Clone(s.Statistics)
	s.Thresholds = slices.Clone(s.Thresholds)
	return s
}

// Wants reports whether readings of point on channel feed the detector.
func (w *Watcher) Wants(point, channel string) bool {
	_, ok := w.sensorsOf[point+"/"+channel]
	return ok
}

// Observe takes one value of a metering point's channel, read at t.
func (w *Watcher) Observe(point, channel string, t time.Time, v float64) {
	for _, k := range w.sensorsOf[point+"/"+channel] {
		if w.cfg.Sensors[k].Kind == KindPressure {
			v = HeadMetres(channel, v)
		}
		w.asm.Add(k, t, v)
	}
}

// Advance feeds the detector every step complete at now and returns the
// leaks it found.
func (w *Watcher) Advance(now time.Time) ([]Finding, error) {
	var out []Finding
	for _, row := range w.asm.Ready(now) {
		if err := w.ref.Residuals(row.T, row.Values, w.residual); err != nil {
			// One step the model cannot reproduce (a sensor reading
			// nonsense) must not stop the watch.
			w.status.Errors++
			w.status.LastError = fmt.Sprintf("%s: %v", row.Time.Format(time.RFC3339), err)
			continue
		}
		alarms, err := w.det.Step(row.T, w.residual)
		if err != nil {
			return out, fmt.Errorf("network detector: %w", err)
		}
		w.status.Steps++
		w.status.LastStep = row.Time
		w.status.Calibrated = w.det.Calibrated()
		if w.status.Calibrated {
			w.status.Statistics = w.det.Statistics()
			w.status.Thresholds, _ = w.det.ChartLimits()
		}
		for _, a := range alarms {
			if !w.status.Watching {
				continue // an earlier alarm is still open
			}
			w.status.Watching = false
			out = append(out, Finding{
				Raised: w.cfg.Clock.Instant(a.Time), Detected: w.cfg.Clock.Instant(a.Detected), Start: w.cfg.Clock.Instant(a.Start),
				FlowM3H: a.Flow, Candidates: a.Candidates, Statistic: a.Statistic, Threshold: a.Threshold,
			})
		}
	}
	return out, nil
}

// Resolve re-arms the detector after a leak was repaired.
func (w *Watcher) Resolve() {
	w.det.Resolve()
	w.status.Watching = true
}

// Hold keeps the detector from raising alarms (an earlier alarm is still
// open, e.g. after a restart) until Resolve.
func (w *Watcher) Hold() { w.status.Watching = false }
