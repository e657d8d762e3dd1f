package network

import (
	"fmt"
	"math"
)

// Extended period simulation (EPANET hydraul.c): demands and controls at
// the current time, a GGA solution, then a time step that ends at the
// next pattern or report period, tank filling or emptying, simple control
// or rule action, and new tank levels.

// reset puts the solver in its initial state (EPANET's openhyd initial
// flows followed by inithyd): tank levels, link statuses and settings
// from the file, flows at 1 ft/s (pumps at their design flow).
func (s *Solver) reset() {
	c := &epanet
	for k := range s.nLinks {
		s.initLinkFlow(k, s.initStatus[k], s.kc[k])
	}
	for t := range s.tanks {
		td := &s.tanks[t]
		s.tankVolume[t] = td.v0
		s.head[td.node] = td.h0
		s.nodeDemand[td.node] = 0
	}
	clear(s.demandFlow)
	clear(s.emitterFlow)
	clear(s.leakFlow)
	for i := range s.nJunc {
		if s.emitterK[i] > 0 {
			s.emitterFlow[i] = 1
		}
	}
	for k := range s.nLinks {
		s.status[k] = s.initStatus[k]
		s.setting[k] = s.initSetting[k]
		kind := s.kind[k]
		if kind > Pump && kind != GPV && s.initStatus[k] != Active {
			s.setting[k] = Missing
		}
		s.resistance(k)
		if (kind == PRV || kind == PSV || kind == FCV) && s.setting[k] != Missing {
			s.status[k] = Active
		}
		if s.status[k] <= Closed {
			s.flow[k] = c.QZero
		} else if math.Abs(s.flow[k]) <= c.QZero {
			s.initLinkFlow(k, s.status[k], s.setting[k])
		}
	}
	s.initLeakage()
	s.htime = 0
	s.rtime = s.times.ReportStep
	s.halted = false
	s.warnings = s.warnings[:0]
	s.initialized = true
}

// initLinkFlow sets a starting flow: zero-ish if closed, the design flow
// of a pump, otherwise the flow at 1 ft/s.
func (s *Solver) initLinkFlow(k int, st LinkStatus, setting float64) {
	switch {
	case st == Closed:
		s.flow[k] = epanet.QZero
	case s.kind[k] == Pump:
		s.flow[k] = setting * s.pumps[s.pumpOf[k]].q0
	default:
		s.flow[k] = math.Pi * (s.diam[k] * s.diam[k]) / 4
	}
}

// patternPeriod is the index of the current pattern period.
func (s *Solver) patternPeriod() int64 {
	return (s.htime + s.times.PatternStart) / s.times.PatternStep
}

func (s *Solver) patternFactor(pat int, period int64) float64 {
	f := s.patterns[pat]
	return f[period%int64(len(f))]
}

// demands sets junction demands, reservoir heads and pump speeds from
// their patterns at the current time.
func (s *Solver) demands() {
	p := s.patternPeriod()
	// The multiplier of every pattern for this period (index −1 holds the
	// constant 1 of demands without a pattern).
	factor := s.patFactor[1:]
	for i := range s.patterns {
		factor[i] = s.patternFactor(i, p)
	}
	s.patFactor[0] = 1
	def := s.defPat
	s.dsystem = 0
	for i := range s.nJunc {
		sum := 0.0
		for d := s.demandStart[i]; d < s.demandStart[i+1]; d++ {
			pat := int(s.demandPat[d])
			if pat < 0 {
				pat = def
			}
			dj := s.demandBase[d] * s.patFactor[pat+1] * s.dmult
			if dj > 0 {
				s.dsystem += dj
			}
			sum += dj
		}
		s.fullDemand[i] = sum
		s.demandFlow[i] = sum
	}
	for t := range s.tanks {
		td := &s.tanks[t]
		if td.area == 0 && td.pattern >= 0 {
			s.head[td.node] = s.elev[td.node] * s.patternFactor(td.pattern, p)
		}
	}
	for k := range s.nLinks {
		if pi := s.pumpOf[k]; pi >= 0 && s.pumps[pi].pattern >= 0 {
			s.setLinkSetting(k, s.patternFactor(s.pumps[pi].pattern, p))
		}
	}
}

// applyControls applies simple controls on time and tank levels at the
// current time (junction pressure controls act inside the solver).
func (s *Solver) applyControls() int {
	changes := 0
	for ci := range s.controls {
		c := &s.controls[ci]
		if !c.enabled || c.link < 0 {
			continue
		}
		k := c.link
		reset := false
		if n := c.node; n >= s.nJunc {
			h := s.head[n]
			vplus := math.Abs(s.nodeDemand[n])
			v1 := s.tankVolumeAt(n-s.nJunc, h)
			v2 := s.tankVolumeAt(n-s.nJunc, c.grade)
			if c.kind == LowLevel && v1 <= v2+vplus {
				reset = true
			}
			if c.kind == HighLevel && v1 >= v2-vplus {
				reset = true
			}
		}
		if c.kind == Timer && c.time == s.htime {
			reset = true
		}
		if c.kind == TimeOfDay && (s.htime+s.times.StartClock)%secondsPerDay == c.time {
			reset = true
		}
		if !reset {
			continue
		}
		s1 := Open
		if s.status[k] <= Closed {
			s1 = Closed
		}
		s2 := c.status
		k1 := s.setting[k]
		k2 := k1
		if s.kind[k] > Pipe {
			k2 = c.setting
		}
		if s.kind[k] == Pump && s1 == Closed && s2 == Open {
			s.resetPumpFlow(k)
		}
		if s1 != s2 || k1 != k2 {
			s.status[k] = s2
			s.setting[k] = k2
			if s.kind[k] == PCV {
				s.resist[k] = s.pcvLossCoeff(k, k2)
			}
			changes++
		}
	}
	return changes
}

// resetPumpFlow restarts a re-opened constant power pump at its initial
// flow.
func (s *Solver) resetPumpFlow(k int) {
	pd := &s.pumps[s.pumpOf[k]]
	if pd.kind == constantPower {
		s.flow[k] = pd.q0
	}
}

// setLinkStatus opens (open = true) or closes a link from a rule action.
func (s *Solver) setLinkStatus(k int, open bool) {
	kind := s.kind[k]
	if open {
		if kind == Pump {
			s.setting[k] = 1
			if s.status[k] == Closed {
				s.resetPumpFlow(k)
			}
		}
		if kind > Pump && kind != GPV {
			s.setting[k] = Missing
		}
		s.status[k] = Open
		return
	}
	if kind == Pump {
		s.setting[k] = 0
	}
	if kind > Pump && kind != GPV {
		s.setting[k] = Missing
	}
	s.status[k] = Closed
}

// setLinkSetting sets a pump speed or valve setting, opening a pump with
// positive speed and closing one at zero speed.
func (s *Solver) setLinkSetting(k int, v float64) {
	switch s.kind[k] {
	case Pump:
		s.setting[k] = v
		if v > 0 && s.status[k] <= Closed {
			s.resetPumpFlow(k)
			s.status[k] = Open
		}
		if v == 0 && s.status[k] > Closed {
			s.status[k] = Closed
		}
	case FCV:
		s.setting[k] = v
		s.status[k] = Active
	default:
		if s.setting[k] == Missing && s.status[k] <= Closed {
			s.status[k] = Open
		}
		if s.kind[k] == PCV {
			s.resist[k] = s.pcvLossCoeff(k, v)
		}
		s.setting[k] = v
	}
}

// tankVolumeAt returns tank t's volume at water elevation h.
func (s *Solver) tankVolumeAt(t int, h float64) float64 {
	td := &s.tanks[t]
	if td.volumeCurve < 0 {
		return td.vmin + (h-td.hmin)*td.area
	}
	cv := &s.curves[td.volumeCurve]
	y := (h - s.elev[td.node]) * s.u.head
	return interpolate(cv.X, cv.Y, y) / s.u.volume
}

// tankGrade returns tank t's water elevation at volume v.
func (s *Solver) tankGrade(t int, v float64) float64 {
	td := &s.tanks[t]
	if td.volumeCurve < 0 {
		return td.hmin + (v-td.vmin)/td.area
	}
	cv := &s.curves[td.volumeCurve]
	y := interpolate(cv.Y, cv.X, v*s.u.volume)
	return s.elev[td.node] + y/s.u.head
}

// tankLevels advances tank volumes and levels by dt seconds.
func (s *Solver) tankLevels(dt int64) {
	c := &epanet
	for t := range s.tanks {
		td := &s.tanks[t]
		if td.area == 0 {
			continue
		}
		n := td.node
		q := s.nodeDemand[n]
		if math.Abs(q) <= c.QZero {
			continue
		}
		s.tankVolume[t] += q * float64(dt)
		if s.tankVolume[t]+q >= td.vmax {
			s.tankVolume[t] = td.vmax
		} else if s.tankVolume[t]-q <= td.vmin {
			s.tankVolume[t] = td.vmin
		}
		s.head[n] = s.tankGrade(t, s.tankVolume[t])
	}
}

// roundHalfAway rounds as EPANET's ROUND macro (half away from zero,
// truncated to an integer).
func roundHalfAway(x float64) int64 {
	if x >= 0 {
		return int64(x + 0.5)
	}
	return int64(x - 0.5)
}

// timeStep returns the length of the next hydraulic step and advances the
// tanks (and the rules) to its end.
func (s *Solver) timeStep() int64 {
	tm := &s.times
	tstep := tm.HydraulicStep
	n := (s.htime+tm.PatternStart)/tm.PatternStep + 1
	if t := n*tm.PatternStep - s.htime; t > 0 && t < tstep {
		tstep = t
	}
	if t := s.rtime - s.htime; t > 0 && t < tstep {
		tstep = t
	}
	s.tankTimeStep(&tstep)
	s.controlTimeStep(&tstep)
	if len(s.rules) > 0 {
		s.ruleTimeStep(&tstep)
	} else {
		s.tankLevels(tstep)
	}
	return tstep
}

// tankTimeStep shortens the step to the time a tank fills or empties.
func (s *Solver) tankTimeStep(tstep *int64) {
	for t := range s.tanks {
		td := &s.tanks[t]
		if td.area == 0 {
			continue
		}
		n := td.node
		h := s.head[n]
		q := s.nodeDemand[n]
		if math.Abs(q) <= epanet.QZero {
			continue
		}
		var v float64
		switch {
		case q > 0 && h < td.hmax:
			v = td.vmax - s.tankVolume[t]
		case q < 0 && h > td.hmin:
			v = td.vmin - s.tankVolume[t]
		default:
			continue
		}
		xt := v / q
		if math.Abs(xt) > float64(*tstep+1) {
			continue
		}
		if tt := roundHalfAway(xt); tt > 0 && tt < *tstep {
			*tstep = tt
		}
	}
}

// controlTimeStep shortens the step to the next simple control that would
// change a link.
func (s *Solver) controlTimeStep(tstep *int64) {
	for ci := range s.controls {
		c := &s.controls[ci]
		if !c.enabled {
			continue
		}
		var t int64
		if n := c.node; n >= 0 {
			if n < s.nJunc {
				continue
			}
			h := s.head[n]
			q := s.nodeDemand[n]
			if math.Abs(q) <= epanet.QZero {
				continue
			}
			if (h < c.grade && c.kind == HighLevel && q > 0) || (h > c.grade && c.kind == LowLevel && q < 0) {
				v := s.tankVolumeAt(n-s.nJunc, c.grade) - s.tankVolume[n-s.nJunc]
				t = roundHalfAway(v / q)
			}
		}
		if c.kind == Timer && c.time > s.htime {
			t = c.time - s.htime
		}
		if c.kind == TimeOfDay {
			t1 := (s.htime + s.times.StartClock) % secondsPerDay
			t2 := c.time
			if t2 >= t1 {
				t = t2 - t1
			} else {
				t = secondsPerDay - t1 + t2
			}
		}
		if t > 0 && t < *tstep {
			k := c.link
			if (s.kind[k] > Pipe && s.setting[k] != c.setting) || s.status[k] != c.status {
				*tstep = t
			}
		}
	}
}

// ruleTimeStep advances tanks in rule time steps until a rule fires or
// the step ends, and shortens the step accordingly.
func (s *Solver) ruleTimeStep(tstep *int64) {
	tnow := s.htime
	tmax := tnow + *tstep
	dt := s.times.RuleStep
	if dt <= 0 { // a hydraulic step under 10 s leaves no rule step
		dt = *tstep
	}
	dt1 := dt - tnow%dt
	dt = min(dt, *tstep)
	dt1 = min(dt1, *tstep)
	if dt1 == 0 {
		dt1 = dt
	}
	for {
		s.htime += dt1
		s.tankLevels(dt1)
		if s.checkRules(dt1) > 0 {
			break
		}
		dt = min(dt, tmax-s.htime)
		dt1 = dt
		if dt <= 0 {
			break
		}
	}
	*tstep = s.htime - tnow
	s.htime = tnow
}

// HaltError reports that the system could not be balanced and the file
// asked to stop (UNBALANCED STOP).
type HaltError struct{ Time int64 }

// Error returns EPANET's halt message.
func (e *HaltError) Error() string {
	return fmt.Sprintf("System unbalanced at %s hrs. EXECUTION HALTED.", ClockTime(e.Time))
}

// ClockTime formats seconds as EPANET's h:mm:ss.
func ClockTime(t int64) string {
	h := t / 3600
	m := t % 3600 / 60
	sec := t - 3600*h - 60*m
	return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
}
