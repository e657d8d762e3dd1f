package leak

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Config sets up a Detector. Start from DefaultConfig.
type Config struct {
	// CalibrationSteps is how many leading steps of the stream are taken
	// as leak-free calibration data when Calibrate is not called first.
	CalibrationSteps int
	// FalseAlarmsPerYear is the false alarm rate the pressure charts are
	// designed for (a χ² tail probability per independent chart sample).
	FalseAlarmsPerYear float64
	// Lambdas are the smoothing constants of the MEWMA charts, one chart
	// each: a fast one for bursts and slower ones for growing leaks.
	Lambdas []float64
	// Shrinkage pulls the residual covariances towards a multiple of the
	// identity (0 = sample covariance, 1 = diagonal), which keeps the
	// charts stable when some direction was barely excited during
	// calibration.
	Shrinkage float64
	// CalibrationMargin raises each chart's limit to at least this
	// multiple of the largest cross-validated statistic seen during
	// calibration. One leak-free week cannot show every demand situation
	// of a year; on the training data the leak-free days after the
	// calibration week reached up to 1.8 times the calibration maximum.
	CalibrationMargin float64
	// ConfirmSteps is how many steps after a chart first crosses its limit
	// the alarm is raised: they let the onset be estimated and the leak
	// be located from more than one or two noisy samples.
	ConfirmSteps int
	// MaxWindow bounds the number of steps averaged to locate an alarm.
	MaxWindow int
	// Candidates is the number of ranked candidate pipes per alarm.
	Candidates int
}

// DefaultConfig returns the configuration used for L-Town-like networks
// with 5-minute data: one week of calibration, one false alarm per year,
// MEWMA charts with λ = 1/3 and 1/12 (about 15 min and 1 h of memory),
// limits at least twice the calibration maximum, alarms confirmed 30
// minutes after the first crossing, and ten candidates.
func DefaultConfig(step int64) Config {
	perDay := int(86400 / max(step, 1))
	return Config{
		CalibrationSteps:   7 * perDay,
		FalseAlarmsPerYear: 1,
		Lambdas:            []float64{1.0 / 3, 1.0 / 12},
		CalibrationMargin:  2,
		Shrinkage:          0.2,
		ConfirmSteps:       max(perDay/48, 1),
		MaxWindow:          max(perDay/24, 3) * 3,
		Candidates:         10,
	}
}

// Signatures are the modelled changes of the sensor readings caused by a
// leak of 1 m³/h at each candidate node.
type Signatures struct {
	// Nodes are the candidate nodes.
	Nodes []string
	// Delta[i][k] is the change of sensor k (in the detector's sensor
	// order and units) for a 1 m³/h leak at Nodes[i].
	Delta [][]float64
}

// SignatureModel computes leak signatures with a hydraulic model of the
// network at the operating point given by the time and the readings (tank
// levels, pump flows, inflows) of one step.
type SignatureModel interface {
	LeakSignatures(t int64, sensors []Sensor, readings []float64) (*Signatures, error)
}

// Candidate is one possible leak location of an alarm.
type Candidate struct {
	// Link is a pipe at Node, the one whose other end matches best.
	Link string
	Node string
	// Flow is the leak outflow (m³/h) that best explains the residuals
	// with a leak at Node.
	Flow float64
	// Misfit is the whitened squared residual left by that leak (lower is
	// better); candidates are sorted by it.
	Misfit float64
}

// Alarm is a detected leak.
type Alarm struct {
	// Time is when the alarm was raised, Detected when a chart first
	// crossed its limit, Start the estimated onset of the leak.
	Time, Detected, Start int64
	// Chart is the index in Config.Lambdas of the chart that fired;
	// Statistic and Threshold its value and limit.
	Chart                int
	Statistic, Threshold float64
	// Flow is the estimated leak outflow in m³/h (the rank-1 candidate's,
	// or NaN without a signature model).
	Flow float64
	// Candidates are ranked, best first (empty without a signature model).
	Candidates []Candidate
}

// Detector watches a stream of SCADA readings for leaks. It models each
// pressure sensor by a regression on the flow and level readings of the
// same step (the inflows carry the day-to-day demand variation), learnt
// on a leak-free calibration period; the pressure residuals are watched
// by multivariate EWMA charts (Lowry et al. 1992) whitened with the
// residual covariance found by leave-one-day-out cross-validation, with
// limits set for the configured false alarm rate. An alarm is located by
// matching the mean residual since the estimated onset with the modelled
// leak signatures mapped through the same regression (weighted least
// squares with a non-negative leak flow: the whitened vector-angle method).
//
// A Detector is not safe for concurrent use.
type Detector struct {
	cfg      Config
	sensors  []Sensor
	pressure []int // indexes of pressure sensors
	flows    []int
	levels   []int
	graph    *PipeGraph
	model    SignatureModel
	pipesAt  map[string][]string

	step      int64
	lastT     int64
	started   bool
	calTimes  []int64
	calRows   [][]float64
	baseline  *baseline
	charts    []chart
	localCov  *whitener
	history   []historyEntry // last MaxWindow steps
	holding   bool
	pending   *Alarm
	residual  []float64
	whiteBufs [2][]float64
}

type chart struct {
	lambda    float64
	ewma      []float64
	white     *whitener
	threshold float64
	dof       float64
	calMax    float64
}

type historyEntry struct {
	t        int64
	residual []float64
	stats    []float64
}

// NewDetector returns a detector for the given sensor columns. graph maps
// candidate nodes to pipes; model computes leak signatures and may be nil
// (alarms then carry no candidates). The sensors need at least two
// pressure sensors and one flow sensor.
func NewDetector(sensors []Sensor, step int64, cfg Config, graph *PipeGraph, model SignatureModel) (*Detector, error) {
	if step <= 0 {
		return nil, fmt.Errorf("leak detector: time step %d s must be positive", step)
	}
	if cfg.CalibrationSteps < 48 || cfg.ConfirmSteps < 0 || cfg.FalseAlarmsPerYear <= 0 || len(cfg.Lambdas) == 0 || cfg.MaxWindow < 1 || cfg.Candidates < 1 ||
		cfg.Shrinkage < 0 || cfg.Shrinkage > 1 || cfg.CalibrationMargin < 0 {
		return nil, fmt.Errorf("leak detector: invalid configuration %+v", cfg)
	}
	for _, l := range cfg.Lambdas {
		if !(l > 0 && l <= 1) {
			return nil, fmt.Errorf("leak detector: EWMA λ %v outside (0, 1]", l)
		}
	}
	d := &Detector{cfg: cfg, sensors: slices.Clone(sensors), step: step, graph: graph, model: model}
	for k, s := range sensors {
		switch s.Kind {
		case Pressure:
			d.pressure = append(d.pressure, k)
		case Flow:
			d.flows = append(d.flows, k)
		case Level:
			d.levels = append(d.levels, k)
		}
	}
	if len(d.pressure) < 2 || len(d.flows) < 1 {
		return nil, errors.New("leak detector: need at least two pressure sensors and one flow sensor")
	}
	if graph != nil {
		d.pipesAt = map[string][]string{}
		for _, id := range graph.LinkIDs() {
			l := graph.links[graph.linkIndex[id]]
			if !l.isPipe {
				continue
			}
			for _, n := range []int{l.from, l.to} {
				d.pipesAt[graph.nodeIDs[n]] = append(d.pipesAt[graph.nodeIDs[n]], id)
			}
		}
	}
	d.residual = make([]float64, len(d.pressure))
	d.whiteBufs = [2][]float64{make([]float64, len(d.pressure)), make([]float64, len(d.pressure))}
	return d, nil
}

// Calibrated reports whether the detector has learnt its baseline.
func (d *Detector) Calibrated() bool { return d.baseline != nil }

// Calibrate learns the baseline from leak-free readings (rows aligned with
// the detector's sensors, Times[i] for Rows[i]). It replaces the automatic
// calibration on the first CalibrationSteps steps of the stream.
func (d *Detector) Calibrate(times []int64, rows [][]float64) error {
	if len(rows) != len(times) {
		return errors.New("leak calibrate: times and rows differ in length")
	}
	perDay := int(86400 / d.step)
	if len(rows) < max(48, perDay/2) {
		return fmt.Errorf("leak calibrate: %d steps are too few (need at least %d)", len(rows), max(48, perDay/2))
	}
	for i, r := range rows {
		if err := d.checkRow(r); err != nil {
			return fmt.Errorf("leak calibrate step %d (t=%d): %w", i, times[i], err)
		}
	}
	nf := newFeatures(d.flows, d.levels, rows)
	bl, err := fitBaseline(nf, d.pressure, rows)
	if err != nil {
		return fmt.Errorf("leak calibrate: %w", err)
	}
	// Out-of-sample residuals: refit without each day in turn.
	folds := max(2, min(len(rows)/perDay, 14))
	oos := make([][]float64, len(rows))
	foldLen := (len(rows) + folds - 1) / folds
	for f := 0; f < folds; f++ {
		lo, hi := f*foldLen, min((f+1)*foldLen, len(rows))
		if lo >= hi {
			continue
		}
		train := append(slices.Clone(rows[:lo]), rows[hi:]...)
		fb, err := fitBaseline(nf, d.pressure, train)
		if err != nil {
			return fmt.Errorf("leak calibrate fold %d: %w", f, err)
		}
		for i := lo; i < hi; i++ {
			oos[i] = make([]float64, len(d.pressure))
			fb.residual(rows[i], oos[i])
		}
	}
	n := len(d.pressure)
	stepsPerYear := 365 * 86400 / float64(d.step)
	charts := make([]chart, len(d.cfg.Lambdas))
	for c, lambda := range d.cfg.Lambdas {
		warm := min(int(3/lambda), len(rows)/4)
		e := make([]float64, n)
		cov := newMatrix(n, n)
		count := 0
		for i, r := range oos {
			for k := range e {
				e[k] = (1-lambda)*e[k] + lambda*r[k]
			}
			if i < warm {
				continue
			}
			for a := 0; a < n; a++ {
				for b := 0; b <= a; b++ {
					cov.add(a, b, e[a]*e[b])
				}
			}
			count++
		}
		w, err := shrunkWhitener(cov, count, d.cfg.Shrinkage)
		if err != nil {
			return fmt.Errorf("leak calibrate chart λ=%v: %w", lambda, err)
		}
		// The cross-validated statistic over the calibration period.
		clear(e)
		calMax := 0.0
		for i, r := range oos {
			for k := range e {
				e[k] = (1-lambda)*e[k] + lambda*r[k]
			}
			if i >= warm {
				calMax = max(calMax, w.quadratic(e))
			}
		}
		// An EWMA of memory ~(2-λ)/λ steps gives about λ/(2-λ) independent
		// samples per step; share the false alarm budget among the charts.
		independent := stepsPerYear * lambda / (2 - lambda)
		alpha := d.cfg.FalseAlarmsPerYear / independent / float64(len(d.cfg.Lambdas))
		charts[c] = chart{lambda: lambda, ewma: make([]float64, n), white: w,
			threshold: max(chiSquareQuantile(1-alpha, n), d.cfg.CalibrationMargin*calMax), dof: float64(n), calMax: calMax}
	}
	// Localisation weights: covariance of single-step residuals.
	cov := newMatrix(n, n)
	for _, r := range oos {
		for a := 0; a < n; a++ {
			for b := 0; b <= a; b++ {
				cov.add(a, b, r[a]*r[b])
			}
		}
	}
	local, err := shrunkWhitener(cov, len(oos), d.cfg.Shrinkage)
	if err != nil {
		return fmt.Errorf("leak calibrate localisation weights: %w", err)
	}
	d.baseline, d.charts, d.localCov = bl, charts, local
	d.calRows, d.calTimes = nil, nil
	return nil
}

// shrunkWhitener turns an accumulated lower-triangle second-moment
// matrix into a shrunk covariance and factors it.
func shrunkWhitener(cov *matrix, count int, shrink float64) (*whitener, error) {
	n := cov.n
	if count < 2 {
		return nil, errors.New("too few samples for a covariance")
	}
	trace := 0.0
	for a := 0; a < n; a++ {
		trace += cov.at(a, a) / float64(count)
	}
	for a := 0; a < n; a++ {
		for b := 0; b <= a; b++ {
			v := cov.at(a, b) / float64(count) * (1 - shrink)
			if a == b {
				v += shrink * trace / float64(n)
			}
			cov.set(a, b, v)
			cov.set(b, a, v)
		}
	}
	return newWhitener(cov)
}

func (d *Detector) checkRow(r []float64) error {
	if len(r) != len(d.sensors) {
		return fmt.Errorf("%d readings for %d sensors", len(r), len(d.sensors))
	}
	for k, v := range r {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("sensor %s: reading %v", d.sensors[k].Column(), v)
		}
	}
	return nil
}

// Step feeds the readings of one time step (aligned with the detector's
// sensors) and returns the alarms raised at this step. Until the detector
// is calibrated the first CalibrationSteps steps are kept as calibration
// data. Times must increase. After an alarm the detector holds (raises no
// new alarm) until Resolve is called, as a leak stays until it is
// repaired.
func (d *Detector) Step(t int64, readings []float64) ([]Alarm, error) {
	if err := d.checkRow(readings); err != nil {
		return nil, fmt.Errorf("leak detector t=%d: %w", t, err)
	}
	if d.started && t <= d.lastT {
		return nil, fmt.Errorf("leak detector: time %d does not follow %d", t, d.lastT)
	}
	d.started, d.lastT = true, t
	if d.baseline == nil {
		d.calTimes = append(d.calTimes, t)
		d.calRows = append(d.calRows, slices.Clone(readings))
		if len(d.calRows) >= d.cfg.CalibrationSteps {
			if err := d.Calibrate(d.calTimes, d.calRows); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	d.baseline.residual(readings, d.residual)
	entry := historyEntry{t: t, residual: slices.Clone(d.residual), stats: make([]float64, len(d.charts))}
	fired := -1
	for c := range d.charts {
		ch := &d.charts[c]
		for k, r := range d.residual {
			ch.ewma[k] = (1-ch.lambda)*ch.ewma[k] + ch.lambda*r
		}
		entry.stats[c] = ch.white.quadratic(ch.ewma)
		if entry.stats[c] > ch.threshold && (fired < 0 || entry.stats[c]/ch.threshold > entry.stats[fired]/d.charts[fired].threshold) {
			fired = c
		}
	}
	d.history = append(d.history, entry)
	if len(d.history) > 4*d.cfg.MaxWindow {
		d.history = d.history[len(d.history)-2*d.cfg.MaxWindow:]
	}
	if d.pending == nil && !d.holding && fired >= 0 {
		d.holding = true
		d.pending = &Alarm{Detected: t, Chart: fired, Statistic: entry.stats[fired], Threshold: d.charts[fired].threshold, Flow: math.NaN()}
	}
	if d.pending == nil || (t-d.pending.Detected)/d.step < int64(d.cfg.ConfirmSteps) {
		return nil, nil
	}
	alarm := *d.pending
	d.pending = nil
	alarm.Time = t
	first := d.onset(alarm.Detected)
	alarm.Start = d.history[first].t
	mean := make([]float64, len(d.pressure))
	for _, h := range d.history[first:] {
		for k, r := range h.residual {
			mean[k] += r / float64(len(d.history)-first)
		}
	}
	if d.model != nil {
		sig, err := d.model.LeakSignatures(t, d.sensors, readings)
		if err != nil {
			return nil, fmt.Errorf("leak detector t=%d: signatures: %w", t, err)
		}
		cands, err := d.locate(mean, readings, sig)
		if err != nil {
			return nil, fmt.Errorf("leak detector t=%d: %w", t, err)
		}
		alarm.Candidates = cands
		if len(cands) > 0 {
			alarm.Flow = cands[0].Flow
		}
	}
	return []Alarm{alarm}, nil
}

// onset estimates where in the history the leak began: the start of the
// window, ending now and beginning no later than the detection, whose
// whitened residuals projected on the leak's direction have the largest
// generalised likelihood ratio for a mean shift (Σz)²/n.
func (d *Detector) onset(detected int64) int {
	last := len(d.history) - 1
	lo := max(0, last+1-d.cfg.MaxWindow)
	hi := last
	for hi > lo && d.history[hi].t > detected {
		hi--
	}
	n := len(d.pressure)
	// Direction: the whitened mean residual since detection.
	dir := make([]float64, n)
	w := make([]float64, n)
	for _, h := range d.history[hi:] {
		d.localCov.whiten(w, h.residual)
		for k := range dir {
			dir[k] += w[k]
		}
	}
	norm := math.Sqrt(dot(dir, dir))
	if norm == 0 {
		return hi
	}
	sum, best, bestScore := 0.0, hi, math.Inf(-1)
	for i := last; i >= lo; i-- {
		d.localCov.whiten(w, d.history[i].residual)
		sum += dot(w, dir) / norm
		if i <= hi {
			if score := sum * sum / float64(last-i+1); sum > 0 && score > bestScore {
				best, bestScore = i, score
			}
		}
	}
	return best
}

// Resolve re-arms the detector after an alarm (the leak was repaired):
// the charts restart from zero.
func (d *Detector) Resolve() {
	d.holding, d.pending = false, nil
	for c := range d.charts {
		clear(d.charts[c].ewma)
	}
	d.history = d.history[:0]
}

// locate ranks the candidate nodes of sig by how well a leak there
// explains the mean residual and maps the best ones to pipes.
func (d *Detector) locate(mean, readings []float64, sig *Signatures) ([]Candidate, error) {
	if len(sig.Delta) != len(sig.Nodes) {
		return nil, errors.New("signatures: nodes and deltas differ in length")
	}
	n := len(d.pressure)
	wr := make([]float64, n)
	d.localCov.whiten(wr, mean)
	rr := dot(wr, wr)
	base := make([]float64, n)
	d.baseline.predict(readings, base)
	shifted := make([]float64, len(readings))
	pred := make([]float64, n)
	sigRes := make([]float64, n)
	wd := make([]float64, n)
	type scored struct {
		node      string
		flow, fit float64
	}
	all := make([]scored, 0, len(sig.Nodes))
	misfit := map[string]float64{}
	for i, delta := range sig.Delta {
		if len(delta) != len(d.sensors) {
			return nil, fmt.Errorf("signature of %s has %d values for %d sensors", sig.Nodes[i], len(delta), len(d.sensors))
		}
		// What the detector sees of a unit leak: the pressure change
		// minus what the baseline attributes to the flow and level
		// changes the leak causes.
		for k, v := range readings {
			shifted[k] = v + delta[k]
		}
		d.baseline.predict(shifted, pred)
		for k, p := range d.pressure {
			sigRes[k] = delta[p] - (pred[k] - base[k])
		}
		d.localCov.whiten(wd, sigRes)
		dd, dr := dot(wd, wd), dot(wd, wr)
		flow, fit := 0.0, rr
		if dd > 0 && dr > 0 {
			flow = dr / dd
			fit = rr - dr*dr/dd
		}
		all = append(all, scored{sig.Nodes[i], flow, fit})
		misfit[sig.Nodes[i]] = fit
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].fit < all[b].fit })
	var out []Candidate
	used := map[string]bool{}
	for _, s := range all {
		if len(out) == d.cfg.Candidates {
			break
		}
		link := d.bestPipe(s.node, misfit, used)
		if link == "" && d.graph != nil {
			continue
		}
		used[link] = true
		out = append(out, Candidate{Link: link, Node: s.node, Flow: s.flow, Misfit: s.fit})
	}
	return out, nil
}

// bestPipe returns the unused pipe at node whose other end has the lowest
// misfit.
func (d *Detector) bestPipe(node string, misfit map[string]float64, used map[string]bool) string {
	best, bestFit := "", math.Inf(1)
	for _, p := range d.pipesAt[node] {
		if used[p] {
			continue
		}
		a, b, _ := d.graph.LinkEnds(p)
		other := a
		if a == node {
			other = b
		}
		f, ok := misfit[other]
		if !ok {
			f = math.MaxFloat64
		}
		if best == "" || f < bestFit {
			best, bestFit = p, f
		}
	}
	return best
}

// ChartLimits returns, per chart, the alarm threshold and the largest
// cross-validated statistic seen during calibration.
func (d *Detector) ChartLimits() (thresholds, calibrationMax []float64) {
	for _, c := range d.charts {
		thresholds = append(thresholds, c.threshold)
		calibrationMax = append(calibrationMax, c.calMax)
	}
	return thresholds, calibrationMax
}

// Statistics returns the current chart statistics.
func (d *Detector) Statistics() []float64 {
	if len(d.history) == 0 {
		return nil
	}
	return slices.Clone(d.history[len(d.history)-1].stats)
}
