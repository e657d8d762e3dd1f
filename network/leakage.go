package network

import "math"

// FAVAD pipe leakage (EPANET 2.3 leakage.c): a pipe leaks
//
//	Q = Co·(Ao + m·H)·√H,  Co = 0.6·√(2g),
//
// split between its end junctions as two equivalent emitters per node,
// a fixed-area one H = Cfa·Qfa² and a variable-area one H = Cva·Qva^(2/3).

// nodeLeak holds a junction's leakage emitter coefficients and flows.
type nodeLeak struct {
	qfa, qva float64 // fixed and variable area leakage flows (cfs)
	cfa, cva float64 // head loss coefficients
}

// initLeakage converts pipe leak parameters into node coefficients and
// starts every leaking node at a small positive flow.
func (s *Solver) initLeakage() {
	s.hasLeakage = false
	for k := range s.nLinks {
		if s.kind[k].IsPipe() && (s.leakArea[k] > 0 || s.leakExpan[k] > 0) {
			s.hasLeakage = true
			break
		}
	}
	if !s.hasLeakage {
		s.leak = nil
		return
	}
	if len(s.leak) != s.nJunc {
		s.leak = make([]nodeLeak, s.nJunc)
	}
	clear(s.leak)
	c := &epanet
	orifice := c.LeakOrifice * 1e-6 // per mm² of leak area
	for k := range s.nLinks {
		if !s.kind[k].IsPipe() || (s.leakArea[k] == 0 && s.leakExpan[k] == 0) {
			continue
		}
		n1, n2 := int(s.from[k]), int(s.to[k])
		j1, j2 := n1 < s.nJunc, n2 < s.nJunc
		if !j1 && !j2 {
			continue
		}
		area := orifice * s.leakArea[k] / (c.MperFT * c.MperFT)
		expan := orifice * s.leakExpan[k] / c.MperFT
		l := s.length[k] / 100
		if j1 && j2 {
			l *= 0.5
		}
		area *= l
		expan *= l
		if j1 {
			s.leak[n1].cfa += area
			s.leak[n1].cva += expan
		}
		if j2 {
			s.leak[n2].cfa += area
			s.leak[n2].cva += expan
		}
	}
	for i := range s.leak {
		lk := &s.leak[i]
		if lk.cfa > 0 {
			lk.cfa = 1 / (lk.cfa * lk.cfa)
			lk.qfa = 0.001
		}
		if lk.cva > 0 {
			lk.cva = 1 / pow(lk.cva, 2.0/3.0)
			lk.qva = 0.001
		}
	}
}

// leakHeadloss evaluates the inverted leakage law h = c·q^(1/n) and its
// gradient, with a barrier against negative leakage.
func leakHeadloss(q, c, n float64) (hloss, hgrad float64) {
	n = 1 / n
	hgrad = n * c * powPositive(math.Abs(q), n-1)
	hloss = hgrad * q / n
	addLowerBarrier(q, &hloss, &hgrad)
	return hloss, hgrad
}

// nodeLeakHeadloss returns both leakage emitters' head losses and
// gradients at junction i, or false if it does not leak.
func (s *Solver) nodeLeakHeadloss(i int) (hfa, gfa, hva, gva float64, ok bool) {
	lk := &s.leak[i]
	if lk.cfa == 0 && lk.cva == 0 {
		return 0, 0, 0, 0, false
	}
	if lk.cfa != 0 {
		hfa, gfa = leakHeadloss(lk.qfa, lk.cfa, 0.5)
	}
	if lk.cva != 0 {
		hva, gva = leakHeadloss(lk.qva, lk.cva, 1.5)
	}
	return hfa, gfa, hva, gva, true
}

func (s *Solver) leakageCoeffs() {
	ch := s.chol
	for i := range s.nJunc {
		hfa, gfa, hva, gva, ok := s.nodeLeakHeadloss(i)
		if !ok {
			continue
		}
		r := s.row[i]
		if gfa > 0 {
			ch.Diag[r] += 1 / gfa
			ch.RHS[r] += (hfa + s.elev[i]) / gfa
		}
		if gva > 0 {
			ch.Diag[r] += 1 / gva
			ch.RHS[r] += (hva + s.elev[i]) / gva
		}
		s.xflow[i] -= s.leak[i].qfa + s.leak[i].qva
	}
}

func (s *Solver) newLeakageFlows(hb *balance, qsum, dqsum *float64) {
	for i := range s.nJunc {
		hfa, gfa, hva, gva, ok := s.nodeLeakHeadloss(i)
		if !ok {
			continue
		}
		lk := &s.leak[i]
		h := s.head[i] - s.elev[i]
		var dqfa, dqva float64
		if gfa > 0 {
			dqfa = (hfa - h) / gfa * s.relax
			lk.qfa -= dqfa
		}
		if gva > 0 {
			dqva = (hva - h) / gva * s.relax
			lk.qva -= dqva
		}
		s.leakFlow[i] = lk.qfa + lk.qva
		dq := dqfa + dqva
		if dq == 0 {
			continue
		}
		*qsum += math.Abs(s.leakFlow[i])
		*dqsum += math.Abs(dq)
		if math.Abs(dq) > hb.maxFlowChange {
			hb.maxFlowChange = math.Abs(dq)
		}
	}
}

// leakageConverged compares solved leakage with the FAVAD law at the
// solved pressures.
func (s *Solver) leakageConverged() bool {
	for i := range s.nJunc {
		lk := &s.leak[i]
		if lk.cfa == 0 && lk.cva == 0 {
			continue
		}
		h := s.head[i] - s.elev[i]
		qref := 0.0
		if h > 0 {
			if lk.cfa > 0 {
				qref = math.Sqrt(h / lk.cfa)
			}
			if lk.cva > 0 {
				qref += pow(h/lk.cva, 1.5)
			}
		}
		if math.Abs(qref-(lk.qfa+lk.qva)) > epanet.LeakQtol {
			return false
		}
	}
	return true
}

// pipeLeakage returns the leakage flow (internal units) of pipe k at the
// current heads, split between its ends as the solver models it.
func (s *Solver) pipeLeakage(k int) float64 {
	if !s.kind[k].IsPipe() || (s.leakArea[k] == 0 && s.leakExpan[k] == 0) {
		return 0
	}
	c := &epanet
	n1, n2 := int(s.from[k]), int(s.to[k])
	if n1 >= s.nJunc && n2 >= s.nJunc {
		return 0
	}
	h1 := max(s.head[n1]-s.elev[n1], 0)
	h2 := max(s.head[n2]-s.elev[n2], 0)
	a := s.leakArea[k] / (c.MperFT * c.MperFT)
	m := s.leakExpan[k] / c.MperFT
	coef := c.LeakOrifice * (s.length[k] / 100 / 2) * 1e-6
	var q1, q2 float64
	if n1 < s.nJunc {
		q1 = coef * (a + m*h1) * math.Sqrt(h1)
	}
	if n2 < s.nJunc {
		q2 = coef * (a + m*h2) * math.Sqrt(h2)
	}
	if n2 >= s.nJunc {
		q1 *= 2
	}
	if n1 >= s.nJunc {
		q2 *= 2
	}
	return q1 + q2
}
