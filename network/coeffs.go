package network

import "math"

// Coefficients of the linearised network equations (Todini & Pilati 1988;
// EPANET 2.2 manual §12). For every link the head loss h(q) and its
// gradient g = dh/dq give
//
//	P = 1/g   (inverse gradient)     Y = h/g   (flow correction)
//
// and the new heads solve A·H = F with A_ij = −ΣP over links i–j,
// A_ii = ΣP at node i and F holding the flow imbalances plus P·H of
// fixed-grade neighbours. Link flows are then updated as q −= Y − P·Δh.

// Constants of the Darcy-Weisbach friction factor (Swamee–Jain for
// Re ≥ 4000, Dunlop's cubic interpolation for 2000 < Re < 4000), with
// EPANET's decimal values (two of them differ from a fresh computation
// in the last bit, which matters for identical rounding).
var (
	dwA1 = epanet.DWA1 // w = Re·π/4 at Re = 4000
	dwA2 = epanet.DWA2 // w at Re = 2000
	dwA8 = epanet.DWA8 // 5.74·(π/4)^0.9
	dwA9 = epanet.DWA9 // −2/ln 10
	dwAB = epanet.DWAB // 5.74/4000^0.9
	dwAC = epanet.DWAC // −2·0.9·2/ln 10 · AB
)

// powPositive returns x**e for x ≥ 0 (0 for x = 0 and e > 0).
func powPositive(x, e float64) float64 {
	if x <= 0 {
		if e > 0 {
			return 0
		}
		return math.Pow(x, e)
	}
	return pow(x, e)
}

// addLowerBarrier adds a steep barrier to a head loss function that keeps
// the flow from falling below a limit (dq = flow − limit).
func addLowerBarrier(dq float64, hloss, hgrad *float64) {
	a := epanet.BarrierSlope * dq
	b := math.Sqrt(a*a + 1e-6)
	*hloss += (a - b) / 2
	*hgrad += epanet.BarrierSlope / 2 * (1 - a/b)
}

// addUpperBarrier is the barrier keeping flow below a limit.
func addUpperBarrier(dq float64, hloss, hgrad *float64) {
	a := epanet.BarrierSlope * dq
	b := math.Sqrt(a*a + 1e-6)
	*hloss += (a + b) / 2
	*hgrad += epanet.BarrierSlope / 2 * (1 + a/b)
}

// invalidCoeffStatus marks cached pipe coefficients as stale.
const invalidCoeffStatus LinkStatus = 255

// resistance computes link k's flow resistance R from its data.
func (s *Solver) resistance(k int) {
	c := &epanet
	s.coeffStatus[k] = invalidCoeffStatus
	switch s.kind[k] {
	case CVPipe, Pipe:
		e, d, l := s.kc[k], s.diam[k], s.length[k]
		switch s.net.Options.Headloss {
		case HazenWilliams:
			s.resist[k] = c.HWCoefficient * l / pow(e, s.hexp) / pow(d, c.HWDiameterExponent)
		case DarcyWeisbach:
			a := math.Pi * (d * d) / 4 // π·d²/4 grouped as EPANET rounds it
			s.resist[k] = l / 2.0 / c.Gravity / d / (a * a)
		case ChezyManning:
			x := 4.0 * e / (c.ManningConstant * math.Pi * (d * d))
			s.resist[k] = x * x * pow(d/4.0, -c.ManningRadiusExponent) * l
		}
	case Pump:
		s.resist[k] = c.CBig
	case PCV:
		s.resist[k] = s.pcvLossCoeff(k, s.kc[k])
	default:
		s.resist[k] = c.CSmall
	}
}

// pcvLossCoeff converts a positional control valve's percent-open setting
// into a minor loss coefficient through its Kv-ratio curve (linear when
// it has none).
func (s *Solver) pcvLossCoeff(k int, pct float64) float64 {
	c := &epanet
	if pct == Missing {
		return 0
	}
	kmo := s.km[k]
	if pct >= 100 {
		return kmo
	}
	if pct <= 0 {
		return c.CBig
	}
	kvr := pct
	if cv := s.valveCurve[k]; cv >= 0 {
		x, y := s.curves[cv].X, s.curves[cv].Y
		n := len(x)
		switch {
		case n < 2: // a one-point curve: flat
			kvr = y[0]
		case pct < x[0]:
			kvr = pct / x[0] * y[0]
		case pct > x[n-1]:
			k2 := n - 1
			kvr = (pct-x[k2])/(1-x[k2])*(1-y[k2]) + y[k2]
		default:
			k2 := 0
			for k2 < n && x[k2] < pct {
				k2++
			}
			if k2 == 0 {
				k2++
			} else if k2 == n {
				k2--
			}
			k1 := k2 - 1
			kvr = y[k1] + (y[k2]-y[k1])/(x[k2]-x[k1])*(pct-x[k1])
		}
	}
	kvr /= 100
	kvr = max(min(kvr, 1), c.CSmall)
	return min(kmo/(kvr*kvr), c.CBig)
}

// headlossCoeffs computes P and Y of every link at the current flows.
func (s *Solver) headlossCoeffs() {
	if s.net.Options.Headloss == DarcyWeisbach {
		for _, k32 := range s.pipeLinks {
			k := int(k32)
			if s.coeffFlow[k] == s.flow[k] && s.coeffStatus[k] == s.status[k] {
				continue
			}
			s.coeffFlow[k], s.coeffStatus[k] = s.flow[k], s.status[k]
			s.dwPipeCoeff(k)
		}
	} else {
		s.powerLawPipeCoeffs()
	}
	for _, k32 := range s.otherLinks {
		k := int(k32)
		switch s.kind[k] {
		case Pump:
			s.pumpCoeff(k)
		case PBV:
			s.pbvCoeff(k)
		case TCV:
			s.tcvCoeff(k)
		case PCV:
			s.pcvCoeff(k)
		case GPV:
			s.gpvCoeff(k)
		case FCV, PRV, PSV:
			if s.setting[k] == Missing {
				s.valveCoeff(k, s.km[k])
			} else {
				s.p[k] = 0
			}
		}
	}
}

// powerLawPipeCoeffs computes P and Y of every pipe under Hazen-Williams
// or Chezy-Manning friction (h = R·q^n plus minor loss), linearised for
// very small gradients. A pipe's coefficients depend only on its flow and
// status, and the convergence check computes them at the flows the next
// trial (or the next time step) starts from, so unchanged pipes are
// skipped.
func (s *Solver) powerLawPipeCoeffs() {
	n := s.nLinks
	flow, status, resist, km := s.flow[:n], s.status[:n], s.resist[:n], s.km[:n]
	pp, yy, cflow, cstatus := s.p[:n], s.y[:n], s.coeffFlow[:n], s.coeffStatus[:n]
	hexp, rqtol := s.hexp, s.rqtol
	e := hexp - 1
	cbig := epanet.CBig
	for _, k32 := range s.pipeLinks {
		k := int(k32)
		qk, st := flow[k], status[k]
		if cflow[k] == qk && cstatus[k] == st {
			continue
		}
		cflow[k], cstatus[k] = qk, st
		if st <= Closed {
			pp[k] = 1 / cbig
			yy[k] = qk
			continue
		}
		q := math.Abs(qk)
		hgrad := hexp * resist[k] * powPositive(q, e)
		var hloss float64
		if hgrad < rqtol {
			hgrad = rqtol / hexp
			hloss = hgrad * q
		} else {
			hloss = hgrad * q / hexp
		}
		if ml := km[k]; ml > 0 {
			hloss += ml * q * q
			hgrad += 2 * ml * q
		}
		if qk < 0 {
			hloss = -hloss
		}
		pp[k] = 1 / hgrad
		yy[k] = hloss / hgrad
	}
}

func (s *Solver) closedCoeff(k int) {
	s.p[k] = 1 / epanet.CBig
	s.y[k] = s.flow[k]
}

// dwPipeCoeff: Darcy-Weisbach friction (Hagen–Poiseuille when laminar).
func (s *Solver) dwPipeCoeff(k int) {
	if s.status[k] <= Closed {
		s.closedCoeff(k)
		return
	}
	qk := s.flow[k]
	q := math.Abs(qk)
	r := s.resist[k]
	ml := s.km[k]
	e := s.kc[k] / s.diam[k]
	sv := s.viscosity * s.diam[k]
	var hloss, hgrad float64
	if q <= dwA2*sv {
		r = 16.0 * math.Pi * sv * r
		hloss = qk * (r + ml*q)
		hgrad = r + 2.0*ml*q
	} else {
		f, dfdq := frictionFactor(q, e, sv)
		r1 := f*r + ml
		hloss = r1 * q * qk
		hgrad = 2.0*r1*q + dfdq*r*q*q
	}
	s.p[k] = 1 / hgrad
	s.y[k] = hloss / hgrad
}

// frictionFactor returns the Darcy-Weisbach friction factor and its
// derivative with respect to flow; e = relative roughness, sv =
// viscosity × diameter.
func frictionFactor(q, e, sv float64) (f, dfdq float64) {
	w := q / sv
	if w >= dwA1 {
		y1 := dwA8 / pow(w, 0.9)
		y2 := e/3.7 + y1
		y3 := dwA9 * logAccurate(y2)
		f = 1.0 / (y3 * y3)
		dfdq = 1.8 * f * y1 * dwA9 / y2 / y3 / q
		return f, dfdq
	}
	y2 := e/3.7 + dwAB
	y3 := dwA9 * logAccurate(y2)
	fa := 1.0 / (y3 * y3)
	fb := (2.0 + dwAC/(y2*y3)) * fa
	r := w / dwA2
	x1 := 7.0*fa - fb
	x2 := 0.128 - 17.0*fa + 2.5*fb
	x3 := -0.128 + 13.0*fa - (fb + fb)
	x4 := 0.032 - 3.0*fa + 0.5*fb
	f = x1 + r*(x2+r*(x3+r*x4))
	dfdq = (x2 + r*(2.0*x3+r*3.0*x4)) / sv / dwA2
	return f, dfdq
}

// pumpCoeff: the pump curve as a (negative) head loss, scaled by speed
// with the affinity laws.
func (s *Solver) pumpCoeff(k int) {
	c := &epanet
	speed := s.setting[k]
	if s.status[k] <= Closed || speed == 0 {
		s.closedCoeff(k)
		return
	}
	q := math.Abs(s.flow[k])
	pd := &s.pumps[s.pumpOf[k]]
	var hloss, hgrad float64
	switch pd.kind {
	case noCurve:
		s.p[k] = 1 / c.CSmall
		s.y[k] = s.flow[k]
		return
	case customCurve:
		h0, r := s.curveSegment(pd.curve, q/speed)
		pd.h0, pd.r, pd.n = -h0, -r, 1
		hgrad = pd.r * speed
		hloss = pd.h0*(speed*speed) + hgrad*s.flow[k]
	default:
		h0 := speed * speed * pd.h0
		n := pd.n
		if math.Abs(n-1) < c.Tiny {
			n = 1
		}
		r := pd.r * powPositive(speed, 2-n)
		switch {
		case pd.kind == constantPower:
			hgrad = -r / q / q
			if hgrad > c.CBig {
				s.closedCoeff(k)
				return
			}
			if hgrad < c.CSmall {
				s.p[k] = 1 / c.CSmall
				s.y[k] = s.flow[k]
				return
			}
			hloss = r / s.flow[k]
		case n != 1:
			hgrad = n * r * powPositive(q, n-1)
			if hgrad < s.rqtol {
				hgrad = s.rqtol
				hloss = h0 + hgrad*s.flow[k]
			} else {
				hloss = h0 + hgrad*s.flow[k]/n
			}
		default:
			hgrad = r
			hloss = h0 + hgrad*s.flow[k]
		}
	}
	s.p[k] = 1 / hgrad
	s.y[k] = hloss / hgrad
}

// curveSegment returns the intercept and slope, in internal units, of the
// segment of curve i (flow in file units on X) that brackets flow q.
func (s *Solver) curveSegment(i int, q float64) (h0, r float64) {
	q *= s.u.flow
	x, y := s.curves[i].X, s.curves[i].Y
	n := len(x)
	if n < 2 { // a one-point curve is flat (EPANET reads past its end)
		return y[0] / s.u.head, 0
	}
	k2 := 0
	for k2 < n && x[k2] < q {
		k2++
	}
	if k2 == 0 {
		k2++
	} else if k2 == n {
		k2--
	}
	k1 := k2 - 1
	r = (y[k2] - y[k1]) / (x[k2] - x[k1])
	h0 = y[k1] - r*x[k1]
	return h0 / s.u.head, r * s.u.flow / s.u.head
}

// gpvCoeff: general purpose valve following its head loss curve.
func (s *Solver) gpvCoeff(k int) {
	if s.status[k] == Closed {
		s.valveCoeff(k, s.km[k])
		return
	}
	i := int(math.Round(s.setting[k])) - 1 // EPANET numbers curves from 1
	q := max(math.Abs(s.flow[k]), epanet.Tiny)
	h0, r := s.curveSegment(i, q)
	r = max(r, epanet.Tiny)
	s.p[k] = 1 / r
	sgn := 1.0
	if s.flow[k] < 0 {
		sgn = -1
	}
	s.y[k] = (h0/r + q) * sgn
}

// pbvCoeff: pressure breaker valve forcing its head loss to the setting.
func (s *Solver) pbvCoeff(k int) {
	set := s.setting[k]
	if set == Missing || set == 0 || s.km[k]*s.flow[k]*s.flow[k] > set {
		s.valveCoeff(k, s.km[k])
		return
	}
	s.p[k] = epanet.CBig
	s.y[k] = set * epanet.CBig
}

// tcvCoeff: throttle control valve whose setting is a loss coefficient.
func (s *Solver) tcvCoeff(k int) {
	km := s.km[k]
	if set := s.setting[k]; set != Missing {
		d2 := s.diam[k] * s.diam[k]
		km = epanet.TCVFactor * set / (d2 * d2)
	}
	s.valveCoeff(k, km)
}

// pcvCoeff: positional control valve with a loss coefficient from its
// percent-open setting (kept in resist).
func (s *Solver) pcvCoeff(k int) {
	km := s.km[k]
	if s.setting[k] != Missing {
		km = s.resist[k]
	}
	s.valveCoeff(k, km)
}

// valveCoeff: an open, closed or throttled valve with minor loss km.
func (s *Solver) valveCoeff(k int, km float64) {
	c := &epanet
	fl := s.flow[k]
	if s.status[k] <= Closed {
		s.closedCoeff(k)
		return
	}
	if km > 0 {
		hgrad := 2 * km * math.Abs(fl)
		var hloss float64
		if hgrad < s.rqtol {
			hgrad = s.rqtol / 2
			hloss = fl * hgrad
		} else {
			hloss = fl * hgrad / 2
		}
		s.p[k] = 1 / hgrad
		s.y[k] = hloss / hgrad
		return
	}
	s.p[k] = 1 / c.CSmall
	s.y[k] = fl
}

// matrixCoeffs assembles A and F from links, emitters, pressure-driven
// demands, leakage, nodal demands and regulating valves.
func (s *Solver) matrixCoeffs() {
	ch := s.chol
	ch.Zero()
	clear(s.xflow[:s.nNodes])
	s.linkCoeffs()
	s.emitterCoeffs()
	s.demandCoeffs()
	if s.hasLeakage {
		s.leakageCoeffs()
	}
	for i := range s.nJunc {
		s.xflow[i] -= s.demandFlow[i]
		ch.RHS[s.row[i]] += s.xflow[i]
	}
	s.valveCoeffs()
}

func (s *Solver) linkCoeffs() {
	ch := s.chol
	diag, rhs, lower := ch.Diag, ch.RHS, ch.Lower
	n := s.nLinks
	pp, yy, flow := s.p[:n], s.y[:n], s.flow[:n]
	from, to, slot := s.from[:n], s.to[:n], s.slot[:n]
	row1, row2 := s.row1[:n], s.row2[:n]
	xflow, head := s.xflow, s.head
	for k := range n {
		p := pp[k]
		if p == 0 {
			continue
		}
		n1, n2 := from[k], to[k]
		q := flow[k]
		xflow[n1] -= q
		xflow[n2] += q
		if sl := slot[k]; sl >= 0 {
			lower[sl] -= p
		}
		r1, r2 := row1[k], row2[k]
		if r1 >= 0 {
			diag[r1] += p
			rhs[r1] += yy[k]
		} else if r2 >= 0 {
			rhs[r2] += p * head[n1]
		}
		if r2 >= 0 {
			diag[r2] += p
			rhs[r2] -= yy[k]
		} else if r1 >= 0 {
			rhs[r1] += p * head[n2]
		}
	}
}

// emitterCoeffs: an emitter is a pipe to a reservoir at the junction's
// elevation with head loss Ke·q^Qexp.
func (s *Solver) emitterCoeffs() {
	ch := s.chol
	for i := range s.nJunc {
		if s.emitterK[i] == 0 {
			continue
		}
		hloss, hgrad := s.emitterHeadloss(i)
		r := s.row[i]
		ch.Diag[r] += 1 / hgrad
		ch.RHS[r] += (hloss + s.elev[i]) / hgrad
		s.xflow[i] -= s.emitterFlow[i]
	}
}

func (s *Solver) emitterHeadloss(i int) (hloss, hgrad float64) {
	ke := max(epanet.CSmall, s.emitterK[i])
	q := s.emitterFlow[i]
	hgrad = s.qexp * ke * powPositive(math.Abs(q), s.qexp-1)
	if hgrad < s.rqtol {
		hgrad = s.rqtol / s.qexp
		hloss = hgrad * q
	} else {
		hloss = hgrad * q / s.qexp
	}
	if !s.emitterBackflow {
		addLowerBarrier(q, &hloss, &hgrad)
	}
	return hloss, hgrad
}

// demandCoeffs: under PDA a demand is an emitter whose head loss is the
// inverted pressure–demand function, bounded to [0, full demand].
func (s *Solver) demandCoeffs() {
	if s.demandModel == DDA {
		return
	}
	ch := s.chol
	dp := s.preq - s.pmin
	n := 1 / s.pexp
	for i := range s.nJunc {
		if s.fullDemand[i] <= 0 {
			continue
		}
		hloss, hgrad := s.demandHeadloss(i, dp, n)
		if hgrad > 0 {
			r := s.row[i]
			ch.Diag[r] += 1 / hgrad
			ch.RHS[r] += (hloss + s.elev[i] + s.pmin) / hgrad
		}
	}
}

func (s *Solver) demandHeadloss(i int, dp, n float64) (hloss, hgrad float64) {
	d := s.demandFlow[i]
	dfull := s.fullDemand[i]
	r := math.Abs(d) / dfull
	hgrad = n * dp * powPositive(r, n-1) / dfull
	hloss = hgrad * d / n
	addLowerBarrier(d, &hloss, &hgrad)
	addUpperBarrier(d-dfull, &hloss, &hgrad)
	return hloss, hgrad
}

// valveCoeffs adds PRVs, PSVs and FCVs that are regulating (not fixed
// open or closed).
func (s *Solver) valveCoeffs() {
	for _, k32 := range s.valves {
		k := int(k32)
		if s.setting[k] == Missing {
			continue
		}
		switch s.kind[k] {
		case PRV:
			s.prvCoeff(k)
		case PSV:
			s.psvCoeff(k)
		case FCV:
			s.fcvCoeff(k)
		}
	}
}

// addValveAsLink adds a non-regulating valve to the matrix like any link.
func (s *Solver) addValveAsLink(k int, i, j int32) {
	ch := s.chol
	s.valveCoeff(k, s.km[k])
	ch.Lower[s.slot[k]] -= s.p[k]
	ch.Diag[i] += s.p[k]
	ch.Diag[j] += s.p[k]
	ch.RHS[i] += s.y[k] - s.flow[k]
	ch.RHS[j] -= s.y[k] - s.flow[k]
}

// prvCoeff: an active PRV fixes the downstream head at its setting and
// passes the downstream node's flow excess.
func (s *Solver) prvCoeff(k int) {
	c := &epanet
	ch := s.chol
	n1, n2 := s.from[k], s.to[k]
	i, j := s.row[n1], s.row[n2]
	hset := s.elev[n2] + s.setting[k]
	if s.status[k] == Active {
		s.p[k] = 0
		s.y[k] = s.flow[k] + s.xflow[n2]
		ch.RHS[j] += hset * c.CBig
		ch.Diag[j] += c.CBig
		if s.xflow[n2] < 0 {
			ch.RHS[i] += s.xflow[n2]
		}
		return
	}
	s.addValveAsLink(k, i, j)
}

// psvCoeff: an active PSV fixes the upstream head at its setting.
func (s *Solver) psvCoeff(k int) {
	c := &epanet
	ch := s.chol
	n1, n2 := s.from[k], s.to[k]
	i, j := s.row[n1], s.row[n2]
	hset := s.elev[n1] + s.setting[k]
	if s.status[k] == Active {
		s.p[k] = 0
		s.y[k] = s.flow[k] - s.xflow[n1]
		ch.RHS[i] += hset * c.CBig
		ch.Diag[i] += c.CBig
		if s.xflow[n1] > 0 {
			ch.RHS[j] += s.xflow[n1]
		}
		ch.Lower[s.slot[k]] -= 1 / c.CBig
		ch.Diag[j] += 1 / c.CBig
		return
	}
	s.addValveAsLink(k, i, j)
}

// fcvCoeff: an active FCV is cut and its setting becomes a demand
// upstream and a supply downstream.
func (s *Solver) fcvCoeff(k int) {
	c := &epanet
	ch := s.chol
	n1, n2 := s.from[k], s.to[k]
	i, j := s.row[n1], s.row[n2]
	q := s.setting[k]
	if s.status[k] == Active {
		s.xflow[n1] -= q
		s.xflow[n2] += q
		s.y[k] = s.flow[k] - q
		ch.RHS[i] -= q
		ch.RHS[j] += q
		s.p[k] = 1 / c.CBig
		ch.Lower[s.slot[k]] -= s.p[k]
		ch.Diag[i] += s.p[k]
		ch.Diag[j] += s.p[k]
		return
	}
	s.addValveAsLink(k, i, j)
}
