package netmon

import (
	"math"
	"slices"
	"time"
)

// Assembler turns readings that arrive one sensor at a time — late, out of
// order, some missing — into rows of one value per sensor at the
// detector's time steps (multiples of the step in network time).
//
// A sensor's value at step T is its reading nearest to T within half a
// step; failing that, its last reading before T if it is at most the hold
// time old (sample and hold, as SCADA historians do); failing that the
// sensor is missing and the step is skipped, because the detector needs
// every sensor. A step is assembled once every sensor has reported past
// it, or when the wait for late readings has passed. The wait is counted
// from when a reading past the step arrived, or, while no sensor has
// reported past it, from the later of the step's end and the last arrival:
// a logger uploading its logged history (readings far behind the present,
// arriving one step after another) fills every step before it is
// assembled, instead of finding them all long overdue.
//
// An Assembler is not safe for concurrent use.
type Assembler struct {
	clock   Clock
	step    float64 // network seconds
	hold    float64 // network seconds
	wait    float64 // network seconds after a step's half-window closes
	samples [][]sample
	next    int64 // network time of the next step; valid once started
	started bool
	// now is the network time of the latest Ready, the assembler's present;
	// arrived that of the last reading's arrival (see sample.arr); pending
	// readings arrived since the latest Ready.
	now, arrived float64
	pending      int
	stats        AssemblerStats
}

// AssemblerStats counts what an Assembler did.
type AssemblerStats struct {
	// Rows were assembled, Held of their values were held over from an
	// earlier reading, Skipped steps missed a sensor.
	Rows    int `json:"rows"`
	Held    int `json:"held"`
	Skipped int `json:"skipped"`
	// Late readings came after the steps they could serve.
	Late int `json:"late"`
	// Missing counts, per sensor, the skipped steps it was missing from.
	Missing []int `json:"missing"`
}

type sample struct {
	t float64 // network seconds
	v float64
	// arr is when the reading arrived (network seconds): the present of
	// the first Ready after it, or the reading's own time if that is
	// later; +Inf until that Ready. Before any Ready it is the reading's
	// time.
	arr float64
}

// Row is one assembled step.
type Row struct {
	// T is the step's network time in seconds; Time the real instant.
	T      int64
	Time   time.Time
	Values []float64
}

// maxSamples bounds the readings kept per sensor.
const maxSamples = 256

// NewAssembler returns an assembler for n sensors with the given step and
// hold (network seconds). Readings later than wait (real time) after the
// step's window closed are too late for it.
func NewAssembler(n int, clock Clock, stepS int64, holdSteps int, wait time.Duration) *Assembler {
	return &Assembler{
		clock:   clock,
		step:    float64(stepS),
		hold:    float64(stepS) * float64(holdSteps),
		wait:    wait.Seconds() * max(clock.Speed, 1),
		samples: make([][]sample, n),
		stats:   AssemblerStats{Missing: make([]int, n)},
	}
}

// Stats returns the counters so far.
func (a *Assembler) Stats() AssemblerStats {
	s := a.stats
	s.Missing = slices.Clone(a.stats.Missing)
	return s
}

// networkSeconds is the exact network time of a real instant.
func (a *Assembler) networkSeconds(t time.Time) float64 {
	return a.clock.model(t).Sub(networkTimeOrigin).Seconds()
}

// Add records a reading of sensor k taken at t.
func (a *Assembler) Add(k int, t time.Time, v float64) {
	if k < 0 || k >= len(a.samples) || math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	ts := a.networkSeconds(t)
	if a.started && ts < float64(a.next)-math.Max(a.hold, a.step/2) {
		a.stats.Late++
		return
	}
	s := a.samples[k]
	i := len(s)
	for i > 0 && s[i-1].t > ts {
		i--
	}
	arr := ts
	if a.now > 0 {
		arr = math.Inf(1)
		a.pending++
	} else {
		a.arrived = math.Max(a.arrived, arr)
	}
	if i > 0 && s[i-1].t == ts {
		s[i-1].v = v // the same instant again: keep the newest
		s[i-1].arr = math.Min(s[i-1].arr, arr)
		return
	}
	s = slices.Insert(s, i, sample{ts, v, arr})
	if len(s) > maxSamples {
		s = s[len(s)-maxSamples:]
	}
	a.samples[k] = s
	if !a.started {
		a.started = true
		a.next = int64(math.Round(ts/a.step)) * int64(a.step)
	}
}

// Ready assembles every step that is complete at now and returns the rows;
// skipped steps are counted, not returned.
func (a *Assembler) Ready(now time.Time) []Row {
	nowS := a.networkSeconds(now)
	a.now = math.Max(a.now, nowS)
	a.stampArrivals()
	if !a.started {
		return nil
	}
	var out []Row
	for {
		T := float64(a.next)
		if !a.complete(T, nowS) {
			break
		}
		if row, ok := a.row(T); ok {
			out = append(out, row)
		} else if jump, ok := a.firstAfter(T); ok && jump > T+a.step {
			// Nobody reported for a while: go straight to where data
			// resumes instead of skipping the gap one step at a time.
			a.next = int64(math.Ceil(jump/a.step)) * int64(a.step)
			a.prune()
			continue
		}
		a.next += int64(a.step)
		a.prune()
	}
	return out
}

// stampArrivals dates the readings that arrived since the latest Ready
// at the present.
func (a *Assembler) stampArrivals() {
	if a.pending == 0 {
		return
	}
	a.pending = 0
	for _, s := range a.samples {
		for i := range s {
			if math.IsInf(s[i].arr, 1) {
				s[i].arr = math.Max(s[i].t, a.now)
				a.arrived = math.Max(a.arrived, s[i].arr)
			}
		}
	}
}

// complete reports whether step T can be assembled: every sensor has a
// reading past its window, or the wait for late readings is over.
func (a *Assembler) complete(T, nowS float64) bool {
	closes := T + a.step/2
	all, first := true, math.Inf(1)
	for _, s := range a.samples {
		if len(s) == 0 || s[len(s)-1].t < closes {
			all = false
			continue
		}
		for i := len(s) - 1; i >= 0 && s[i].t >= closes; i-- {
			first = math.Min(first, s[i].arr)
		}
	}
	if all {
		return true
	}
	if math.IsInf(first, 1) {
		// Nobody reported past the step: wait from its end, or from the
		// last arrival while readings are still coming in.
		return nowS >= math.Max(closes, a.arrived)+a.wait
	}
	return nowS >= math.Max(closes, first)+a.wait
}

// row builds the values of step T, or reports a missing sensor.
func (a *Assembler) row(T float64) (Row, bool) {
	vals := make([]float64, len(a.samples))
	held := 0
	var missing []int
	for k, s := range a.samples {
		v, isHeld, ok := a.value(s, T)
		if !ok {
			missing = append(missing, k)
			continue
		}
		vals[k] = v
		if isHeld {
			held++
		}
	}
	if len(missing) > 0 {
		a.stats.Skipped++
		for _, k := range missing {
			a.stats.Missing[k]++
		}
		return Row{}, false
	}
	a.stats.Rows++
	a.stats.Held += held
	return Row{T: int64(T), Time: a.clock.Instant(int64(T)), Values: vals}, true
}

// value is a sensor's value at T: nearest within half a step, else held.
func (a *Assembler) value(s []sample, T float64) (v float64, held, ok bool) {
	best := math.Inf(1)
	for _, x := range s {
		if d := math.Abs(x.t - T); d <= a.step/2 && d < best {
			best, v = d, x.v
		}
	}
	if !math.IsInf(best, 1) {
		return v, false, true
	}
	for i := len(s) - 1; i >= 0; i-- {
		if s[i].t < T {
			if T-s[i].t <= a.hold {
				return s[i].v, true, true
			}
			break
		}
	}
	return 0, false, false
}

// firstAfter returns the earliest reading time after T of any sensor.
func (a *Assembler) firstAfter(T float64) (float64, bool) {
	first, ok := math.Inf(1), false
	for _, s := range a.samples {
		for _, x := range s {
			if x.t > T {
				if x.t < first {
					first, ok = x.t, true
				}
				break
			}
		}
	}
	return first, ok
}

// prune forgets readings that can serve no future step.
func (a *Assembler) prune() {
	keep := float64(a.next) - math.Max(a.hold, a.step/2) - a.step
	for k, s := range a.samples {
		i := 0
		for i < len(s)-1 && s[i].t < keep {
			i++
		}
		if i > 0 {
			a.samples[k] = slices.Delete(s, 0, i)
		}
	}
}
