package network

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of EPANET's reader (src/types.h) that decide whether a file is
// valid, so they are part of the format rather than tunables.
const (
	maxIDLength   = 31   // MAXID: longest ID label
	maxLineLength = 1024 // MAXLINE: EPANET reads lines in pieces of at most MAXLINE−1 bytes
	maxTokens     = 40   // MAXTOKS: tokens read from one line
	maxErrors     = 100  // errors kept before the rest are only counted
)

// section identifies an input file section.
type section int

const (
	secNone section = iota - 1
	secTitle
	secJunctions
	secReservoirs
	secTanks
	secPipes
	secPumps
	secValves
	secControls
	secRules
	secDemands
	secSources
	secEmitters
	secPatterns
	secCurves
	secQuality
	secStatus
	secRoughness
	secEnergy
	secReactions
	secMixing
	secReport
	secTimes
	secOptions
	secCoordinates
	secVertices
	secLabels
	secBackdrop
	secTags
	secLeakage
	secEnd
)

var sectionKeywords = []string{
	"[TITLE]", "[JUNCTIONS]", "[RESERVOIRS]", "[TANKS]", "[PIPES]", "[PUMPS]",
	"[VALVES]", "[CONTROLS]", "[RULES]", "[DEMANDS]", "[SOURCES]", "[EMITTERS]",
	"[PATTERNS]", "[CURVES]", "[QUALITY]", "[STATUS]", "[ROUGHNESS]", "[ENERGY]",
	"[REACTIONS]", "[MIXING]", "[REPORT]", "[TIMES]", "[OPTIONS]", "[COORDINATES]",
	"[VERTICES]", "[LABELS]", "[BACKDROP]", "[TAGS]", "[LEAKAGE]", "[END]",
}

// String returns the section name without brackets.
func (s section) String() string {
	if s < 0 || int(s) >= len(sectionKeywords) {
		return ""
	}
	k := sectionKeywords[s]
	return k[1 : len(k)-1]
}

// ReadFile reads and parses an EPANET input file.
func ReadFile(path string) (*Network, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read network: %w", err)
	}
	net, err := ParseBytes(data)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return net, nil
}

// Parse reads an EPANET 2.2/2.3 input file. Lines may end in LF or CRLF;
// a file that is not valid UTF-8 is read as Latin-1. Errors are returned
// as InputErrors naming each offending line.
func Parse(r io.Reader) (*Network, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read network: %w", err)
	}
	return ParseBytes(data)
}

// ParseBytes is Parse for an input file held in memory.
func ParseBytes(data []byte) (*Network, error) {
	latin1 := !utf8.Valid(data)
	p := &parser{net: newNetwork(), latin1: latin1}
	lines := p.splitLines(data)
	p.prescan(lines)
	p.read(lines)
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	p.finish()
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return p.net, nil
}

func newNetwork() *Network {
	return &Network{
		nodeIndex:    map[string]int{},
		linkIndex:    map[string]int{},
		patternIndex: map[string]int{},
		curveIndex:   map[string]int{},
		Options: Options{
			FlowUnits:        GPM,
			PressureUnits:    DefaultPressure,
			Headloss:         HazenWilliams,
			Viscosity:        Missing,
			Diffusivity:      Missing,
			SpecificGravity:  1,
			Trials:           int(epanet.DefaultTrials),
			Accuracy:         epanet.DefaultAccuracy,
			ExtraTrials:      -1,
			DefaultPattern:   "1",
			DemandMultiplier: 1,
			EmitterExponent:  epanet.DefaultEmitterExponent,
			EmitterBackflow:  true,
			RequiredPressure: epanet.MinPDiff,
			PressureExponent: epanet.DefaultPressureExponent,
			CheckFreq:        int(epanet.DefaultCheckFreq),
			MaxCheck:         int(epanet.DefaultMaxCheck),
			Htol:             epanet.DefaultHtol,
			Qtol:             epanet.DefaultQtol,
			RQtol:            epanet.DefaultRQtol,
			EnergyEfficiency: epanet.DefaultEfficiency,
			EnergyPattern:    -1,
			Quality:          "NONE",
		},
		Times: Times{HydraulicStep: 3600, PatternStep: 3600, ReportStep: 3600, Statistic: "NONE"},
	}
}

// parser holds the state of one read of an input file.
type parser struct {
	net    *Network
	latin1 bool
	errs   InputErrors
	nerrs  int

	// lineNumbers maps the lines read (pieces of long lines included) to
	// line numbers of the file.
	lineNumbers []int

	// Current line.
	sect    section
	lineNo  int
	tok     []string
	comment string

	// Nodes in file order (junctions and tanks mixed) until finish sorts
	// them; isTank marks entries of the second kind.
	junctionCount int
	// demandFromJunction marks junctions whose only demand still comes from
	// their [JUNCTIONS] line (the first [DEMANDS] line replaces it).
	demandFromJunction []bool

	// Rule being read.
	rule      *Rule
	ruleState ruleClause
	ruleErr   bool
}

// lineError is a parse failure on the current line: a code and the index
// of the offending token (-1 for none).
type lineError struct {
	code int
	tok  int
}

func fail(code, tok int) *lineError { return &lineError{code: code, tok: tok} }

func (p *parser) addError(e *InputError) {
	p.nerrs++
	if len(p.errs) < maxErrors {
		p.errs = append(p.errs, e)
	}
}

func (p *parser) lineFail(le *lineError) {
	item := ""
	if le.tok >= 0 && le.tok < len(p.tok) {
		item = p.tok[le.tok]
	}
	p.addError(&InputError{Code: le.code, Line: p.lineNo, Section: p.sect.String(), Item: item})
}

// splitLines cuts the file into the lines EPANET reads: C's fgets with a
// MAXLINE buffer returns a line longer than MAXLINE−1 bytes in pieces, each
// then read as a line of its own. Such lines are reported as warnings
// since EPANET silently reads them that way.
func (p *parser) splitLines(data []byte) [][]byte {
	var out [][]byte
	for n, line := range bytes.Split(data, []byte{'\n'}) {
		if len(line) >= maxLineLength-1 {
			p.net.Warnings = append(p.net.Warnings, fmt.Sprintf(
				"line %d is longer than %d characters: read in pieces, as EPANET does", n+1, maxLineLength-1))
			for len(line) >= maxLineLength-1 {
				out = append(out, line[:maxLineLength-1])
				p.lineNumbers = append(p.lineNumbers, n+1)
				line = line[maxLineLength-1:]
			}
		}
		out = append(out, line)
		p.lineNumbers = append(p.lineNumbers, n+1)
	}
	return out
}

// decode turns a raw line into text (Latin-1 files are widened to UTF-8).
func (p *parser) decode(raw []byte) string {
	if !p.latin1 {
		return string(raw)
	}
	r := make([]rune, len(raw))
	for i, b := range raw {
		r[i] = rune(b)
	}
	return string(r)
}

// idTooLong applies EPANET's limit, counted in bytes of the file.
func (p *parser) idTooLong(id string) bool {
	if p.latin1 {
		return utf8.RuneCountInString(id) > maxIDLength
	}
	return len(id) > maxIDLength
}

// match reports whether s begins with the keyword, ignoring case and
// leading blanks: EPANET accepts any word that starts with a keyword
// ("HYDRAULICS" for "HYDR").
func match(s, keyword string) bool {
	if keyword == "" {
		return false
	}
	s = strings.TrimLeft(s, " ")
	if len(s) < len(keyword) {
		return false
	}
	return strings.EqualFold(s[:len(keyword)], keyword)
}

// findMatch returns the index of the first keyword s begins with, or -1.
func findMatch(s string, keywords []string) int {
	for i, k := range keywords {
		if match(s, k) {
			return i
		}
	}
	return -1
}

// tokenize splits a line as EPANET's gettokens does: text after ';' is the
// comment; tokens are separated by blanks, tabs and line ends; a token
// starting with '"' runs to the next quote; at most maxTokens are kept.
func tokenize(line string) (toks []string, comment string) {
	if i := strings.IndexByte(line, ';'); i >= 0 {
		comment = line[i+1:]
		if j := strings.IndexAny(comment, "\r\n"); j >= 0 {
			comment = comment[:j]
		}
		line = line[:i]
	}
	isSep := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for i := 0; i < len(line) && len(toks) < maxTokens; {
		if isSep(line[i]) {
			i++
			continue
		}
		if line[i] == '"' {
			j := strings.IndexAny(line[i+1:], "\"\n\r")
			if j < 0 {
				toks = append(toks, line[i+1:])
				break
			}
			toks = append(toks, line[i+1:i+1+j])
			i += j + 2
			continue
		}
		j := i
		for j < len(line) && !isSep(line[j]) {
			j++
		}
		toks = append(toks, line[i:j])
		i = j
	}
	return toks, comment
}

// parseNumber converts a token to a finite number (EPANET's getfloat,
// which also rejects trailing characters; NaN and infinities are refused
// too, so no NaN ever reaches the solver).
func parseNumber(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// prescan creates every pattern and curve named in [PATTERNS] and
// [CURVES], in order of first appearance, so that they can be referred to
// before they are defined (EPANET's netsize pass).
func (p *parser) prescan(lines [][]byte) {
	sect := secNone
	for n, raw := range lines {
		line := p.decode(raw)
		toks, _ := tokenize(line)
		if len(toks) == 0 {
			continue
		}
		if strings.HasPrefix(toks[0], "[") {
			s := section(findMatch(toks[0], sectionKeywords))
			if s == secEnd {
				return
			}
			sect = s
			continue
		}
		n = p.lineNumbers[n] - 1
		switch sect {
		case secPatterns:
			if _, ok := p.net.patternIndex[toks[0]]; !ok {
				if p.idTooLong(toks[0]) {
					p.addError(&InputError{Code: 252, Line: n + 1, Section: "PATTERNS", Item: toks[0]})
					continue
				}
				p.net.patternIndex[toks[0]] = len(p.net.Patterns)
				p.net.Patterns = append(p.net.Patterns, Pattern{ID: toks[0]})
			}
		case secCurves:
			if _, ok := p.net.curveIndex[toks[0]]; !ok {
				if p.idTooLong(toks[0]) {
					p.addError(&InputError{Code: 252, Line: n + 1, Section: "CURVES", Item: toks[0]})
					continue
				}
				p.net.curveIndex[toks[0]] = len(p.net.Curves)
				p.net.Curves = append(p.net.Curves, Curve{ID: toks[0], Kind: GenericCurve})
			}
		}
	}
}

// read processes the file line by line, in file order, as EPANET does:
// objects must be defined before lines that refer to them.
func (p *parser) read(lines [][]byte) {
	p.sect = secNone
	var patComment string // full-line comment preceding a pattern or curve
	for n, raw := range lines {
		p.lineNo = p.lineNumbers[n]
		line := p.decode(raw)
		p.tok, p.comment = tokenize(line)
		if len(p.tok) == 0 {
			if p.sect == secPatterns || p.sect == secCurves {
				patComment = p.comment
			}
			continue
		}
		if p.sect == secPatterns || p.sect == secCurves {
			p.comment = patComment
		}
		patComment = ""
		if strings.HasPrefix(p.tok[0], "[") {
			s := section(findMatch(p.tok[0], sectionKeywords))
			if s == secEnd {
				break
			}
			if s == secNone {
				p.addError(&InputError{Code: 299, Line: p.lineNo, Item: p.tok[0]})
			}
			p.sect = s
			continue
		}
		if p.sect == secNone {
			continue
		}
		if le := p.dispatch(line); le != nil {
			p.lineFail(le)
		}
	}
	if p.rule != nil {
		p.closeRule()
	}
}

func (p *parser) dispatch(line string) *lineError {
	switch p.sect {
	case secTitle:
		if len(p.net.Title) < 3 {
			p.net.Title = append(p.net.Title, strings.TrimRight(line, "\r\n"))
		}
		return nil
	case secJunctions:
		return p.junction()
	case secReservoirs, secTanks:
		return p.tank()
	case secPipes:
		return p.pipe()
	case secPumps:
		return p.pump()
	case secValves:
		return p.valve()
	case secPatterns:
		return p.pattern()
	case secCurves:
		return p.curve()
	case secDemands:
		return p.demand()
	case secControls:
		return p.control()
	case secRules:
		return p.ruleLine()
	case secSources:
		return p.source()
	case secEmitters:
		return p.emitter()
	case secLeakage:
		return p.leakage()
	case secQuality:
		return p.quality()
	case secStatus:
		return p.status()
	case secEnergy:
		return p.energy()
	case secReactions:
		return p.reaction()
	case secMixing:
		return p.mixing()
	case secReport:
		return p.report()
	case secTimes:
		return p.times()
	case secOptions:
		return p.option()
	case secTags:
		return p.tag()
	case secCoordinates:
		p.coordinate()
		return nil
	case secVertices:
		p.vertex()
		return nil
	case secRoughness, secLabels, secBackdrop:
		return nil
	}
	return fail(201, -1)
}

// finish orders nodes as EPANET does (junctions first), resolves the
// default pattern and applies EPANET's adjustments of time steps.
func (p *parser) finish() {
	net := p.net
	// Stable partition: junctions keep file order, then tanks/reservoirs.
	order := make([]int, 0, len(net.Nodes))
	for i, nd := range net.Nodes {
		if nd.Kind == Junction {
			order = append(order, i)
		}
	}
	net.Junctions = len(order)
	for i, nd := range net.Nodes {
		if nd.Kind != Junction {
			order = append(order, i)
		}
	}
	newIndex := make([]int, len(net.Nodes))
	nodes := make([]Node, len(net.Nodes))
	for newI, oldI := range order {
		newIndex[oldI] = newI
		nodes[newI] = net.Nodes[oldI]
		net.nodeIndex[nodes[newI].ID] = newI
	}
	net.Nodes = nodes
	for i := range net.Links {
		net.Links[i].From = newIndex[net.Links[i].From]
		net.Links[i].To = newIndex[net.Links[i].To]
	}
	for i := range net.Controls {
		if net.Controls[i].Node >= 0 {
			net.Controls[i].Node = newIndex[net.Controls[i].Node]
		}
	}
	for r := range net.Rules {
		for k := range net.Rules[r].Premises {
			pr := &net.Rules[r].Premises[k]
			if pr.Object == RuleNode {
				pr.Index = newIndex[pr.Index]
			}
		}
	}

	t := &net.Times
	if t.PatternStep <= 0 {
		t.PatternStep = 3600
	}
	if t.ReportStep == 0 {
		t.ReportStep = t.PatternStep
	}
	if t.HydraulicStep <= 0 {
		t.HydraulicStep = 3600
	}
	t.HydraulicStep = min(t.HydraulicStep, t.PatternStep, t.ReportStep)
	if t.ReportStart > t.Duration {
		t.ReportStart = 0
	}
	if t.QualityStep == 0 {
		t.QualityStep = t.HydraulicStep / 10
	}
	if t.RuleStep == 0 {
		t.RuleStep = t.HydraulicStep / 10
	}
	t.RuleStep = min(t.RuleStep, t.HydraulicStep)
	t.QualityStep = min(t.QualityStep, t.HydraulicStep)
}
