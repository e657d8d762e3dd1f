package network

import (
	"strconv"
	"strings"
)

// Section readers. Each follows the corresponding EPANET 2.3 reader
// (src/input3.c) in what it accepts and which error code it raises, so
// that a file EPANET rejects is rejected here with the same code.

func (p *parser) addNode(id string, nd Node) *lineError {
	if _, dup := p.net.nodeIndex[id]; dup {
		return fail(215, 0)
	}
	if p.idTooLong(id) {
		return fail(252, 0)
	}
	nd.ID = id
	p.net.nodeIndex[id] = len(p.net.Nodes)
	p.net.Nodes = append(p.net.Nodes, nd)
	return nil
}

func (p *parser) findNode(tok int) (int, *lineError) {
	if tok >= len(p.tok) {
		return -1, fail(201, -1)
	}
	j, ok := p.net.nodeIndex[p.tok[tok]]
	if !ok {
		return -1, fail(203, tok)
	}
	return j, nil
}

func (p *parser) findLink(tok, code int) (int, *lineError) {
	if tok >= len(p.tok) {
		return -1, fail(201, -1)
	}
	j, ok := p.net.linkIndex[p.tok[tok]]
	if !ok {
		return -1, fail(code, tok)
	}
	return j, nil
}

// findPattern returns the pattern index, -1 for the empty ID, or an error.
func (p *parser) findPattern(tok int) (int, *lineError) {
	id := p.tok[tok]
	if id == "" {
		return -1, nil
	}
	i, ok := p.net.patternIndex[id]
	if !ok {
		return -1, fail(205, tok)
	}
	return i, nil
}

func (p *parser) findCurve(tok int) (int, *lineError) {
	i, ok := p.net.curveIndex[p.tok[tok]]
	if !ok {
		return -1, fail(206, tok)
	}
	return i, nil
}

func (p *parser) number(tok int) (float64, *lineError) {
	v, ok := parseNumber(p.tok[tok])
	if !ok {
		return 0, fail(202, tok)
	}
	return v, nil
}

// nodeValue reads a node property that must not be negative (error 209).
func (p *parser) nodeValue(tok int) (float64, *lineError) {
	v, le := p.number(tok)
	if le == nil && v < 0 {
		le = fail(209, tok)
	}
	return v, le
}

// junction: id elev (demand) (pattern). The junction is added even when
// its data are bad (as EPANET does), so later lines that refer to it raise
// no second error.
func (p *parser) junction() *lineError {
	if le := p.addNode(p.tok[0], Node{Kind: Junction, HeadPattern: -1, VolumeCurve: -1, Comment: p.comment}); le != nil {
		return le
	}
	p.demandFromJunction = append(p.demandFromJunction, true)
	nd := &p.net.Nodes[len(p.net.Nodes)-1]
	n := len(p.tok)
	base, pat := 0.0, -1
	var le *lineError
	if n > 1 {
		nd.Elevation, le = p.number(1)
	}
	if le == nil && n > 2 {
		base, le = p.number(2)
	}
	if le == nil && n > 3 {
		pat, le = p.findPattern(3)
	}
	nd.Demands = []Demand{{Base: base, Pattern: pat}}
	return le
}

// tank: reservoir "id elev (pattern)" or tank
// "id elev initlvl minlvl maxlvl diam (minvol (vcurve (overflow)))".
func (p *parser) tank() *lineError {
	n := len(p.tok)
	nd := Node{Kind: Reservoir, HeadPattern: -1, VolumeCurve: -1, Comment: p.comment}
	var le *lineError
	if n < 2 {
		le = fail(201, -1)
	} else if v, ok := parseNumber(p.tok[1]); !ok {
		le = fail(202, 1)
	} else {
		nd.Elevation = v
	}
	if n <= 3 {
		if n == 3 && le == nil {
			nd.HeadPattern, le = p.findPattern(2)
		}
	} else if le == nil {
		if n < 6 {
			le = fail(201, -1)
		} else {
			vals := []*float64{&nd.InitLevel, &nd.MinLevel, &nd.MaxLevel, &nd.Diameter}
			if n >= 7 {
				vals = append(vals, &nd.MinVolume)
			}
			for i, dst := range vals {
				v, ok := parseNumber(p.tok[2+i])
				if !ok {
					le = fail(202, 2+i)
					break
				}
				if v < 0 {
					le = fail(209, 2+i)
					break
				}
				*dst = v
			}
			if le == nil && n >= 8 && p.tok[7] != "" && p.tok[7][0] != '*' {
				var c int
				if c, le = p.findCurve(7); le == nil {
					nd.VolumeCurve = c
					p.net.Curves[c].Kind = VolumeCurve
				}
			}
			if le == nil && n >= 9 {
				switch {
				case match(p.tok[8], "YES"):
					nd.CanOverflow = true
				case match(p.tok[8], "NO"):
				default:
					le = fail(213, 8)
				}
			}
		}
	}
	if nd.Diameter != 0 {
		nd.Kind = Tank
	}
	if e := p.addNode(p.tok[0], nd); e != nil {
		return e
	}
	p.demandFromJunction = append(p.demandFromJunction, false)
	return le
}

// linkEnds reads and checks the end nodes of a link in tokens 1 and 2.
func (p *parser) linkEnds() (int, int, *lineError) {
	j1, le := p.findNode(1)
	if le != nil {
		return 0, 0, le
	}
	j2, le := p.findNode(2)
	if le != nil {
		return 0, 0, le
	}
	if j1 == j2 {
		return 0, 0, fail(222, 0)
	}
	return j1, j2, nil
}

func (p *parser) addLink(l Link) *lineError {
	id := p.tok[0]
	if _, dup := p.net.linkIndex[id]; dup {
		return fail(215, 0)
	}
	if p.idTooLong(id) {
		return fail(252, 0)
	}
	l.ID = id
	l.Comment = p.comment
	p.net.linkIndex[id] = len(p.net.Links)
	p.net.Links = append(p.net.Links, l)
	return nil
}

func newLink(kind LinkKind, from, to int) Link {
	return Link{Kind: kind, From: from, To: to, InitStatus: Open, HeadCurve: -1, SpeedPattern: -1,
		EfficiencyCurve: -1, PricePattern: -1, ValveCurve: -1}
}

// pipe: id node1 node2 length diam roughness (minorloss) (status)
func (p *parser) pipe() *lineError {
	n := len(p.tok)
	if n < 3 {
		return fail(201, -1)
	}
	j1, j2, le := p.linkEnds()
	if le != nil {
		return le
	}
	l := newLink(Pipe, j1, j2)
	// Defaults depend on the units and formula read so far, as in EPANET.
	if p.net.Options.FlowUnits.SI() {
		l.Length, l.Diameter = 100, 254
	} else {
		l.Length, l.Diameter = 330, 10
	}
	switch p.net.Options.Headloss {
	case HazenWilliams:
		l.Roughness = 130
	case DarcyWeisbach:
		l.Roughness = 0.0005
	case ChezyManning:
		l.Roughness = 0.01
	}
	if le := p.addLink(l); le != nil {
		return le
	}
	lp := &p.net.Links[len(p.net.Links)-1]
	for i, dst := range []*float64{&lp.Length, &lp.Diameter, &lp.Roughness} {
		if n > 3+i {
			v, ok := parseNumber(p.tok[3+i])
			if !ok || v <= 0 {
				return fail(202, 3+i)
			}
			*dst = v
		}
	}
	statusWord := func(tok int) bool {
		switch {
		case match(p.tok[tok], "CV"):
			lp.Kind = CVPipe
		case match(p.tok[tok], "CLOSED"):
			lp.InitStatus = Closed
		case match(p.tok[tok], "OPEN"):
			lp.InitStatus = Open
		default:
			return false
		}
		return true
	}
	if n > 6 && !statusWord(6) {
		v, ok := parseNumber(p.tok[6])
		if !ok || v < 0 {
			return fail(202, 6)
		}
		lp.MinorLoss = v
	}
	if n > 7 {
		v, ok := parseNumber(p.tok[6])
		if !ok || v < 0 {
			return fail(202, 6)
		}
		lp.MinorLoss = v
		if !statusWord(7) {
			return fail(213, 7)
		}
	}
	return nil
}

// pump: id node1 node2 KEYWORD value {KEYWORD value ...}
func (p *parser) pump() *lineError {
	n := len(p.tok)
	if n < 3 {
		return fail(201, -1)
	}
	j1, j2, le := p.linkEnds()
	if le != nil {
		return le
	}
	l := newLink(Pump, j1, j2)
	l.Setting = 1
	if le := p.addLink(l); le != nil {
		return le
	}
	lp := &p.net.Links[len(p.net.Links)-1]
	for m := 4; m < n; m += 2 {
		key := p.tok[m-1]
		switch {
		case match(key, "POWER"):
			v, ok := parseNumber(p.tok[m])
			if !ok || v <= 0 {
				return fail(202, m)
			}
			lp.Power = v
		case match(key, "HEAD"):
			c, le := p.findCurve(m)
			if le != nil {
				return le
			}
			lp.HeadCurve = c
		case match(key, "PATT"):
			pt, le := p.findPattern(m)
			if le != nil {
				return le
			}
			lp.SpeedPattern = pt
		case match(key, "SPEE"):
			v, ok := parseNumber(p.tok[m])
			if !ok || v < 0 {
				return fail(202, m)
			}
			lp.Setting = v
		default:
			return fail(201, m-1)
		}
	}
	return nil
}

// valve: id node1 node2 diam type setting (minorloss (pcvcurve))
func (p *parser) valve() *lineError {
	n := len(p.tok)
	if n < 5 {
		return fail(201, -1)
	}
	j1, j2, le := p.linkEnds()
	if le != nil {
		return le
	}
	kinds := []string{"PRV", "PSV", "PBV", "FCV", "TCV", "GPV", "PCV"}
	k := findMatch(p.tok[4], kinds)
	if k < 0 {
		return fail(213, 4)
	}
	kind := PRV + LinkKind(k)
	if code := p.valveCheck(kind, j1, j2); code != 0 {
		switch {
		case code == 219 && p.net.Nodes[j1].Kind != Junction:
			return fail(219, 1)
		case code == 219:
			return fail(219, 2)
		}
		return fail(220, -1)
	}
	l := newLink(kind, j1, j2)
	l.InitStatus = Active
	if p.net.Options.FlowUnits.SI() {
		l.Diameter = 254
	} else {
		l.Diameter = 10
	}
	if le := p.addLink(l); le != nil {
		return le
	}
	lp := &p.net.Links[len(p.net.Links)-1]
	v, ok := parseNumber(p.tok[3])
	if !ok || v <= 0 {
		return fail(202, 3)
	}
	lp.Diameter = v
	if n > 5 {
		if kind == GPV {
			c, le := p.findCurve(5)
			if le != nil {
				return le
			}
			lp.Setting = float64(c + 1) // EPANET's curve number
			lp.ValveCurve = c
			p.net.Curves[c].Kind = HeadlossCurve
			lp.InitStatus = Open
		} else {
			v, ok := parseNumber(p.tok[5])
			if !ok {
				return fail(202, 5)
			}
			lp.Setting = v
		}
	}
	if n > 6 {
		v, ok := parseNumber(p.tok[6])
		if !ok || v < 0 {
			return fail(202, 6)
		}
		lp.MinorLoss = v
	}
	if n > 7 && kind == PCV {
		c, le := p.findCurve(7)
		if le != nil {
			return le
		}
		lp.ValveCurve = c
		p.net.Curves[c].Kind = ValveCurve
		lp.Setting = min(lp.Setting, 100)
	}
	return nil
}

// valveCheck forbids the valve arrangements EPANET cannot solve
// (project.c valvecheck): regulating valves at fixed-grade nodes, and
// PRVs/PSVs/FCVs in series or sharing the node they regulate.
func (p *parser) valveCheck(kind LinkKind, j1, j2 int) int {
	if kind != PRV && kind != PSV && kind != FCV {
		return 0
	}
	if p.net.Nodes[j1].Kind != Junction || p.net.Nodes[j2].Kind != Junction {
		return 219
	}
	// EPANET 2.3.5 skips the link read just before this valve (it passes
	// the previous link's index as the new valve's); kept so that the same
	// files are accepted.
	links := p.net.Links
	if len(links) > 0 {
		links = links[:len(links)-1]
	}
	for _, l := range links {
		v1, v2, vk := l.From, l.To, l.Kind
		switch {
		case vk == PRV && kind == PRV && (v2 == j2 || v2 == j1 || v1 == j2),
			vk == PSV && kind == PSV && (v1 == j1 || v1 == j2 || v2 == j1),
			vk == PSV && kind == PRV && v1 == j2,
			vk == PRV && kind == PSV && v2 == j1,
			vk == FCV && kind == PSV && v2 == j1,
			vk == FCV && kind == PRV && v1 == j2,
			vk == PSV && kind == FCV && v1 == j2,
			vk == PRV && kind == FCV && v2 == j1:
			return 220
		}
	}
	return 0
}

// pattern: id mult1 mult2 ...
func (p *parser) pattern() *lineError {
	if len(p.tok) < 2 {
		return fail(201, -1)
	}
	i, ok := p.net.patternIndex[p.tok[0]]
	if !ok {
		return fail(205, 0)
	}
	pat := &p.net.Patterns[i]
	if pat.Comment == "" && p.comment != "" {
		pat.Comment = p.comment
	}
	for j := 1; j < len(p.tok); j++ {
		v, ok := parseNumber(p.tok[j])
		if !ok {
			return fail(202, j)
		}
		pat.Factors = append(pat.Factors, v)
	}
	return nil
}

var curveKindWords = []string{"VOLUME", "PUMP", "EFFIC", "HEADLOSS", "GENERIC", "VALVE"}

// curve: id x y (type)
func (p *parser) curve() *lineError {
	if len(p.tok) < 3 {
		return fail(201, -1)
	}
	x, le := p.number(1)
	if le != nil {
		return le
	}
	y, le := p.number(2)
	if le != nil {
		return le
	}
	i, ok := p.net.curveIndex[p.tok[0]]
	if !ok {
		return fail(206, 0)
	}
	c := &p.net.Curves[i]
	if c.Comment == "" && p.comment != "" {
		c.Comment = p.comment
	}
	c.X = append(c.X, x)
	c.Y = append(c.Y, y)
	if len(p.tok) > 3 {
		if k := findMatch(p.tok[3], curveKindWords); k >= 0 {
			c.Kind = CurveKind(k)
		}
	}
	return nil
}

// demand: node base (pattern) (;category). The first [DEMANDS] line of a
// junction replaces the demand given in [JUNCTIONS]; later ones add
// categories.
func (p *parser) demand() *lineError {
	if len(p.tok) < 2 {
		return fail(201, -1)
	}
	y, le := p.number(1)
	if le != nil {
		return le
	}
	j, le := p.findNode(0)
	if le != nil {
		return le
	}
	if p.net.Nodes[j].Kind != Junction {
		return nil
	}
	pat := -1
	if len(p.tok) >= 3 {
		if pat, le = p.findPattern(2); le != nil {
			return le
		}
	}
	nd := &p.net.Nodes[j]
	category := strings.TrimSpace(p.comment)
	if p.demandFromJunction[j] && len(nd.Demands) > 0 {
		nd.Demands[0].Base = y
		nd.Demands[0].Pattern = pat
		if category != "" {
			nd.Demands[0].Category = category
		}
		p.demandFromJunction[j] = false
		return nil
	}
	nd.Demands = append(nd.Demands, Demand{Base: y, Pattern: pat, Category: category})
	return nil
}

// control: LINK id setting IF NODE id BELOW|ABOVE level (DISABLED)
// or LINK id setting AT TIME|CLOCKTIME value (units) (DISABLED)
func (p *parser) control() *lineError {
	n := len(p.tok)
	if n < 6 {
		return fail(201, -1)
	}
	c := Control{Node: -1, Status: Active, Setting: Missing, Enabled: true}
	if match(p.tok[n-1], "DISABLED") {
		c.Enabled = false
		n--
	}
	k, le := p.findLink(1, 204)
	if le != nil {
		return le
	}
	c.Link = k
	kind := p.net.Links[k].Kind
	if kind == CVPipe {
		return fail(207, 1)
	}
	switch {
	case match(p.tok[2], "OPEN"):
		c.Status = Open
		if kind == Pump {
			c.Setting = 1
		}
		if kind == GPV {
			c.Setting = p.net.Links[k].Setting
		}
	case match(p.tok[2], "CLOSED"):
		c.Status = Closed
		if kind == Pump {
			c.Setting = 0
		}
		if kind == GPV {
			c.Setting = p.net.Links[k].Setting
		}
	case kind == GPV:
		return fail(207, 1)
	default:
		v, ok := parseNumber(p.tok[2])
		if !ok {
			return fail(202, 2)
		}
		c.Setting = v
	}
	if (kind == Pump || kind == Pipe) && c.Setting != Missing {
		switch {
		case c.Setting < 0:
			return fail(211, 2)
		case c.Setting == 0:
			c.Status = Closed
		default:
			c.Status = Open
		}
	}
	switch {
	case match(p.tok[4], "TIME"):
		c.Kind = Timer
	case match(p.tok[4], "CLOCKTIME"):
		c.Kind = TimeOfDay
	default:
		if n < 8 {
			return fail(201, -1)
		}
		j, le := p.findNode(5)
		if le != nil {
			return le
		}
		c.Node = j
		switch {
		case match(p.tok[6], "BELOW"):
			c.Kind = LowLevel
		case match(p.tok[6], "ABOVE"):
			c.Kind = HighLevel
		default:
			return fail(213, 6)
		}
	}
	switch c.Kind {
	case Timer, TimeOfDay:
		units := ""
		if n >= 7 {
			units = p.tok[6]
		}
		h := parseHours(p.tok[5], units)
		if h < 0 {
			return fail(213, 5)
		}
		c.Time = int64(3600 * h)
		if c.Kind == TimeOfDay {
			c.Time %= secondsPerDay
		}
	default:
		v, le := p.number(7)
		if le != nil {
			return le
		}
		c.Level = v
	}
	p.net.Controls = append(p.net.Controls, c)
	return nil
}

const secondsPerDay = 86400

// parseHours converts a time value with optional units (SEC, MIN, HOURS,
// DAYS, AM, PM) or in h:m:s form to hours; −1 if it is not a time
// (EPANET's hour()).
func parseHours(value, units string) float64 {
	parts := strings.FieldsFunc(value, func(r rune) bool { return r == ':' })
	if len(parts) == 0 || len(parts) > 3 {
		return -1
	}
	var y [3]float64
	for i, s := range parts {
		v, ok := parseNumber(s)
		if !ok {
			return -1
		}
		y[i] = v
	}
	if len(parts) == 1 {
		switch {
		case units == "":
			return y[0]
		case match(units, "SEC"):
			return y[0] / 3600
		case match(units, "MIN"):
			return y[0] / 60
		case match(units, "HOU"):
			return y[0]
		case match(units, "DAY"):
			return y[0] * 24
		}
	}
	h := y[0]
	if len(parts) > 1 {
		h = y[0] + y[1]/60 + y[2]/3600
	}
	switch {
	case units == "":
		return h
	case match(units, "AM"):
		if h >= 13 {
			return -1
		}
		if h >= 12 {
			return h - 12
		}
		return h
	case match(units, "PM"):
		if h >= 13 {
			return -1
		}
		if h >= 12 {
			return h
		}
		return h + 12
	}
	return -1
}

var sourceTypes = []string{"CONCEN", "MASS", "SETPOINT", "FLOWPACED"}

// source: node (type) quality (pattern) — checked, not used by hydraulics.
func (p *parser) source() *lineError {
	n := len(p.tok)
	if n < 2 {
		return fail(201, -1)
	}
	if _, le := p.findNode(0); le != nil {
		return le
	}
	i := 2
	if findMatch(p.tok[1], sourceTypes) < 0 {
		i = 1
	}
	if i >= n {
		return fail(201, -1)
	}
	if _, ok := parseNumber(p.tok[i]); !ok {
		if i == 1 {
			return fail(213, i)
		}
		return fail(202, i)
	}
	if n > i+1 && p.tok[i+1] != "" && p.tok[i+1] != "*" {
		if _, le := p.findPattern(i + 1); le != nil {
			return le
		}
	}
	return nil
}

// emitter: node coefficient
func (p *parser) emitter() *lineError {
	if len(p.tok) < 2 {
		return fail(201, -1)
	}
	j, le := p.findNode(0)
	if le != nil {
		return le
	}
	if p.net.Nodes[j].Kind != Junction {
		return nil
	}
	k, le := p.nodeValue(1)
	if le != nil {
		return le
	}
	p.net.Nodes[j].Emitter = k
	return nil
}

// leakage: pipe area expansion (EPANET 2.3 FAVAD pipe leakage)
func (p *parser) leakage() *lineError {
	if len(p.tok) < 3 {
		return fail(201, -1)
	}
	j, le := p.findLink(0, 203)
	if le != nil {
		return le
	}
	if !p.net.Links[j].Kind.IsPipe() {
		return nil
	}
	c1, le := p.nodeValue(1)
	if le != nil {
		return le
	}
	c2, le := p.nodeValue(2)
	if le != nil {
		return le
	}
	p.net.Links[j].LeakArea = c1
	p.net.Links[j].LeakExpansion = c2
	return nil
}

// leadingInt returns the leading decimal digits of s (what C's atol reads).
func leadingInt(s string) string {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

// inRange reports whether id lies in the ID range [lo, hi] as EPANET
// tests it: numerically when both bounds read as positive integers (atol),
// lexicographically otherwise.
func inRange(id, lo, hi string) bool {
	i1, e1 := strconv.ParseInt(leadingInt(lo), 10, 64)
	i2, e2 := strconv.ParseInt(leadingInt(hi), 10, 64)
	if e1 == nil && e2 == nil && i1 > 0 && i2 > 0 {
		v, err := strconv.ParseInt(leadingInt(id), 10, 64)
		if err != nil {
			v = 0
		}
		return v >= i1 && v <= i2
	}
	return lo <= id && hi >= id
}

// quality: node value, or node1 node2 value
func (p *parser) quality() *lineError {
	if len(p.net.Nodes) == 0 {
		return fail(203, 0)
	}
	n := len(p.tok)
	if n < 2 {
		return nil
	}
	if n == 2 {
		j, le := p.findNode(0)
		if le != nil {
			return le
		}
		c, le := p.nodeValue(1)
		if le != nil {
			return le
		}
		p.net.Nodes[j].InitQuality = c
		return nil
	}
	c, le := p.nodeValue(2)
	if le != nil {
		return le
	}
	for j := range p.net.Nodes {
		if inRange(p.net.Nodes[j].ID, p.tok[0], p.tok[1]) {
			p.net.Nodes[j].InitQuality = c
		}
	}
	return nil
}

// status: link value, or link1 link2 value; value OPEN, CLOSED or a
// setting.
func (p *parser) status() *lineError {
	if len(p.net.Links) == 0 {
		return fail(204, 0)
	}
	n := len(p.tok) - 1
	if n < 1 {
		return fail(201, -1)
	}
	st := Active
	y := 0.0
	switch {
	case match(p.tok[n], "OPEN"):
		st = Open
	case match(p.tok[n], "CLOSED"):
		st = Closed
	default:
		v, le := p.number(n)
		if le != nil {
			return le
		}
		if v < 0 {
			return fail(211, n)
		}
		y = v
	}
	if n == 1 {
		j, le := p.findLink(0, 204)
		if le != nil {
			return le
		}
		l := &p.net.Links[j]
		if l.Kind == CVPipe || (l.Kind == GPV && st == Active) {
			return fail(207, 0)
		}
		changeStatus(l, st, y)
		return nil
	}
	for j := range p.net.Links {
		if inRange(p.net.Links[j].ID, p.tok[0], p.tok[1]) {
			changeStatus(&p.net.Links[j], st, y)
		}
	}
	return nil
}

// changeStatus sets a link's initial status or setting from [STATUS]
// (EPANET's changestatus; Active means a numerical setting y was given).
func changeStatus(l *Link, st LinkStatus, y float64) {
	switch {
	case l.Kind == Pipe || l.Kind == GPV:
		if st != Active {
			l.InitStatus = st
		}
	case l.Kind == Pump:
		switch st {
		case Active:
			l.Setting = y
			st = Open
			if y == 0 {
				st = Closed
			}
		case Open:
			l.Setting = 1
		case Closed:
			l.Setting = 0
		}
		l.InitStatus = st
	case l.Kind.IsValve():
		if st == Active {
			l.Setting = y
		}
		l.InitStatus = st
	}
}

// energy: GLOBAL|PUMP id PRICE|PATTERN|EFFIC value, or DEMAND CHARGE value
func (p *parser) energy() *lineError {
	n := len(p.tok)
	if n < 3 {
		return fail(201, -1)
	}
	o := &p.net.Options
	if match(p.tok[0], "DEMAN") {
		y, le := p.number(2)
		if le != nil {
			return le
		}
		if y < 0 {
			return fail(213, 2)
		}
		o.DemandCharge = y
		return nil
	}
	pump := -1
	switch {
	case match(p.tok[0], "GLOB"):
	case match(p.tok[0], "PUMP"):
		if n < 4 {
			return fail(201, -1)
		}
		k, le := p.findLink(1, 216)
		if le != nil {
			return le
		}
		if p.net.Links[k].Kind != Pump {
			return fail(216, 1)
		}
		pump = k
	default:
		return fail(213, 0)
	}
	key := p.tok[n-2]
	switch {
	case match(key, "PRICE"):
		y, le := p.number(n - 1)
		if le != nil {
			return le
		}
		if y < 0 {
			return fail(217, n-1)
		}
		if pump < 0 {
			o.EnergyPrice = y
		} else {
			p.net.Links[pump].EnergyPrice = y
		}
	case match(key, "PATT"):
		pt, le := p.findPattern(n - 1)
		if le != nil {
			return le
		}
		if pump < 0 {
			o.EnergyPattern = pt
		} else {
			p.net.Links[pump].PricePattern = pt
		}
	case match(key, "EFFI"):
		if pump < 0 {
			y, le := p.number(n - 1)
			if le != nil {
				return le
			}
			if y <= 0 {
				return fail(217, n-1)
			}
			o.EnergyEfficiency = y
		} else {
			c, le := p.findCurve(n - 1)
			if le != nil {
				return le
			}
			p.net.Links[pump].EfficiencyCurve = c
			p.net.Curves[c].Kind = EfficiencyCurve
		}
	default:
		return fail(201, -1)
	}
	return nil
}

// reaction: checked for EPANET's errors; reaction data are not used by
// the hydraulic solver.
func (p *parser) reaction() *lineError {
	n := len(p.tok)
	if n < 3 {
		return nil
	}
	if _, le := p.number(n - 1); le != nil {
		return le
	}
	switch {
	case match(p.tok[0], "ORDER"):
		y, _ := parseNumber(p.tok[n-1])
		switch {
		case match(p.tok[1], "BULK"), match(p.tok[1], "TANK"):
		case match(p.tok[1], "WALL"):
			if y != 0 && y != 1 {
				return fail(213, n-1)
			}
		default:
			return fail(213, 1)
		}
	case match(p.tok[0], "ROUG"), match(p.tok[0], "LIMIT"):
	case match(p.tok[0], "GLOB"):
		if !match(p.tok[1], "BULK") && !match(p.tok[1], "WALL") {
			return fail(213, 1)
		}
	case match(p.tok[0], "BULK"), match(p.tok[0], "WALL"), match(p.tok[0], "TANK"):
	default:
		return fail(213, 0)
	}
	return nil
}

var mixingModels = []string{"MIXED", "2COMP", "FIFO", "LIFO"}

// mixing: tank model (fraction) — checked, not used by hydraulics.
func (p *parser) mixing() *lineError {
	if len(p.net.Nodes) == 0 {
		return fail(203, 0)
	}
	n := len(p.tok)
	if n < 2 {
		return nil
	}
	j, le := p.findNode(0)
	if le != nil {
		return le
	}
	if p.net.Nodes[j].Kind == Junction {
		return nil
	}
	m := findMatch(p.tok[1], mixingModels)
	if m < 0 {
		return fail(213, 1)
	}
	if m == 1 && n == 3 {
		if _, le := p.number(2); le != nil {
			return le
		}
	}
	return nil
}

var reportFields = []string{"Elevation", "Demand", "Head", "Pressure", "Quality", "Length",
	"Diameter", "Flow", "Velocity", "Headloss", "Quality", "State", "Setting", "Reaction", "F-Factor"}

// report: [REPORT] options are checked as EPANET checks them; they do not
// affect the hydraulics.
func (p *parser) report() *lineError {
	n := len(p.tok) - 1
	if n < 1 {
		return fail(201, -1)
	}
	t0 := p.tok[0]
	switch {
	case match(t0, "PAGE"):
		y, le := p.number(n)
		if le != nil {
			return le
		}
		if y < 0 || y > 255 {
			return fail(213, n)
		}
		return nil
	case match(t0, "STATUS"), match(t0, "SUMM"), match(t0, "MESS"), match(t0, "ENER"):
		return nil
	case match(t0, "NODE"):
		if match(p.tok[n], "NONE") || match(p.tok[n], "ALL") {
			return nil
		}
		for i := 1; i <= n; i++ {
			if _, le := p.findNode(i); le != nil {
				return le
			}
		}
		return nil
	case match(t0, "LINK"):
		if match(p.tok[n], "NONE") || match(p.tok[n], "ALL") {
			return nil
		}
		for i := 1; i <= n; i++ {
			if _, le := p.findLink(i, 204); le != nil {
				return le
			}
		}
		return nil
	}
	field := findMatch(t0, reportFields)
	if strings.EqualFold(t0, "Headloss") {
		field = 9
	}
	if field >= 0 {
		if len(p.tok) == 1 || match(p.tok[1], "YES") || match(p.tok[1], "NO") {
			return nil
		}
		if len(p.tok) < 3 {
			return fail(201, -1)
		}
		if !match(p.tok[1], "BELOW") && !match(p.tok[1], "ABOVE") && !match(p.tok[1], "PREC") {
			return fail(213, 1)
		}
		_, le := p.number(2)
		return le
	}
	if match(t0, "FILE") {
		return nil
	}
	return fail(201, -1)
}

// times: [TIMES] entries; values in hours unless units or h:m:s given.
func (p *parser) times() *lineError {
	n := len(p.tok) - 1
	if n < 1 {
		return fail(201, -1)
	}
	t := &p.net.Times
	if match(p.tok[0], "STAT") {
		for _, s := range []string{"NONE", "NO", "AVERAGE", "MINIMUM", "MAXIMUM", "RANGE"} {
			if match(p.tok[n], s) {
				t.Statistic = s
				return nil
			}
		}
		return fail(213, n)
	}
	y, ok := parseNumber(p.tok[n])
	if !ok {
		if y = parseHours(p.tok[n], ""); y < 0 {
			if y = parseHours(p.tok[n-1], p.tok[n]); y < 0 {
				return fail(213, n-1)
			}
		}
	}
	sec := int64(3600*y + 0.5)
	switch {
	case match(p.tok[0], "DURA"):
		t.Duration = sec
	case match(p.tok[0], "HYDR"):
		t.HydraulicStep = sec
	case match(p.tok[0], "QUAL"):
		t.QualityStep = sec
	case match(p.tok[0], "RULE"):
		t.RuleStep = sec
	case match(p.tok[0], "MINI"):
	case match(p.tok[0], "PATT"):
		switch {
		case match(p.tok[1], "TIME"):
			t.PatternStep = sec
		case match(p.tok[1], "STAR"):
			t.PatternStart = sec
		default:
			return fail(213, 1)
		}
	case match(p.tok[0], "REPO"):
		switch {
		case match(p.tok[1], "TIME"):
			t.ReportStep = sec
		case match(p.tok[1], "STAR"):
			t.ReportStart = sec
		default:
			return fail(213, 1)
		}
	case match(p.tok[0], "STAR"):
		t.StartClock = sec % secondsPerDay
	default:
		return fail(213, 0)
	}
	return nil
}

var flowUnitWords = []string{"CFS", "GPM", "MGD", "IMGD", "AFD", "LPS", "LPM", "MLD", "CMH", "CMD", "CMS"}

// option: one [OPTIONS] line (EPANET's optionchoice, then optionvalue).
func (p *parser) option() *lineError {
	n := len(p.tok) - 1
	if le, handled := p.optionChoice(n); handled {
		return le
	}
	return p.optionValue(n)
}

func (p *parser) optionChoice(n int) (*lineError, bool) {
	o := &p.net.Options
	t0 := p.tok[0]
	switch {
	case match(t0, "UNIT"):
		if n < 1 {
			return nil, true
		}
		if k := findMatch(p.tok[1], flowUnitWords); k >= 0 {
			o.FlowUnits = FlowUnits(k)
		} else if match(p.tok[1], "SI") {
			o.FlowUnits = LPS
		} else {
			return fail(213, 1), true
		}
	case match(t0, "PRESSURE"):
		if n < 1 {
			return nil, true
		}
		switch {
		case match(p.tok[1], "EXP"):
			return nil, false
		case match(p.tok[1], "PSI"):
			o.PressureUnits = PSI
		case match(p.tok[1], "KPA"):
			o.PressureUnits = KPA
		case match(p.tok[1], "METERS"):
			o.PressureUnits = Meters
		case match(p.tok[1], "BAR"):
			o.PressureUnits = Bar
		case match(p.tok[1], "FEET"):
			o.PressureUnits = Feet
		default:
			return fail(213, 1), true
		}
	case match(t0, "HEADL"):
		if n < 1 {
			return nil, true
		}
		switch k := findMatch(p.tok[1], []string{"H-W", "D-W", "C-M"}); k {
		case -1:
			return fail(213, 1), true
		default:
			o.Headloss = HeadlossFormula(k)
		}
	case match(t0, "HYDR"):
		if n < 2 {
			return nil, true
		}
		if !match(p.tok[1], "USE") && !match(p.tok[1], "SAVE") {
			return fail(213, 1), true
		}
	case match(t0, "QUAL"):
		if n < 1 {
			return nil, true
		}
		o.Quality = strings.Join(p.tok[1:], " ")
		if match(p.tok[1], "TRACE") {
			if n < 2 {
				return fail(201, -1), true
			}
			if _, ok := p.net.nodeIndex[p.tok[2]]; !ok {
				return fail(212, 2), true
			}
		}
	case match(t0, "MAP"), match(t0, "VERI"):
	case match(t0, "UNBA"):
		if n < 1 {
			return nil, true
		}
		switch {
		case match(p.tok[1], "STOP"):
			o.ExtraTrials = -1
		case match(p.tok[1], "CONT"):
			o.ExtraTrials = 0
			if n >= 2 {
				v, _ := strconv.Atoi(leadingInt(p.tok[2]))
				o.ExtraTrials = v
			}
		default:
			return fail(213, 1), true
		}
	case match(t0, "PATT"):
		if n < 1 {
			return nil, true
		}
		o.DefaultPattern = p.tok[1]
	case match(t0, "DEMAND"):
		if n < 2 {
			return nil, true
		}
		if !match(p.tok[1], "MODEL") {
			return nil, false
		}
		switch k := findMatch(p.tok[2], []string{"DDA", "PDA"}); k {
		case -1:
			return fail(213, 2), true
		default:
			o.DemandModel = DemandModel(k)
		}
	case match(t0, "BACK"):
		if n < 2 {
			return nil, true
		}
		if !match(p.tok[1], "ALLOW") {
			return nil, false
		}
		switch k := findMatch(p.tok[2], []string{"NO", "YES"}); k {
		case -1:
			return fail(213, 2), true
		default:
			o.EmitterBackflow = k == 1
		}
	default:
		return nil, false
	}
	return nil, true
}

func (p *parser) optionValue(n int) *lineError {
	o := &p.net.Options
	t0 := p.tok[0]
	if match(t0, "SEGM") {
		return nil
	}
	nv := 1
	for _, k := range []string{"SPEC", "EMIT", "DEMAND", "MINI", "REQ", "PRESSURE", "PREC"} {
		if match(t0, k) {
			nv = 2
		}
	}
	if n < nv {
		return nil
	}
	y, le := p.number(nv)
	if le != nil {
		return le
	}
	switch {
	case match(t0, "TOLER"), match(t0, "DIFF"):
		if y < 0 {
			return fail(213, nv)
		}
		if match(t0, "DIFF") {
			o.Diffusivity = y
		}
		return nil
	case match(t0, "DAMPLIMIT"):
		o.DampLimit = y
		return nil
	case match(t0, "FLOWCHANGE"), match(t0, "HEADERROR"):
		if y < 0 {
			return fail(213, nv)
		}
		if match(t0, "FLOWCHANGE") {
			o.FlowChange = y
		} else {
			o.HeadError = y
		}
		return nil
	case match(t0, "MINI"):
		if y < 0 {
			return fail(213, nv)
		}
		if o.RequiredPressure == epanet.MinPDiff {
			o.RequiredPressure = y + epanet.MinPDiff
		} else if o.RequiredPressure-y < epanet.MinPDiff {
			return fail(208, nv)
		}
		o.MinimumPressure = y
		return nil
	case match(t0, "REQ"):
		if y < 0 {
			return fail(213, nv)
		}
		if y-o.MinimumPressure < epanet.MinPDiff {
			return fail(208, nv)
		}
		o.RequiredPressure = y
		return nil
	case match(t0, "PRESSURE"):
		if y < 0 {
			return fail(213, nv)
		}
		o.PressureExponent = y
		return nil
	}
	if y <= 0 {
		return fail(213, nv)
	}
	switch {
	case match(t0, "VISC"):
		o.Viscosity = y
	case match(t0, "SPEC"):
		o.SpecificGravity = y
	case match(t0, "TRIAL"):
		o.Trials = int(y)
	case match(t0, "ACCU"):
		o.Accuracy = min(max(y, 1e-5), 1e-1)
	case match(t0, "HTOL"):
		o.Htol = y
	case match(t0, "QTOL"):
		o.Qtol = y
	case match(t0, "RQTOL"):
		if y >= 1 {
			return fail(213, nv)
		}
		o.RQtol = y
	case match(t0, "CHECKFREQ"):
		o.CheckFreq = int(y)
	case match(t0, "MAXCHECK"):
		o.MaxCheck = int(y)
	case match(t0, "EMIT"):
		o.EmitterExponent = y
	case match(t0, "DEMAND"):
		o.DemandMultiplier = y
	default:
		return fail(201, -1)
	}
	return nil
}

// tag: NODE|LINK id tag
func (p *parser) tag() *lineError {
	if len(p.tok) < 3 {
		return fail(201, -1)
	}
	switch {
	case match(p.tok[0], "NODE"):
		j, ok := p.net.nodeIndex[p.tok[1]]
		if !ok {
			return fail(203, 1)
		}
		p.net.Nodes[j].Tag = p.tok[2]
	case match(p.tok[0], "LINK"):
		j, ok := p.net.linkIndex[p.tok[1]]
		if !ok {
			return fail(203, 1)
		}
		p.net.Links[j].Tag = p.tok[2]
	}
	return nil
}

// coordinate: node x y (bad lines are ignored, as in EPANET).
func (p *parser) coordinate() {
	if len(p.tok) < 3 {
		return
	}
	j, ok := p.net.nodeIndex[p.tok[0]]
	if !ok {
		return
	}
	x, okx := parseNumber(p.tok[1])
	y, oky := parseNumber(p.tok[2])
	if !okx || !oky {
		return
	}
	nd := &p.net.Nodes[j]
	nd.X, nd.Y, nd.HasCoords = x, y, true
}

// vertex: link x y (bad lines are ignored, as in EPANET).
func (p *parser) vertex() {
	if len(p.tok) < 3 {
		return
	}
	j, ok := p.net.linkIndex[p.tok[0]]
	if !ok {
		return
	}
	x, okx := parseNumber(p.tok[1])
	y, oky := parseNumber(p.tok[2])
	if !okx || !oky {
		return
	}
	p.net.Links[j].Vertices = append(p.net.Links[j].Vertices, Point{x, y})
}
