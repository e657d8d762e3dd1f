package network

import (
	"fmt"
	"math"
)

// Warning is a condition EPANET reports in its status report (negative
// pressures, pumps or valves out of range, disconnected nodes, an
// unbalanced system). Text is EPANET's wording.
type Warning struct {
	Time int64
	Text string
}

// Init resets the solver to the start of the simulation: initial tank
// levels, link statuses and settings, starting flows. Run and Snapshot
// call it themselves; use it before stepping with SolveStep/NextStep.
func (s *Solver) Init() {
	s.reset()
}

// Time returns the current simulation time in seconds.
func (s *Solver) Time() int64 { return s.htime }

// Stats returns the convergence figures of the last solution.
func (s *Solver) Stats() StepStats { return s.stats }

// Halted reports whether an unbalanced solution stopped the simulation
// (UNBALANCED STOP).
func (s *Solver) Halted() bool { return s.halted }

// Warnings returns the warnings raised so far in this run.
func (s *Solver) Warnings() []Warning { return s.warnings }

// SolveStep computes the hydraulics at the current time (EPANET's runH):
// demands and patterns, simple controls, then the GGA solution with status
// checks. It returns an *IllConditionedError if the equations cannot be
// solved. An unbalanced system under UNBALANCED STOP is not an error here:
// the results stand, Halted reports it and NextStep returns 0.
func (s *Solver) SolveStep() error {
	if !s.initialized {
		return ErrNotInitialized
	}
	s.demands()
	s.applyControls()
	if err := s.hydSolve(); err != nil {
		return err
	}
	if s.stats.RelativeError > s.hacc && s.extraIter == -1 {
		s.halted = true
	}
	s.addWarnings()
	return nil
}

// NextStep advances the simulation to the next hydraulic event (EPANET's
// nextH) and returns the length of the step taken in seconds; 0 means the
// simulation is over (or halted).
func (s *Solver) NextStep() int64 {
	dur := s.times.Duration
	if s.halted {
		s.htime = dur
	}
	var step int64
	if s.htime < dur {
		step = s.timeStep()
		s.htime += step
		if s.htime >= s.rtime {
			s.rtime += s.times.ReportStep
		}
	} else {
		s.htime++
	}
	return step
}

// Step is what Run passes to its callback after each hydraulic solution.
type Step struct {
	// Time is the simulation time in seconds.
	Time  int64
	Stats StepStats
	// Solver gives access to the results of this step (NodeResult,
	// LinkResult, Head, ...); it is only valid during the callback.
	Solver *Solver
}

// Run performs the extended period simulation from time 0 to the file's
// duration, calling onStep (if not nil) after every hydraulic solution,
// intermediate steps included, before time advances. The length of a
// step is the difference to the next step's time (0 after the last one).
// Run stops early with the callback's error, with an
// *IllConditionedError, or with a *HaltError after the step that could
// not be balanced under UNBALANCED STOP (that step is still passed to
// onStep).
func (s *Solver) Run(onStep func(*Step) error) error {
	s.reset()
	for {
		if err := s.SolveStep(); err != nil {
			return err
		}
		if onStep != nil {
			s.step = Step{Time: s.htime, Stats: s.stats, Solver: s}
			if err := onStep(&s.step); err != nil {
				return err
			}
		}
		t := s.htime
		if s.halted {
			s.NextStep()
			return &HaltError{Time: t}
		}
		if s.NextStep() == 0 {
			return nil
		}
	}
}

// Snapshot solves a single steady state at time t (seconds from the start)
// from the initial tank levels and link statuses, with demands, patterns
// and time controls evaluated at t. Results are then read with the
// result methods. It reuses the symbolic factorisation, so repeated
// snapshots (e.g. for sensitivity studies after SetJunctionDemand or
// SetEmitter) cost one numerical solve each.
func (s *Solver) Snapshot(t int64) error {
	if t < 0 {
		return fmt.Errorf("network: snapshot at negative time %d", t)
	}
	s.reset()
	s.htime = t
	for s.rtime <= t {
		s.rtime += s.times.ReportStep
	}
	return s.SolveStep()
}

// Resolve re-solves the current time step starting from the present flows
// and statuses, e.g. after changing an emitter or a demand. It does not
// advance time; it converges in fewer trials than Snapshot when the change
// is small.
func (s *Solver) Resolve() error {
	if !s.initialized {
		return ErrNotInitialized
	}
	return s.SolveStep()
}

// addWarnings records EPANET's hydraulic warnings for the current solution
// (report.c writehydwarn).
func (s *Solver) addWarnings() {
	flag := false
	add := func(text string) {
		s.warnings = append(s.warnings, Warning{Time: s.htime, Text: text})
		flag = true
	}
	iter, relerr := s.stats.Iterations, s.stats.RelativeError
	if iter > s.maxIter && relerr <= s.hacc {
		add(fmt.Sprintf("WARNING: Maximum trials exceeded at %s hrs. System may be unstable.", ClockTime(s.htime)))
	}
	if s.demandModel == DDA {
		s.stats.DeficientNodes = 0
		for i := range s.nJunc {
			if s.head[i] < s.elev[i] && s.nodeDemand[i] > 0 {
				s.stats.DeficientNodes++
			}
		}
		if s.stats.DeficientNodes > 0 {
			add(fmt.Sprintf("WARNING: Negative pressures at %s hrs.", ClockTime(s.htime)))
		}
	}
	for _, k32 := range s.valves {
		k := int(k32)
		if s.status[k] >= XFCV {
			add(fmt.Sprintf("WARNING: %s %s %s at %s hrs.", s.kind[k], s.net.Links[k].ID, s.status[k], ClockTime(s.htime)))
		}
	}
	for k := range s.nLinks {
		pi := s.pumpOf[k]
		if pi < 0 {
			continue
		}
		st := s.status[k]
		if st >= Open {
			if s.flow[k] > s.setting[k]*s.pumps[pi].qmax {
				st = XFlow
			}
			if s.flow[k] < 0 {
				st = XHead
			}
		}
		if st == XHead || st == XFlow {
			add(fmt.Sprintf("WARNING: Pump %s %s at %s hrs.", s.net.Links[k].ID, st, ClockTime(s.htime)))
		}
	}
	if iter > s.maxIter && relerr > s.hacc {
		text := fmt.Sprintf("WARNING: System unbalanced at %s hrs.", ClockTime(s.htime))
		if s.extraIter == -1 {
			text += " EXECUTION HALTED."
		}
		add(text)
	}
	if flag {
		s.disconnectedWarnings(ClockTime(s.htime))
	}
}

// markFromSources marks every node reachable from a tank, a reservoir or a
// junction with negative demand through links that are not closed,
// following check valves, PRVs and PSVs only downstream (report.c
// marknodes). It returns the number of marked nodes in nodeList.
func (s *Solver) markFromSources(directed bool) int {
	clear(s.marked)
	m := 0
	for i := s.nJunc; i < s.nNodes; i++ {
		s.nodeList[m] = int32(i)
		s.marked[i] = true
		m++
	}
	for i := range s.nJunc {
		if s.nodeDemand[i] < 0 {
			s.nodeList[m] = int32(i)
			s.marked[i] = true
			m++
		}
	}
	for n := 0; n < m; n++ {
		i := s.nodeList[n]
		for a := s.adjStart[i]; a < s.adjStart[i+1]; a++ {
			k := s.adjLink[a]
			j := s.from[k]
			if j == i {
				j = s.to[k]
			}
			if s.marked[j] {
				continue
			}
			if directed {
				switch s.kind[k] {
				case CVPipe, PRV, PSV:
					if j == s.from[k] {
						continue
					}
				}
			}
			if s.status[k] > Closed {
				s.marked[j] = true
				s.nodeList[m] = j
				m++
			}
		}
	}
	return m
}

// disconnectedWarnings lists junctions with demand that no source can
// reach (report.c disconnected).
func (s *Solver) disconnectedWarnings(at string) {
	const maxListed = 10
	s.markFromSources(true)
	count, last := 0, -1
	for i := range s.nJunc {
		if !s.marked[i] && s.nodeDemand[i] != 0 {
			count++
			if count <= maxListed {
				s.warnings = append(s.warnings, Warning{Time: s.htime,
					Text: fmt.Sprintf("WARNING: Node %s disconnected at %s hrs", s.net.Nodes[i].ID, at)})
			}
			last = i
		}
	}
	if count == 0 {
		return
	}
	if count > maxListed {
		s.warnings = append(s.warnings, Warning{Time: s.htime,
			Text: fmt.Sprintf("WARNING: %d additional nodes disconnected at %s hrs", count-maxListed, at)})
	}
	if k := s.closedLinkFrom(last); k >= 0 {
		s.warnings = append(s.warnings, Warning{Time: s.htime,
			Text: fmt.Sprintf("WARNING: System disconnected because of Link %s", s.net.Links[k].ID)})
	}
}

// closedLinkFrom searches the unmarked zone around junction i for a link
// to a marked (connected) node: the closed link that cut the zone off.
func (s *Solver) closedLinkFrom(i int) int {
	seen := make([]bool, s.nNodes)
	seen[i] = true
	stack := []int32{int32(i)}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for a := s.adjStart[n+1] - 1; a >= s.adjStart[n]; a-- {
			k := s.adjLink[a]
			j := s.from[k]
			if j == n {
				j = s.to[k]
			}
			if seen[j] {
				continue
			}
			if s.marked[j] {
				return int(k)
			}
			seen[j] = true
			stack = append(stack, j)
		}
	}
	return -1
}

// Disconnected reports, for the current solution, the junctions that no
// tank, reservoir or inflow junction can reach through links that are not
// closed, passing check valves, PRVs and PSVs only downstream (EPANET's
// test for disconnected nodes). Their heads are not defined by the
// hydraulics (EPANET leaves whatever the iterations produced) and should
// be ignored.
func (s *Solver) Disconnected() []int {
	s.markFromSources(true)
	var out []int
	for i := range s.nJunc {
		if !s.marked[i] {
			out = append(out, i)
		}
	}
	return out
}

// NodeResult holds a node's results in the file's units.
type NodeResult struct {
	Head     float64 // hydraulic head (ft or m)
	Pressure float64 // pressure (file pressure units; tanks: water depth)
	// Demand is the total outflow: consumer demand + emitter + leakage
	// (negative for inflow; for tanks the filling rate, for reservoirs the
	// net inflow).
	Demand float64
	// DemandFlow is the consumer demand delivered, FullDemand the demand
	// required (they differ under PDA), Emitter the emitter outflow and
	// Leakage the pipe leakage assigned to the node.
	DemandFlow, FullDemand, Emitter, Leakage float64
}

// NodeResult returns node i's results at the current solution.
func (s *Solver) NodeResult(i int) NodeResult {
	u := s.u
	r := NodeResult{
		Head:     s.head[i] * u.head,
		Pressure: (s.head[i] - s.elev[i]) * u.pressure,
		Demand:   s.nodeDemand[i] * u.flow,
	}
	if i < s.nJunc {
		r.DemandFlow = s.demandFlow[i] * u.flow
		r.FullDemand = s.fullDemand[i] * u.flow
		r.Emitter = s.emitterFlow[i] * u.flow
		r.Leakage = s.leakFlow[i] * u.flow
	}
	return r
}

// Head returns node i's head in file units.
func (s *Solver) Head(i int) float64 { return s.head[i] * s.u.head }

// Pressure returns node i's pressure in file pressure units.
func (s *Solver) Pressure(i int) float64 { return (s.head[i] - s.elev[i]) * s.u.pressure }

// LinkResult holds a link's results in the file's units, as EPANET
// reports them.
type LinkResult struct {
	Flow     float64 // 0 when closed
	Velocity float64 // 0 for pumps and closed links
	// Headloss is the head difference across the link: absolute for pipes
	// and valves, signed (negative = head gain) for pumps; 0 when closed.
	Headloss float64
	// Status is the detailed status (open, closed, active, XHead, ...);
	// StatusCode is EPANET's EN_STATUS: 0 closed, 1 open, 2 active valve.
	Status     LinkStatus
	StatusCode int
	// Setting is the roughness of a pipe, the speed of a pump, or the
	// setting of a valve (0 if fixed open/closed).
	Setting float64
	// Leakage is the pipe's FAVAD leakage flow.
	Leakage float64
}

// LinkResult returns link k's results at the current solution.
func (s *Solver) LinkResult(k int) LinkResult {
	u := s.u
	st := s.status[k]
	r := LinkResult{Status: st}
	kind := s.kind[k]
	if st > Closed {
		r.Flow = s.flow[k] * u.flow
		if kind != Pump {
			a := math.Pi * (s.diam[k] * s.diam[k]) / 4
			r.Velocity = math.Abs(s.flow[k]) / a * u.head
		}
		h := s.head[s.from[k]] - s.head[s.to[k]]
		if kind != Pump {
			h = math.Abs(h)
		}
		r.Headloss = h * u.head
		r.StatusCode = 1
		if kind > Pump && st > Open {
			r.StatusCode = 2
		}
	}
	switch {
	case kind.IsPipe():
		r.Setting = s.kc[k]
		if s.net.Options.Headloss == DarcyWeisbach {
			r.Setting *= 1000 * u.head
		}
		r.Leakage = s.pipeLeakage(k) * u.flow
	case s.setting[k] == Missing:
	default:
		r.Setting = s.setting[k]
		switch kind {
		case PRV, PSV, PBV:
			r.Setting *= u.pressure
		case FCV:
			r.Setting *= u.flow
		}
	}
	return r
}

// Flow returns link k's flow in file units (0 when closed).
func (s *Solver) Flow(k int) float64 {
	if s.status[k] <= Closed {
		return 0
	}
	return s.flow[k] * s.u.flow
}

// TankVolume returns tank node i's stored volume (ft³ or m³), 0 for
// junctions and reservoirs.
func (s *Solver) TankVolume(i int) float64 {
	if i < s.nJunc {
		return 0
	}
	return s.tankVolume[i-s.nJunc] * s.u.volume
}

// NodeResults appends every node's results to dst[:0] and returns it.
func (s *Solver) NodeResults(dst []NodeResult) []NodeResult {
	dst = dst[:0]
	for i := range s.nNodes {
		dst = append(dst, s.NodeResult(i))
	}
	return dst
}

// LinkResults appends every link's results to dst[:0] and returns it.
func (s *Solver) LinkResults(dst []LinkResult) []LinkResult {
	dst = dst[:0]
	for k := range s.nLinks {
		dst = append(dst, s.LinkResult(k))
	}
	return dst
}
