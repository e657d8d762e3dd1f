package network

// Reader of the [RULES] section (EPANET 2.3 src/rules.c grammar):
//
//	RULE label
//	IF   object id variable operator value
//	AND|OR ...
//	THEN LINK id STATUS|SETTING IS value
//	AND  ...
//	ELSE ...
//	PRIORITY value
//	DISABLED

// ruleClause is the clause last read in the current rule.
type ruleClause uint8

const (
	clausePriority ruleClause = iota // also the state before the first rule
	clauseRule
	clauseIf
	clauseThen
	clauseElse
)

var (
	ruleWords      = []string{"RULE", "IF", "AND", "OR", "THEN", "ELSE", "PRIO", "DISABLED"}
	ruleObjects    = []string{"Junc", "Reser", "Tank", "Pipe", "Pump", "Valve", "NODE", "LINK", "SYSTEM"}
	ruleVariables  = []string{"DEMAND", "HEAD", "GRADE", "LEVEL", "PRESSURE", "FLOW", "STATUS", "SETTING", "POWER", "TIME", "CLOCKTIME", "FILLTIME", "DRAINTIME"}
	ruleOperators  = []string{"=", "<>", "<=", ">=", "<", ">", "IS", "NOT", "BELOW", "ABOVE"}
	ruleValueWords = []string{"XXXX", "OPEN", "CLOSED", "ACTIVE"}
)

// ruleLine reads one line of [RULES]. After an error the rest of the
// section is skipped, as EPANET does.
func (p *parser) ruleLine() *lineError {
	if p.ruleErr {
		return nil
	}
	le := p.ruleClause()
	if le != nil {
		p.ruleErr = true
		p.rule = nil
	}
	return le
}

func (p *parser) ruleClause() *lineError {
	switch findMatch(p.tok[0], ruleWords) {
	case 0: // RULE
		if len(p.tok) != 2 {
			return fail(201, -1)
		}
		if p.rule != nil {
			p.closeRule()
		}
		p.rule = &Rule{Label: p.tok[1], Enabled: true}
		p.ruleState = clauseRule
	case 1: // IF
		if p.ruleState != clauseRule {
			return fail(221, 0)
		}
		p.ruleState = clauseIf
		return p.premise(false)
	case 2: // AND
		switch p.ruleState {
		case clauseIf:
			return p.premise(false)
		case clauseThen, clauseElse:
			return p.action()
		}
		return fail(221, 0)
	case 3: // OR
		if p.ruleState != clauseIf {
			return fail(221, 0)
		}
		return p.premise(true)
	case 4: // THEN
		if p.ruleState != clauseIf {
			return fail(221, 0)
		}
		p.ruleState = clauseThen
		return p.action()
	case 5: // ELSE
		if p.ruleState != clauseThen {
			return fail(221, 0)
		}
		p.ruleState = clauseElse
		return p.action()
	case 6: // PRIORITY
		if p.ruleState != clauseThen && p.ruleState != clauseElse {
			return fail(221, 0)
		}
		p.ruleState = clausePriority
		if len(p.tok) < 2 {
			return fail(201, -1)
		}
		v, ok := parseNumber(p.tok[1])
		if !ok {
			return fail(202, 1)
		}
		p.rule.Priority = v
	case 7: // DISABLED
		if p.rule == nil || (p.ruleState != clauseThen && p.ruleState != clauseElse && p.ruleState != clausePriority) {
			return fail(221, 0)
		}
		p.rule.Enabled = false
	default:
		return fail(201, 0)
	}
	return nil
}

func (p *parser) closeRule() {
	p.net.Rules = append(p.net.Rules, *p.rule)
	p.rule = nil
}

// premise: IF|AND|OR object id variable operator value, or
// IF|AND|OR SYSTEM variable operator value (units).
func (p *parser) premise(or bool) *lineError {
	n := len(p.tok)
	if n != 5 && n != 6 {
		return fail(201, -1)
	}
	pr := Premise{Or: or, Value: Missing}
	obj := findMatch(p.tok[1], ruleObjects)
	opTok := 4
	if obj == 8 { // SYSTEM
		pr.Object = RuleSystem
		v := findMatch(p.tok[2], ruleVariables)
		if v != int(VarDemand) && v != int(VarTime) && v != int(VarClockTime) {
			return fail(201, 2)
		}
		pr.Variable = RuleVariable(v)
		opTok = 3
	} else {
		v := findMatch(p.tok[3], ruleVariables)
		if v < 0 {
			return fail(201, 3)
		}
		pr.Variable = RuleVariable(v)
		switch obj {
		case 0, 1, 2, 6:
			pr.Object = RuleNode
			j, ok := p.net.nodeIndex[p.tok[2]]
			if !ok {
				return fail(203, 2)
			}
			pr.Index = j
			switch pr.Variable {
			case VarDemand, VarHead, VarGrade, VarLevel, VarPressure:
			case VarFillTime, VarDrainTime:
				if p.net.Nodes[j].Kind == Junction {
					return fail(201, 3)
				}
			default:
				return fail(201, 3)
			}
		case 3, 4, 5, 7:
			pr.Object = RuleLink
			j, ok := p.net.linkIndex[p.tok[2]]
			if !ok {
				return fail(204, 2)
			}
			pr.Index = j
			switch pr.Variable {
			case VarFlow, VarStatus, VarSetting:
			default:
				return fail(201, 3)
			}
		default:
			return fail(201, 1)
		}
	}
	op := findMatch(p.tok[opTok], ruleOperators)
	switch op {
	case -1:
		return fail(201, opTok)
	case 6: // IS
		pr.Op = OpEQ
	case 7: // NOT
		pr.Op = OpNE
	case 8: // BELOW
		pr.Op = OpLT
	case 9: // ABOVE
		pr.Op = OpGT
	default:
		pr.Op = RuleOperator(op)
	}
	switch {
	case pr.Variable == VarTime || pr.Variable == VarClockTime:
		units := ""
		if n == 6 {
			units = p.tok[5]
		}
		h := parseHours(p.tok[4], units)
		if h < 0 {
			return fail(202, 4)
		}
		pr.Value = h * 3600
	default:
		if k := findMatch(p.tok[n-1], ruleValueWords); k > 0 {
			pr.Status = RuleStatus(k)
			break
		}
		v, ok := parseNumber(p.tok[n-1])
		if !ok {
			return fail(202, n-1)
		}
		if pr.Variable == VarFillTime || pr.Variable == VarDrainTime {
			v *= 3600
		}
		pr.Value = v
	}
	p.rule.Premises = append(p.rule.Premises, pr)
	return nil
}

// action: THEN|ELSE|AND LINK id STATUS|SETTING IS value
func (p *parser) action() *lineError {
	if len(p.tok) != 6 {
		return fail(201, -1)
	}
	j, ok := p.net.linkIndex[p.tok[2]]
	if !ok {
		return fail(204, 2)
	}
	kind := p.net.Links[j].Kind
	if kind == CVPipe {
		return fail(207, 2)
	}
	a := Action{Link: j, Setting: Missing}
	if k := findMatch(p.tok[5], ruleValueWords); k > 0 {
		a.Status = RuleStatus(k)
	} else {
		v, ok := parseNumber(p.tok[5])
		if !ok || v < 0 {
			return fail(202, 5)
		}
		a.Setting = v
	}
	if a.Setting != Missing && kind == GPV {
		return fail(202, 5)
	}
	if a.Setting != Missing && kind == Pipe {
		a.Status = RuleOpen
		if a.Setting == 0 {
			a.Status = RuleClosed
		}
		a.Setting = Missing
	}
	if p.ruleState == clauseThen {
		p.rule.Then = append(p.rule.Then, a)
	} else {
		p.rule.Else = append(p.rule.Else, a)
	}
	return nil
}
