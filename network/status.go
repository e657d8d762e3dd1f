package network

import "math"

// Status checks between GGA trials (EPANET hydstatus.c): regulating valves
// switch between active, open and closed; check valves close on reverse
// flow; pumps close when they cannot deliver the head; links into full or
// out of empty tanks close temporarily.

// valveStatus updates PRVs and PSVs that are not fixed open or closed.
func (s *Solver) valveStatus() bool {
	change := false
	for _, k32 := range s.valves {
		k := int(k32)
		if s.setting[k] == Missing {
			continue
		}
		n1, n2 := s.from[k], s.to[k]
		old := s.status[k]
		switch s.kind[k] {
		case PRV:
			hset := s.elev[n2] + s.setting[k]
			s.status[k] = s.prvStatus(k, old, hset, s.head[n1], s.head[n2])
		case PSV:
			hset := s.elev[n1] + s.setting[k]
			s.status[k] = s.psvStatus(k, old, hset, s.head[n1], s.head[n2])
		default:
			continue
		}
		if s.status[k] != old {
			change = true
		}
	}
	return change
}

// linkStatus updates pumps, check valves, FCVs and links to tanks (the
// only links whose status it can change: statusLinks).
func (s *Solver) linkStatus() bool {
	change := false
	nj := int32(s.nJunc)
	for _, k32 := range s.statusLinks {
		k := int(k32)
		n1, n2 := s.from[k], s.to[k]
		dh := s.head[n1] - s.head[n2]
		old := s.status[k]
		if old == XHead || old == TempClosed {
			s.status[k] = Open
		}
		switch s.kind[k] {
		case CVPipe:
			s.status[k] = s.cvStatus(s.status[k], dh, s.flow[k])
		case Pump:
			if s.status[k] >= Open && s.setting[k] > 0 {
				s.status[k] = s.pumpStatus(k, -dh)
			}
		case FCV:
			if s.setting[k] != Missing {
				s.status[k] = s.fcvStatus(k, old, s.head[n1], s.head[n2])
			}
		}
		if n1 >= nj {
			s.tankStatus(k, int(n1), s.flow[k])
		}
		if n2 >= nj {
			s.tankStatus(k, int(n2), -s.flow[k])
		}
		if s.status[k] != old {
			change = true
		}
	}
	return change
}

func (s *Solver) cvStatus(st LinkStatus, dh, q float64) LinkStatus {
	if math.Abs(dh) > s.htol {
		if dh < -s.htol || q < -s.qtol {
			return Closed
		}
		return Open
	}
	if q < -s.qtol {
		return Closed
	}
	return st
}

// pumpStatus closes a pump (XHead) whose head gain dh exceeds its
// speed-adjusted shutoff head.
func (s *Solver) pumpStatus(k int, dh float64) LinkStatus {
	pd := &s.pumps[s.pumpOf[k]]
	var hmax float64
	if pd.kind == constantPower {
		hmax = epanet.Big
		if s.flow[k] < epanet.Tiny {
			return TempClosed
		}
	} else {
		hmax = s.setting[k] * s.setting[k] * pd.hmax
	}
	if dh > hmax+s.htol {
		return XHead
	}
	return Open
}

func (s *Solver) prvStatus(k int, st LinkStatus, hset, h1, h2 float64) LinkStatus {
	htol := s.htol
	q := s.flow[k]
	hml := s.km[k] * q * q
	switch st {
	case Active:
		switch {
		case q < -s.qtol:
			return Closed
		case h1-hml < hset-htol:
			return Open
		}
		return Active
	case Open:
		switch {
		case q < -s.qtol:
			return Closed
		case h2 >= hset+htol:
			return Active
		}
		return Open
	case Closed:
		switch {
		case h1 >= hset+htol && h2 < hset-htol:
			return Active
		case h1 < hset-htol && h1 > h2+htol:
			return Open
		}
		return Closed
	case XPressure:
		if q < -s.qtol {
			return Closed
		}
	}
	return st
}

func (s *Solver) psvStatus(k int, st LinkStatus, hset, h1, h2 float64) LinkStatus {
	htol := s.htol
	q := s.flow[k]
	hml := s.km[k] * q * q
	switch st {
	case Active:
		switch {
		case q < -s.qtol:
			return Closed
		case h2+hml > hset+htol:
			return Open
		}
		return Active
	case Open:
		switch {
		case q < -s.qtol:
			return Closed
		case h1 < hset-htol:
			return Active
		}
		return Open
	case Closed:
		switch {
		case h2 > hset+htol && h1 > h2+htol:
			return Open
		case h1 >= hset+htol && h1 > h2+htol:
			return Active
		}
		return Closed
	case XPressure:
		if q < -s.qtol {
			return Closed
		}
	}
	return st
}

// fcvStatus: an FCV that cannot pass its flow opens fully (XFCV) and
// becomes active again once the flow reaches its setting.
func (s *Solver) fcvStatus(k int, st LinkStatus, h1, h2 float64) LinkStatus {
	q := s.flow[k]
	switch {
	case h1-h2 < -s.htol:
		return XFCV
	case q < -s.qtol:
		return XFCV
	case st == XFCV && q >= s.setting[k]:
		return Active
	case st == Active:
		if (h1-h2)/(q*q) < s.km[k] {
			return XFCV
		}
	}
	return st
}

// tankStatus closes link k temporarily if it would fill a full tank or
// drain an empty one; q is the flow out of tank node n.
func (s *Solver) tankStatus(k, n int, q float64) {
	if s.status[k] <= Closed {
		return
	}
	t := &s.tanks[n-s.nJunc]
	if t.area == 0 {
		return
	}
	if s.head[n] >= t.hmax && !t.canOverflow && q < 0 {
		s.status[k] = TempClosed
	} else if s.head[n] <= t.hmin && q > 0 {
		s.status[k] = TempClosed
	}
}
