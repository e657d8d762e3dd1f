package network

// Missing marks a setting that was not given (EPANET's MISSING value):
// a valve whose status is fixed OPEN or CLOSED, a control or rule action
// that sets a status rather than a value.
const Missing = -1e10

// NodeKind is the kind of a node.
type NodeKind uint8

// Node kinds, in EPANET's order.
const (
	Junction NodeKind = iota
	Reservoir
	Tank
)

// String returns EPANET's name of the node kind (JUNCTION, RESERVOIR, TANK).
func (k NodeKind) String() string {
	switch k {
	case Junction:
		return "JUNCTION"
	case Reservoir:
		return "RESERVOIR"
	case Tank:
		return "TANK"
	}
	return "NODE?"
}

// LinkKind is the kind of a link. The order is EPANET's and matters: every
// kind after Pump is a valve.
type LinkKind uint8

// Link kinds.
const (
	CVPipe LinkKind = iota // pipe with a check valve
	Pipe
	Pump
	PRV // pressure reducing valve
	PSV // pressure sustaining valve
	PBV // pressure breaker valve
	FCV // flow control valve
	TCV // throttle control valve
	GPV // general purpose valve
	PCV // positional control valve
)

// IsValve reports whether links of kind k are valves.
func (k LinkKind) IsValve() bool { return k > Pump }

// IsPipe reports whether links of kind k are pipes (with or without a
// check valve).
func (k LinkKind) IsPipe() bool { return k <= Pipe }

// String returns EPANET's name of the link kind (PIPE, PUMP, PRV, ...).
func (k LinkKind) String() string {
	names := [...]string{"CVPIPE", "PIPE", "PUMP", "PRV", "PSV", "PBV", "FCV", "TCV", "GPV", "PCV"}
	if int(k) < len(names) {
		return names[k]
	}
	return "LINK?"
}

// LinkStatus is the hydraulic status of a link. The order is EPANET's and
// matters: every status up to Closed means the link carries no flow.
type LinkStatus uint8

// Link statuses.
const (
	XHead      LinkStatus = iota // pump closed because it cannot deliver head
	TempClosed                   // temporarily closed (e.g. flow into a full tank)
	Closed
	Open
	Active    // control valve regulating
	XFlow     // pump open but exceeding its maximum flow
	XFCV      // FCV open but unable to deliver its flow
	XPressure // PRV/PSV open but unable to deliver its pressure
)

// IsClosed reports whether the status stops all flow.
func (s LinkStatus) IsClosed() bool { return s <= Closed }

// String returns EPANET's wording of the status, as used in its warnings.
func (s LinkStatus) String() string {
	names := [...]string{"closed because cannot deliver head", "temporarily closed", "closed", "open",
		"active", "open but exceeds maximum flow", "open but cannot deliver flow", "open but cannot deliver pressure"}
	if int(s) < len(names) {
		return names[s]
	}
	return "status?"
}

// Demand is one demand category of a junction.
type Demand struct {
	// Base is the base demand in the file's flow units.
	Base float64
	// Pattern indexes Network.Patterns, or is -1 for the default pattern.
	Pattern int
	// Category is the category name (the comment of its [DEMANDS] line).
	Category string
}

// Node is a junction, reservoir or tank as read from the file. Values are
// in the file's units (feet or metres; flow units for demands).
type Node struct {
	ID        string
	Kind      NodeKind
	Elevation float64
	// Demands are the junction's demand categories (first one from
	// [JUNCTIONS], replaced by the first [DEMANDS] line if there is one).
	Demands []Demand
	// Emitter is the emitter discharge coefficient (flow units at 1 unit of
	// pressure), 0 for none.
	Emitter float64
	// InitQuality is the initial water quality ([QUALITY]); kept for
	// round trips, not used by the hydraulic solver.
	InitQuality float64

	// HeadPattern modulates a reservoir's head (index into Patterns, -1
	// for none).
	HeadPattern int
	// Tank geometry: levels above Elevation, diameter and minimum volume;
	// VolumeCurve indexes Curves (-1 for a cylinder).
	InitLevel, MinLevel, MaxLevel, Diameter, MinVolume float64
	VolumeCurve                                        int
	// CanOverflow lets a full tank spill instead of closing its inlets.
	CanOverflow bool

	// X, Y are the map coordinates from [COORDINATES] (HasCoords false if
	// the node had none).
	X, Y      float64
	HasCoords bool
	Tag       string
	Comment   string
}

// Point is a map position.
type Point struct{ X, Y float64 }

// Link is a pipe, pump or valve as read from the file. Values are in the
// file's units (length ft or m, diameter in or mm).
type Link struct {
	ID       string
	Kind     LinkKind
	From, To int // node indexes
	Length   float64
	Diameter float64
	// Roughness is the H-W C, D-W roughness (millifeet or mm) or Manning n.
	Roughness float64
	// MinorLoss is the minor loss coefficient (velocity-head basis).
	MinorLoss float64
	// InitStatus is Open, Closed or (for valves with a setting) Active.
	InitStatus LinkStatus
	// Setting is a pump's initial relative speed or a valve's setting
	// (pressure for PRV/PSV/PBV, flow for FCV, loss coefficient for TCV,
	// percent open for PCV; for a GPV the number of its head loss curve,
	// 1 + its index in Curves, as EPANET reports it).
	Setting float64

	// Pump data: head curve (-1 none), constant power (hp or kW, 0 none),
	// speed pattern (-1 none), efficiency curve (-1 none), energy price
	// and price pattern.
	HeadCurve       int
	Power           float64
	SpeedPattern    int
	EfficiencyCurve int
	EnergyPrice     float64
	PricePattern    int

	// ValveCurve is a PCV's loss-ratio curve (-1 none).
	ValveCurve int

	// LeakArea (mm² per 100 length units) and LeakExpansion (mm² per unit
	// of pressure head) are the pipe's FAVAD leakage parameters.
	LeakArea, LeakExpansion float64

	Vertices []Point
	Tag      string
	Comment  string
}

// Pattern is a time pattern of multipliers.
type Pattern struct {
	ID      string
	Factors []float64
	Comment string
}

// CurveKind is the declared use of a data curve.
type CurveKind uint8

// Curve kinds.
const (
	VolumeCurve CurveKind = iota
	PumpCurve
	EfficiencyCurve
	HeadlossCurve
	GenericCurve
	ValveCurve
)

// Curve is an X–Y data curve in the file's units.
type Curve struct {
	ID      string
	Kind    CurveKind
	X, Y    []float64
	Comment string
}

// ControlKind is what triggers a simple control.
type ControlKind uint8

// Simple control kinds.
const (
	LowLevel  ControlKind = iota // node head below a level
	HighLevel                    // node head above a level
	Timer                        // elapsed time
	TimeOfDay                    // clock time
)

// Control is one line of [CONTROLS].
type Control struct {
	Link int
	// Node is the controlling node for level controls, -1 otherwise.
	Node int
	Kind ControlKind
	// Time is the elapsed time or time of day in seconds.
	Time int64
	// Level is the tank level or junction pressure in file units.
	Level float64
	// Status is the status set (Open, Closed, or Active for a setting).
	Status LinkStatus
	// Setting is the pump speed or valve setting set, or Missing.
	Setting float64
	Enabled bool
}

// RuleObject is what a rule premise tests.
type RuleObject uint8

// Rule premise objects.
const (
	RuleNode RuleObject = iota
	RuleLink
	RuleSystem
)

// RuleVariable is the quantity a rule premise tests.
type RuleVariable uint8

// Rule premise variables, in EPANET's order.
const (
	VarDemand RuleVariable = iota
	VarHead
	VarGrade
	VarLevel
	VarPressure
	VarFlow
	VarStatus
	VarSetting
	VarPower
	VarTime
	VarClockTime
	VarFillTime
	VarDrainTime
)

// RuleOperator is a relational operator of a rule premise.
type RuleOperator uint8

// Rule premise operators (IS, NOT, BELOW, ABOVE are read as =, <>, <, >).
const (
	OpEQ RuleOperator = iota
	OpNE
	OpLE
	OpGE
	OpLT
	OpGT
)

// RuleStatus is a status value in a rule (0 when a number is used).
type RuleStatus uint8

// Rule status values.
const (
	RuleNumber RuleStatus = iota
	RuleOpen
	RuleClosed
	RuleActive
)

// Premise is one IF/AND/OR clause of a rule.
type Premise struct {
	// Or is true for an OR clause (IF and AND clauses are conjunctions).
	Or       bool
	Object   RuleObject
	Index    int // node or link index
	Variable RuleVariable
	Op       RuleOperator
	Status   RuleStatus
	// Value is in the file's units (seconds for times), Missing for a
	// status test.
	Value float64
}

// Action is one THEN/ELSE clause: set a link's status or setting.
type Action struct {
	Link int
	// Status is RuleOpen, RuleClosed, RuleActive, or RuleNumber when a
	// setting is given.
	Status RuleStatus
	// Setting is in the file's units, or Missing.
	Setting float64
}

// Rule is a rule-based control.
type Rule struct {
	Label    string
	Priority float64
	Enabled  bool
	Premises []Premise
	Then     []Action
	Else     []Action
}

// FlowUnits are the flow units of a file; they also fix the unit system.
type FlowUnits uint8

// Flow units, in EPANET's order (the first five are US customary).
const (
	CFS FlowUnits = iota
	GPM
	MGD
	IMGD
	AFD
	LPS
	LPM
	MLD
	CMH
	CMD
	CMS
)

// SI reports whether the flow units belong to the metric system.
func (u FlowUnits) SI() bool { return u >= LPS }

// String returns the [OPTIONS] keyword of the units (GPM, CMH, ...).
func (u FlowUnits) String() string {
	names := [...]string{"CFS", "GPM", "MGD", "IMGD", "AFD", "LPS", "LPM", "MLD", "CMH", "CMD", "CMS"}
	if int(u) < len(names) {
		return names[u]
	}
	return "UNITS?"
}

// PressureUnits are the units of pressures in a file.
type PressureUnits uint8

// Pressure units; DefaultPressure means psi for US and metres for SI flow
// units.
const (
	PSI PressureUnits = iota
	KPA
	Meters
	Bar
	Feet
	DefaultPressure
)

// HeadlossFormula selects the pipe friction law.
type HeadlossFormula uint8

// Head loss formulas.
const (
	HazenWilliams HeadlossFormula = iota
	DarcyWeisbach
	ChezyManning
)

// String returns the [OPTIONS] keyword of the formula (H-W, D-W, C-M).
func (f HeadlossFormula) String() string {
	return [...]string{"H-W", "D-W", "C-M"}[f%3]
}

// DemandModel selects demand-driven or pressure-driven analysis.
type DemandModel uint8

// Demand models.
const (
	DDA DemandModel = iota
	PDA
)

// Options are the [OPTIONS] of a file, as given (pressures in the file's
// pressure units). Fields left unset hold EPANET's defaults.
type Options struct {
	FlowUnits     FlowUnits
	PressureUnits PressureUnits
	Headloss      HeadlossFormula
	// Viscosity and Diffusivity are relative to water at 20 °C when above
	// 1e-3 (resp. 1e-4), absolute otherwise, or Missing for the default.
	Viscosity, Diffusivity float64
	SpecificGravity        float64
	Trials                 int
	Accuracy               float64
	HeadError, FlowChange  float64
	// ExtraTrials is −1 for UNBALANCED STOP, otherwise the extra trials
	// allowed by UNBALANCED CONTINUE n.
	ExtraTrials      int
	DefaultPattern   string
	DemandMultiplier float64
	EmitterExponent  float64
	EmitterBackflow  bool
	DemandModel      DemandModel
	// MinimumPressure, RequiredPressure, PressureExponent parameterise PDA.
	MinimumPressure, RequiredPressure, PressureExponent float64
	CheckFreq, MaxCheck                                 int
	DampLimit                                           float64
	// Htol (ft), Qtol (cfs) and RQtol are EPANET's undocumented tolerances.
	Htol, Qtol, RQtol float64
	// Quality is the [OPTIONS] QUALITY text (unused by hydraulics).
	Quality string
	// EnergyEfficiency is the global pump efficiency in percent;
	// EnergyPrice and EnergyPattern the global price and its pattern (-1
	// none); DemandCharge the energy demand charge.
	EnergyEfficiency, EnergyPrice, DemandCharge float64
	EnergyPattern                               int
}

// Times are the [TIMES] of a file in seconds, after EPANET's adjustments
// (e.g. the hydraulic step never exceeds the pattern or report step).
type Times struct {
	Duration, HydraulicStep, QualityStep, PatternStep, PatternStart int64
	ReportStep, ReportStart, RuleStep, StartClock                   int64
	Statistic                                                       string
}

// Network is an EPANET model: the result of reading an .inp file. Nodes
// are ordered as EPANET orders them (all junctions, in file order, then
// reservoirs and tanks in file order), links in file order. Indexes used
// throughout (Link.From, Control.Node, ...) are positions in these slices.
type Network struct {
	Title    []string
	Nodes    []Node
	Links    []Link
	Patterns []Pattern
	Curves   []Curve
	Controls []Control
	Rules    []Rule
	Options  Options
	Times    Times
	// Junctions is the number of junctions (the first Junctions nodes).
	Junctions int
	// Warnings are oddities of the file that EPANET accepts silently
	// (e.g. lines too long for its reader, which it reads in pieces).
	Warnings []string

	nodeIndex    map[string]int
	linkIndex    map[string]int
	patternIndex map[string]int
	curveIndex   map[string]int
}

// NodeIndex returns the index of the node with the given ID.
func (n *Network) NodeIndex(id string) (int, bool) {
	i, ok := n.nodeIndex[id]
	return i, ok
}

// LinkIndex returns the index of the link with the given ID.
func (n *Network) LinkIndex(id string) (int, bool) {
	i, ok := n.linkIndex[id]
	return i, ok
}

// PatternIndex returns the index of the pattern with the given ID.
func (n *Network) PatternIndex(id string) (int, bool) {
	i, ok := n.patternIndex[id]
	return i, ok
}

// CurveIndex returns the index of the curve with the given ID.
func (n *Network) CurveIndex(id string) (int, bool) {
	i, ok := n.curveIndex[id]
	return i, ok
}

// IncidentLinks returns, for every node, the indexes of the links that
// start or end at it (for path searches over the pipe graph).
func (n *Network) IncidentLinks() [][]int {
	out := make([][]int, len(n.Nodes))
	for k, l := range n.Links {
		out[l.From] = append(out[l.From], k)
		out[l.To] = append(out[l.To], k)
	}
	return out
}
