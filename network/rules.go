package network

import "math"

// Evaluation of rule-based controls (EPANET rules.c): at every rule time
// step the premises of each enabled rule are tested; the THEN (or ELSE)
// actions join an action list where, per link, the action of the rule
// with the highest priority wins; the list is then applied.

// pendingAction is an entry of the action list.
type pendingAction struct {
	rule   int
	action *Action
}

// checkRules evaluates all rules at the current time, dt seconds after
// the previous evaluation, and returns the number of actions that changed
// a link.
func (s *Solver) checkRules(dt int64) int {
	s.ruleTime1 = s.htime - dt + 1
	s.actions = s.actions[:0]
	for i := range s.rules {
		r := &s.rules[i]
		if !r.Enabled {
			continue
		}
		if s.evalPremises(r) {
			s.addActions(i, r.Then)
		} else if len(r.Else) > 0 {
			s.addActions(i, r.Else)
		}
	}
	// EPANET keeps the list with the newest entry first.
	n := 0
	for a := len(s.actions) - 1; a >= 0; a-- {
		if s.takeAction(s.actions[a].action) {
			n++
		}
	}
	return n
}

// addActions puts rule i's actions on the list unless their link already
// has an action, which a higher priority rule replaces.
func (s *Solver) addActions(i int, acts []Action) {
	for ai := range acts {
		a := &acts[ai]
		found := false
		for li := range s.actions {
			e := &s.actions[li]
			if e.action.Link == a.Link {
				if s.rules[i].Priority > s.rules[e.rule].Priority {
					e.action, e.rule = a, i
				}
				found = true
				break
			}
		}
		if !found {
			s.actions = append(s.actions, pendingAction{rule: i, action: a})
		}
	}
}

func (s *Solver) evalPremises(r *Rule) bool {
	result := true
	for pi := range r.Premises {
		p := &r.Premises[pi]
		if p.Or {
			if !result {
				result = s.checkPremise(p)
			}
			continue
		}
		if !result {
			return false
		}
		result = s.checkPremise(p)
	}
	return result
}

func (s *Solver) checkPremise(p *Premise) bool {
	switch {
	case p.Variable == VarTime || p.Variable == VarClockTime:
		return s.checkTime(p)
	case p.Status > RuleNumber:
		return s.checkStatus(p)
	}
	return s.checkValue(p)
}

// checkTime tests a time premise; equality holds if the time was passed
// during the last rule step.
func (s *Solver) checkTime(p *Premise) bool {
	var t1, t2 int64
	if p.Variable == VarTime {
		t1, t2 = s.ruleTime1, s.htime
	} else {
		t1 = (s.ruleTime1 + s.times.StartClock) % secondsPerDay
		t2 = (s.htime + s.times.StartClock) % secondsPerDay
	}
	x := int64(p.Value)
	switch p.Op {
	case OpLT:
		return t2 < x
	case OpLE:
		return t2 <= x
	case OpGT:
		return t2 > x
	case OpGE:
		return t2 >= x
	}
	var within bool
	if t2 < t1 {
		within = x >= t1 || x <= t2
	} else {
		within = x >= t1 && x <= t2
	}
	if p.Op == OpEQ {
		return within
	}
	return !within
}

func (s *Solver) checkStatus(p *Premise) bool {
	st := s.status[p.Index]
	var j RuleStatus
	switch {
	case st <= Closed:
		j = RuleClosed
	case st == Active:
		j = RuleActive
	default:
		j = RuleOpen
	}
	return (j == p.Status && p.Op == OpEQ) || (j != p.Status && p.Op == OpNE)
}

// checkValue tests a numerical premise in the file's units with EPANET's
// tolerance of 0.001.
func (s *Solver) checkValue(p *Premise) bool {
	u := s.u
	i := p.Index
	var x float64
	switch p.Variable {
	case VarDemand:
		if p.Object == RuleSystem {
			x = s.dsystem * u.flow
		} else {
			x = s.nodeDemand[i] * u.flow
		}
	case VarHead, VarGrade:
		x = s.head[i] * u.head
	case VarPressure:
		x = (s.head[i] - s.elev[i]) * u.pressure
	case VarLevel:
		x = (s.head[i] - s.elev[i]) * u.head
	case VarFlow:
		x = math.Abs(s.flow[i]) * u.flow
	case VarSetting:
		if s.setting[i] == Missing {
			return false
		}
		x = s.setting[i]
		switch s.kind[i] {
		case PRV, PSV, PBV:
			x *= u.pressure
		case FCV:
			x *= u.flow
		}
	case VarFillTime, VarDrainTime:
		if i < s.nJunc {
			return false
		}
		t := i - s.nJunc
		td := &s.tanks[t]
		if td.area == 0 {
			return false
		}
		d := s.nodeDemand[i]
		if p.Variable == VarFillTime {
			if d <= epanet.Tiny {
				return false
			}
			x = (td.vmax - s.tankVolume[t]) / d
		} else {
			if d >= -epanet.Tiny {
				return false
			}
			x = (td.vmin - s.tankVolume[t]) / d
		}
	default:
		return false
	}
	tol := epanet.RuleTolerance
	switch p.Op {
	case OpEQ:
		return math.Abs(x-p.Value) <= tol
	case OpNE:
		return math.Abs(x-p.Value) >= tol
	case OpLT:
		return x <= p.Value+tol
	case OpLE:
		return x <= p.Value-tol
	case OpGT:
		return x >= p.Value-tol
	case OpGE:
		return x >= p.Value+tol
	}
	return false
}

// takeAction applies one action and reports whether it changed the link.
func (s *Solver) takeAction(a *Action) bool {
	k := a.Link
	st := s.status[k]
	switch {
	case a.Status == RuleOpen && st <= Closed:
		s.setLinkStatus(k, true)
		return true
	case a.Status == RuleClosed && st > Closed:
		s.setLinkStatus(k, false)
		return true
	case a.Setting != Missing:
		x := a.Setting
		switch s.kind[k] {
		case PRV, PSV, PBV:
			x /= s.u.pressure
		case FCV:
			x /= s.u.flow
		}
		if math.Abs(x-s.setting[k]) > epanet.RuleTolerance {
			s.setLinkSetting(k, x)
			return true
		}
	}
	return false
}
