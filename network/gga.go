package network

import (
	"errors"
	"fmt"
	"math"

	"github.com/shuixiao/shuixiao/sparse"
)

// StepStats describes the convergence of one hydraulic solution.
type StepStats struct {
	// Iterations is the number of GGA trials taken.
	Iterations int
	// RelativeError is Σ|Δq| / Σ|q| of the last trial.
	RelativeError float64
	// MaxHeadError is the largest head loss error of a link at convergence
	// (file head units); MaxFlowChange the largest flow change of the last
	// trial (file flow units).
	MaxHeadError, MaxFlowChange float64
	// Balanced is false when the trial limit was reached unconverged.
	Balanced bool
	// DeficientNodes and DemandReduction (percent) report demand that a
	// pressure-driven analysis could not deliver (or, under DDA, the
	// junctions with negative pressure).
	DeficientNodes  int
	DemandReduction float64
}

// IllConditionedError reports a hydraulic system EPANET cannot solve
// (error 110): the matrix lost positive definiteness at a node.
type IllConditionedError struct {
	Time int64
	Node string
}

// Error names the node and time, as EPANET's report does.
func (e *IllConditionedError) Error() string {
	return fmt.Sprintf("error 110: %s: system ill-conditioned at node %s at %s hrs",
		ErrorMessage(110), e.Node, ClockTime(e.Time))
}

// balance tracks the largest errors of a trial.
type balance struct {
	maxHeadError, maxFlowChange float64
}

// hydSolve solves the network equations at the current time by the Global
// Gradient Algorithm with EPANET's status checks (hydsolver.c hydsolve):
// valve statuses every trial, pumps/CVs/tank links every CheckFreq trials
// up to MaxCheck, and all of them again at convergence.
func (s *Solver) hydSolve() error {
	nextCheck := s.checkFreq
	s.relax = 1
	var hb balance
	s.stats = StepStats{}
	maxTrials := s.maxIter
	if s.extraIter > 0 {
		maxTrials += s.extraIter
	}
	var relerr float64
	iter := 1
	var solveErr error
	for iter <= maxTrials {
		s.headlossCoeffs()
		s.matrixCoeffs()
		if err := s.chol.Factorize(); err != nil {
			var npd *sparse.NotPositiveDefiniteError
			if errors.As(err, &npd) && s.badValve(npd.Row) {
				continue
			}
			solveErr = err
			if errors.As(err, &npd) {
				solveErr = &IllConditionedError{Time: s.htime, Node: s.net.Nodes[npd.Row].ID}
			}
			break
		}
		s.chol.Solve()
		for i := range s.nJunc {
			s.head[i] = s.chol.RHS[s.row[i]]
		}
		relerr = s.newFlows(&hb)

		s.relax = 1
		valveChange := false
		if s.dampLimit > 0 {
			if relerr <= s.dampLimit {
				s.relax = epanet.FlowChangeRelax
				valveChange = s.valveStatus()
			}
		} else {
			valveChange = s.valveStatus()
		}

		if s.hasConverged(relerr, &hb) {
			if iter > s.maxIter {
				break
			}
			statChange := valveChange
			if s.linkStatus() {
				statChange = true
			}
			if s.pressureSwitch() {
				statChange = true
			}
			if !statChange {
				break
			}
			nextCheck = iter + s.checkFreq
		} else if iter <= s.maxCheck && iter == nextCheck {
			s.linkStatus()
			nextCheck += s.checkFreq
		}
		iter++
	}
	for i := range s.nJunc {
		s.nodeDemand[i] = s.demandFlow[i] + s.emitterFlow[i] + s.leakFlow[i]
	}
	s.stats.Iterations = iter
	s.stats.RelativeError = relerr
	s.stats.MaxHeadError = hb.maxHeadError * s.u.head
	s.stats.MaxFlowChange = hb.maxFlowChange * s.u.flow
	s.stats.Balanced = !(iter > s.maxIter && relerr > s.hacc)
	return solveErr
}

// badValve handles a singular matrix at node n: if n belongs to an active
// PRV, PSV or FCV, that valve is declared unable to regulate and the trial
// is repeated.
func (s *Solver) badValve(n int) bool {
	for _, k32 := range s.valves {
		k := int(k32)
		if n != int(s.from[k]) && n != int(s.to[k]) {
			continue
		}
		switch s.kind[k] {
		case PRV, PSV, FCV:
			if s.status[k] == Active {
				if s.kind[k] == FCV {
					s.status[k] = XFCV
				} else {
					s.status[k] = XPressure
				}
				return true
			}
		}
		return false
	}
	return false
}

// pressureSwitch applies simple controls driven by junction pressures
// once a solution is found (EPANET's pswitch).
func (s *Solver) pressureSwitch() bool {
	any := false
	for ci := range s.controls {
		c := &s.controls[ci]
		k := c.link
		n := c.node
		if n < 0 || n >= s.nJunc {
			continue
		}
		reset := (c.kind == LowLevel && s.head[n] <= c.grade+s.htol) ||
			(c.kind == HighLevel && s.head[n] >= c.grade-s.htol)
		if !reset {
			continue
		}
		st := s.status[k]
		change := false
		switch kind := s.kind[k]; {
		case kind == Pipe:
			change = st != c.status
		case kind == Pump:
			change = s.setting[k] != c.setting
		case kind >= PRV:
			change = s.setting[k] != c.setting ||
				(s.setting[k] == Missing && st != c.status)
		}
		if change {
			s.status[k] = c.status
			if s.kind[k] > Pipe {
				s.setting[k] = c.setting
			}
			any = true
		}
	}
	return any
}

// newFlows updates link, emitter, demand and leakage flows from the new
// heads and returns Σ|Δq|/Σ|q|.
func (s *Solver) newFlows(hb *balance) float64 {
	var qsum, dqsum float64
	hb.maxFlowChange = 0
	s.newLinkFlows(hb, &qsum, &dqsum)
	s.newEmitterFlows(hb, &qsum, &dqsum)
	s.newDemandFlows(hb, &qsum, &dqsum)
	if s.hasLeakage {
		s.newLeakageFlows(hb, &qsum, &dqsum)
	}
	if qsum > s.hacc {
		return dqsum / qsum
	}
	return dqsum
}

func (s *Solver) newLinkFlows(hb *balance, qsum, dqsum *float64) {
	nj := int32(s.nJunc)
	for n := s.nJunc; n < s.nNodes; n++ {
		s.nodeDemand[n] = 0
	}
	n := s.nLinks
	pp, yy, flow := s.p[:n], s.y[:n], s.flow[:n]
	from, to, pumpOf, status := s.from[:n], s.to[:n], s.pumpOf[:n], s.status[:n]
	head, demand, relax := s.head, s.nodeDemand, s.relax
	sum, dsum, maxChange := *qsum, *dqsum, hb.maxFlowChange
	for k := range n {
		n1, n2 := from[k], to[k]
		dh := head[n1] - head[n2]
		dq := yy[k] - pp[k]*dh
		dq *= relax
		if pi := pumpOf[k]; pi >= 0 && s.pumps[pi].kind == constantPower && dq > flow[k] {
			dq = flow[k] / 2
		}
		q := flow[k] - dq
		flow[k] = q
		sum += math.Abs(q)
		adq := math.Abs(dq)
		dsum += adq
		if adq > maxChange {
			maxChange = adq
		}
		if status[k] > Closed {
			if n1 >= nj {
				demand[n1] -= q
			}
			if n2 >= nj {
				demand[n2] += q
			}
		}
	}
	*qsum, *dqsum, hb.maxFlowChange = sum, dsum, maxChange
}

func (s *Solver) newEmitterFlows(hb *balance, qsum, dqsum *float64) {
	for i := range s.nJunc {
		if s.emitterK[i] == 0 {
			continue
		}
		hloss, hgrad := s.emitterHeadloss(i)
		dh := s.head[i] - s.elev[i]
		dq := (hloss - dh) / hgrad
		dq *= s.relax
		s.emitterFlow[i] -= dq
		*qsum += math.Abs(s.emitterFlow[i])
		*dqsum += math.Abs(dq)
		if math.Abs(dq) > hb.maxFlowChange {
			hb.maxFlowChange = math.Abs(dq)
		}
	}
}

func (s *Solver) newDemandFlows(hb *balance, qsum, dqsum *float64) {
	if s.demandModel == DDA {
		return
	}
	dp := max(s.preq-s.pmin, epanet.MinPDiff)
	n := 1 / s.pexp
	limit := epanet.PDAFlowChangeLimit
	for i := range s.nJunc {
		if s.fullDemand[i] <= 0 {
			continue
		}
		hloss, hgrad := s.demandHeadloss(i, dp, n)
		dh := s.head[i] - s.elev[i] - s.pmin
		dq := (hloss - dh) / hgrad
		dq *= s.relax
		if math.Abs(dq) > limit*s.fullDemand[i] {
			if dq < 0 {
				dq = -limit * s.fullDemand[i]
			} else {
				dq = limit * s.fullDemand[i]
			}
		}
		s.demandFlow[i] -= dq
		*qsum += math.Abs(s.demandFlow[i])
		*dqsum += math.Abs(dq)
		if math.Abs(dq) > hb.maxFlowChange {
			hb.maxFlowChange = math.Abs(dq)
		}
	}
}

// checkHydBalance finds the largest head loss error over open links.
func (s *Solver) checkHydBalance(hb *balance) {
	hb.maxHeadError = 0
	s.headlossCoeffs()
	for k := range s.nLinks {
		if s.status[k] <= Closed || s.p[k] == 0 {
			continue
		}
		dh := s.head[s.from[k]] - s.head[s.to[k]]
		herr := math.Abs(dh - s.y[k]/s.p[k])
		if herr > hb.maxHeadError {
			hb.maxHeadError = herr
		}
	}
}

func (s *Solver) hasConverged(relerr float64, hb *balance) bool {
	if relerr > s.hacc {
		return false
	}
	s.checkHydBalance(hb)
	if s.headErrorLimit > 0 && hb.maxHeadError > s.headErrorLimit {
		return false
	}
	if s.flowChangeLimit > 0 && hb.maxFlowChange > s.flowChangeLimit {
		return false
	}
	if s.hasLeakage && !s.leakageConverged() {
		return false
	}
	if s.demandModel == PDA {
		return s.pdaConverged()
	}
	return true
}

// pdaConverged checks delivered demands against the pressure–demand
// function and totals the demand deficit.
func (s *Solver) pdaConverged() bool {
	qtol := epanet.LeakQtol
	converged := true
	var total, reduction float64
	dp := s.preq - s.pmin
	s.stats.DeficientNodes = 0
	s.stats.DemandReduction = 0
	for i := range s.nJunc {
		full := s.fullDemand[i]
		if full <= 0 {
			continue
		}
		p := s.head[i] - s.elev[i]
		var q float64
		switch {
		case p <= s.pmin:
			q = 0
		case p >= s.preq:
			q = full
		default:
			q = full * pow((p-s.pmin)/dp, s.pexp)
		}
		if math.Abs(q-s.demandFlow[i]) > qtol {
			converged = false
		}
		if s.demandFlow[i]+qtol < full {
			s.stats.DeficientNodes++
			total += full
			reduction += full - s.demandFlow[i]
		}
	}
	if total > 0 {
		s.stats.DemandReduction = reduction / total * 100
	}
	return converged
}
