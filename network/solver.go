package network

import (
	"errors"
	"fmt"
	"math"

	"github.com/shuixiao/shuixiao/sparse"
)

// pumpType is how a pump's head–flow relation is given.
type pumpType uint8

const (
	constantPower pumpType = iota // constant horsepower
	powerFunction                 // h = h0 − r·qⁿ fitted to 1 or 3 points
	customCurve                   // piecewise linear multipoint curve
	noCurve
)

// pumpData are a pump's curve coefficients in internal units.
type pumpData struct {
	kind     pumpType
	q0, qmax float64 // initial (design) and maximum flow
	hmax     float64 // shutoff head
	h0, r, n float64 // head loss coefficients: hloss = h0 + r·qⁿ (h0, r < 0)
	curve    int     // head curve (custom curves), -1 none
	pattern  int     // speed pattern, -1 none
}

// tankData are a tank's or reservoir's data in internal units.
type tankData struct {
	node        int
	area        float64 // 0 for a reservoir
	hmin, hmax  float64 // bottom and top water elevations
	h0          float64 // initial water elevation
	vmin, vmax  float64
	v0          float64
	volumeCurve int // -1 none
	pattern     int // reservoir head pattern, -1 none
	canOverflow bool
}

// control is a simple control in internal units.
type control struct {
	link    int
	node    int // -1 for time controls
	kind    ControlKind
	time    int64
	grade   float64 // head that triggers a level control
	status  LinkStatus
	setting float64
	enabled bool
}

// units holds the factors converting internal units (ft, cfs) into the
// file's units: value_in_file = value_internal × factor.
type units struct {
	flow, head, pressure, diameter, power, volume float64
	si                                            bool
}

// Solver computes the hydraulics of one network with EPANET's Global
// Gradient Algorithm. See the package documentation for its use.
type Solver struct {
	net *Network
	u   units

	nNodes, nJunc, nLinks int

	// Node data (internal units).
	elev        []float64
	demandStart []int32 // demands of junction i: demandBase[demandStart[i]:demandStart[i+1]]
	demandBase  []float64
	demandPat   []int32 // pattern index, -1 for a constant 1
	emitterK    []float64
	tanks       []tankData

	// Link data (internal units).
	kind         []LinkKind
	from, to     []int32
	diam, length []float64
	kc           []float64 // roughness, pump speed or valve setting (EPANET's Kc)
	km           []float64 // minor loss coefficient (pumps: power)
	resist       []float64 // flow resistance R
	initStatus   []LinkStatus
	initSetting  []float64
	pumpOf       []int32 // pump data index per link, -1 if not a pump
	pumps        []pumpData
	valves       []int32 // links that are valves
	statusLinks  []int32 // pumps, check valves, FCVs and links to fixed-grade nodes
	pipeLinks    []int32 // pipes (with or without check valve)
	otherLinks   []int32 // pumps and valves
	valveCurve   []int32 // PCV loss curve per link, -1 none
	leakArea     []float64
	leakExpan    []float64

	patterns  [][]float64
	patFactor []float64 // multipliers of the current period, index 1+pattern (0: no pattern)
	curves    []Curve   // in file units, as EPANET keeps them
	controls  []control
	rules     []Rule
	defPat    int

	// Options (internal units).
	hexp, qexp, htol, qtol, rqtol, hacc float64
	headErrorLimit, flowChangeLimit     float64
	dampLimit, viscosity, dmult         float64
	pmin, preq, pexp                    float64
	specificGravity                     float64
	maxIter, extraIter                  int
	checkFreq, maxCheck                 int
	demandModel                         DemandModel
	emitterBackflow                     bool
	times                               Times

	// Sparse system.
	chol     *sparse.Cholesky
	row      []int32 // factor row of each junction
	slot     []int32 // off-diagonal slot of each link (-1 if it touches a fixed-grade node)
	row1     []int32 // factor row of each link's start node (-1 for a fixed-grade node)
	row2     []int32 // factor row of each link's end node
	adjStart []int32 // links at node i: adjLink[adjStart[i]:adjStart[i+1]]
	adjLink  []int32

	// Hydraulic state (internal units).
	head, nodeDemand, fullDemand      []float64
	demandFlow, emitterFlow, leakFlow []float64
	flow, setting                     []float64
	status                            []LinkStatus
	p, y, xflow                       []float64
	coeffFlow                         []float64    // flow at which a pipe's p, y were computed
	coeffStatus                       []LinkStatus // status at which they were computed
	tankVolume                        []float64
	leak                              []nodeLeak
	hasLeakage                        bool

	htime, rtime, ruleTime1 int64
	halted                  bool
	dsystem                 float64
	relax                   float64
	stats                   StepStats
	initialized             bool
	warnings                []Warning
	step                    Step // passed to Run's callback (kept here to avoid an allocation per step)

	// Scratch for status checks and reports.
	marked   []bool
	nodeList []int32
	actions  []pendingAction
}

// NewSolver checks a network as EPANET does before a hydraulic run
// (errors 223–234) and prepares a solver for it: internal units, pump
// curves, tank volumes, and the symbolic factorisation of the network
// matrix, which every later solve reuses. The network is not modified and
// must not be modified while the solver is in use (use the Solver's Set
// methods to change demands, roughness, emitters or leakage).
func NewSolver(net *Network) (*Solver, error) {
	ensurePowTables()
	s := &Solver{net: net}
	if err := s.load(); err != nil {
		return nil, err
	}
	if err := s.buildMatrix(); err != nil {
		return nil, err
	}
	s.reset()
	return s, nil
}

// Network returns the network the solver was made for.
func (s *Solver) Network() *Network { return s.net }

func unitFactors(o *Options) units {
	c := &epanet
	u := units{si: o.FlowUnits.SI()}
	if u.si {
		u.diameter = 1000 * c.MperFT
		u.head = c.MperFT
		u.power = c.KWperHP
		switch o.FlowUnits {
		case LPM:
			u.flow = c.LPMperCFS
		case MLD:
			u.flow = c.MLDperCFS
		case CMH:
			u.flow = c.CMHperCFS
		case CMD:
			u.flow = c.CMDperCFS
		case CMS:
			u.flow = c.CMSperCFS
		default:
			u.flow = c.LPSperCFS
		}
	} else {
		u.diameter = 12
		u.head = 1
		u.power = 1
		switch o.FlowUnits {
		case GPM:
			u.flow = c.GPMperCFS
		case MGD:
			u.flow = c.MGDperCFS
		case IMGD:
			u.flow = c.IMGDperCFS
		case AFD:
			u.flow = c.AFDperCFS
		default:
			u.flow = 1
		}
	}
	press := o.PressureUnits
	if press == DefaultPressure {
		press = PSI
		if u.si {
			press = Meters
		}
	}
	switch press {
	case Meters:
		u.pressure = c.MperFT
	case KPA:
		u.pressure = c.KPAperPSI * c.PSIperFT * o.SpecificGravity
	case Bar:
		u.pressure = c.BARperPSI * c.PSIperFT * o.SpecificGravity
	case Feet:
		u.pressure = 1
	default:
		u.pressure = c.PSIperFT * o.SpecificGravity
	}
	u.volume = u.head * u.head * u.head
	return u
}

// modelError builds a whole-model error (no input line).
func modelError(code int, item string) *InputError {
	return &InputError{Code: code, Item: item}
}

// load converts the network into internal units (EPANET's adjustdata,
// inittanks, convertunits and validateproject).
func (s *Solver) load() error {
	net := s.net
	c := &epanet
	o := &net.Options
	s.u = unitFactors(o)
	u := s.u
	s.nNodes, s.nJunc, s.nLinks = len(net.Nodes), net.Junctions, len(net.Links)
	if s.nNodes < 2 {
		return modelError(223, "")
	}
	if s.nJunc == s.nNodes {
		return modelError(224, "")
	}
	var errs InputErrors

	// Options.
	s.hexp = 2
	if o.Headloss == HazenWilliams {
		s.hexp = c.HWExponent
	}
	s.qexp = 1 / o.EmitterExponent
	s.htol, s.qtol, s.rqtol = o.Htol, o.Qtol, o.RQtol
	s.hacc = o.Accuracy
	s.headErrorLimit = o.HeadError / u.head
	s.flowChangeLimit = o.FlowChange / u.flow
	s.dampLimit = o.DampLimit
	s.dmult = o.DemandMultiplier
	s.pmin = o.MinimumPressure / u.pressure
	s.preq = o.RequiredPressure / u.pressure
	s.pexp = o.PressureExponent
	s.specificGravity = o.SpecificGravity
	s.maxIter, s.extraIter = o.Trials, o.ExtraTrials
	s.checkFreq, s.maxCheck = o.CheckFreq, o.MaxCheck
	s.demandModel = o.DemandModel
	s.emitterBackflow = o.EmitterBackflow
	switch v := o.Viscosity; {
	case v == Missing:
		s.viscosity = c.Viscosity
	case v > 1e-3:
		s.viscosity = v * c.Viscosity
	case u.si:
		s.viscosity = v / (c.MperFT * c.MperFT)
	default:
		s.viscosity = v
	}
	s.times = net.Times

	// Patterns (validatepatterns) and curves (validatecurves).
	s.patterns = make([][]float64, len(net.Patterns))
	for i, p := range net.Patterns {
		if len(p.Factors) == 0 {
			errs = append(errs, modelError(232, p.ID))
		}
		s.patterns[i] = p.Factors
	}
	s.patFactor = make([]float64, len(net.Patterns)+1)
	s.defPat = -1
	if i, ok := net.patternIndex[o.DefaultPattern]; ok {
		s.defPat = i
	}
	s.curves = net.Curves
	for _, cv := range net.Curves {
		if len(cv.X) == 0 {
			errs = append(errs, modelError(231, cv.ID))
		}
		for i := 1; i < len(cv.X); i++ {
			if cv.X[i-1] >= cv.X[i] {
				errs = append(errs, modelError(230, cv.ID))
				break
			}
		}
	}

	// Nodes.
	s.elev = make([]float64, s.nNodes)
	s.emitterK = make([]float64, s.nJunc)
	s.demandStart = make([]int32, s.nJunc+1)
	ecf := c.MperFT
	if !u.si {
		ecf = c.PSIperFT * o.SpecificGravity
	}
	emitterUnits := pow(u.flow, s.qexp) / ecf
	for i := range net.Nodes {
		nd := &net.Nodes[i]
		s.elev[i] = nd.Elevation / u.head
		if i < s.nJunc {
			for _, d := range nd.Demands {
				s.demandBase = append(s.demandBase, d.Base/u.flow)
				s.demandPat = append(s.demandPat, int32(d.Pattern))
			}
			s.demandStart[i+1] = int32(len(s.demandBase))
			if nd.Emitter > 0 {
				s.emitterK[i] = emitterUnits / pow(nd.Emitter, s.qexp)
			}
		}
	}
	s.tanks = make([]tankData, s.nNodes-s.nJunc)
	for t := range s.tanks {
		if err := s.loadTank(t); err != nil {
			errs = append(errs, err)
		}
	}

	// Links.
	n := s.nLinks
	s.kind = make([]LinkKind, n)
	s.from, s.to = make([]int32, n), make([]int32, n)
	s.diam, s.length = make([]float64, n), make([]float64, n)
	s.kc, s.km, s.resist = make([]float64, n), make([]float64, n), make([]float64, n)
	s.initStatus, s.initSetting = make([]LinkStatus, n), make([]float64, n)
	s.pumpOf, s.valveCurve = make([]int32, n), make([]int32, n)
	s.leakArea, s.leakExpan = make([]float64, n), make([]float64, n)
	for k := range net.Links {
		l := &net.Links[k]
		s.kind[k] = l.Kind
		s.from[k], s.to[k] = int32(l.From), int32(l.To)
		s.pumpOf[k], s.valveCurve[k] = -1, int32(l.ValveCurve)
		s.initStatus[k] = l.InitStatus
		switch {
		case l.Kind.IsPipe():
			s.kc[k] = l.Roughness
			if o.Headloss == DarcyWeisbach {
				s.kc[k] /= 1000 * u.head
			}
			s.diam[k] = l.Diameter / u.diameter
			s.length[k] = l.Length / u.head
			s.km[k] = c.MinorLossFactor * l.MinorLoss / (s.diam[k] * s.diam[k]) / (s.diam[k] * s.diam[k])
			s.leakArea[k] = l.LeakArea * u.head
			s.leakExpan[k] = l.LeakExpansion * u.head
		case l.Kind == Pump:
			s.kc[k] = l.Setting
			s.km[k] = l.Power / u.power
			s.pumpOf[k] = int32(len(s.pumps))
			pd, err := s.loadPump(k)
			if err != nil {
				errs = append(errs, err)
			}
			s.pumps = append(s.pumps, pd)
		default:
			s.valves = append(s.valves, int32(k))
			s.kc[k] = l.Setting
			s.diam[k] = l.Diameter / u.diameter
			s.km[k] = c.MinorLossFactor * l.MinorLoss / (s.diam[k] * s.diam[k]) / (s.diam[k] * s.diam[k])
			switch l.Kind {
			case FCV:
				s.kc[k] /= u.flow
			case PRV, PSV, PBV:
				s.kc[k] /= u.pressure
			}
		}
		s.initSetting[k] = s.kc[k]
	}

	// Controls.
	for _, ctl := range net.Controls {
		cc := control{link: ctl.Link, node: ctl.Node, kind: ctl.Kind, time: ctl.Time,
			status: ctl.Status, setting: ctl.Setting, enabled: ctl.Enabled}
		if j := ctl.Node; j >= 0 {
			if j >= s.nJunc {
				cc.grade = s.elev[j] + ctl.Level/u.head
			} else {
				cc.grade = s.elev[j] + ctl.Level/u.pressure
			}
		}
		if cc.setting != Missing {
			switch s.kind[ctl.Link] {
			case PRV, PSV, PBV:
				cc.setting /= u.pressure
			case FCV:
				cc.setting /= u.flow
			}
		}
		s.controls = append(s.controls, cc)
	}
	s.rules = net.Rules
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// loadTank converts tank t (EPANET's tankdata volumes, inittanks for
// volume curves, convertunits) and checks its levels (error 225).
func (s *Solver) loadTank(t int) *InputError {
	u := s.u
	i := s.nJunc + t
	nd := &s.net.Nodes[i]
	td := tankData{node: i, pattern: nd.HeadPattern, volumeCurve: -1, canOverflow: nd.CanOverflow}
	if nd.Kind == Reservoir {
		// A [TANKS] line with zero diameter is a reservoir at its initial
		// level (EPANET converts every tank's levels the same way).
		td.h0 = s.elev[i] + nd.InitLevel/u.head
		s.tanks[t] = td
		return nil
	}
	td.volumeCurve = nd.VolumeCurve
	diam := nd.Diameter
	area := math.Pi * (diam * diam) / 4
	vmin := area * nd.MinLevel
	if nd.MinVolume > 0 {
		vmin = nd.MinVolume
	}
	v0 := vmin + area*(nd.InitLevel-nd.MinLevel)
	vmax := vmin + area*(nd.MaxLevel-nd.MinLevel)
	if td.volumeCurve >= 0 {
		cv := &s.curves[td.volumeCurve]
		if len(cv.X) < 2 || cv.X[len(cv.X)-1] == cv.X[0] {
			// EPANET would derive a NaN area from such a curve.
			return &InputError{Code: 225, Item: nd.ID, Detail: "volume curve needs two points"}
		}
		if len(cv.X) > 0 {
			last := len(cv.X) - 1
			vmin = interpolate(cv.X, cv.Y, nd.MinLevel)
			vmax = interpolate(cv.X, cv.Y, nd.MaxLevel)
			v0 = interpolate(cv.X, cv.Y, nd.InitLevel)
			a := (cv.Y[last] - cv.Y[0]) / (cv.X[last] - cv.X[0])
			diam = math.Sqrt(4 * a / math.Pi)
		}
	}
	td.h0 = s.elev[i] + nd.InitLevel/u.head
	td.hmin = s.elev[i] + nd.MinLevel/u.head
	td.hmax = s.elev[i] + nd.MaxLevel/u.head
	d := diam / u.head
	td.area = math.Pi * (d * d) / 4
	td.v0, td.vmin, td.vmax = v0/u.volume, vmin/u.volume, vmax/u.volume
	s.tanks[t] = td

	bad := td.h0 > td.hmax || td.hmin > td.hmax || td.h0 < td.hmin
	if td.volumeCurve >= 0 {
		cv := &s.curves[td.volumeCurve]
		if len(cv.X) > 0 && ((td.hmin-s.elev[i])*u.head < cv.X[0]-epanet.Tiny ||
			(td.hmax-s.elev[i])*u.head > cv.X[len(cv.X)-1]+epanet.Tiny) {
			bad = true
		}
	}
	if bad {
		return modelError(225, nd.ID)
	}
	return nil
}

// loadPump derives a pump's curve coefficients (EPANET validatepumps).
func (s *Solver) loadPump(k int) (pumpData, *InputError) {
	c := &epanet
	u := s.u
	l := &s.net.Links[k]
	pd := pumpData{curve: l.HeadCurve, pattern: l.SpeedPattern, kind: noCurve}
	switch {
	case l.HeadCurve >= 0:
		cv := &s.curves[l.HeadCurve]
		npts := len(cv.X)
		var h0, h1, h2, q1, q2 float64
		switch {
		case npts == 1:
			q1, h1 = cv.X[0], cv.Y[0]
			h0 = c.PumpShutoffFactor * h1
			q2, h2 = 2*q1, 0
		case npts == 3 && cv.X[0] == 0:
			h0, q1, h1, q2, h2 = cv.Y[0], cv.X[1], cv.Y[1], cv.X[2], cv.Y[2]
		case npts == 0:
			return pd, modelError(227, l.ID)
		default:
			for m := 1; m < npts; m++ {
				if cv.Y[m] >= cv.Y[m-1] {
					return pd, modelError(227, l.ID)
				}
			}
			pd.kind = customCurve
			pd.qmax = cv.X[npts-1]
			pd.q0 = (cv.X[0] + pd.qmax) / 2 / u.flow
			pd.qmax /= u.flow
			pd.hmax = cv.Y[0] / u.head
			return pd, nil
		}
		a, b, n, ok := powerFunctionPump(h0, h1, h2, q1, q2)
		if !ok {
			return pd, modelError(227, l.ID)
		}
		pd.kind = powerFunction
		pd.h0 = -a / u.head
		pd.r = -b * (pow(u.flow, n) / u.head)
		pd.n = n
		pd.q0 = q1 / u.flow
		pd.qmax = pow(-a/b, 1/n) / u.flow
		pd.hmax = h0 / u.head
	case s.km[k] > 0:
		// EPANET 2.3.5 divides the (already converted) power by the power
		// factor a second time here; kept for identical results.
		pd.kind = constantPower
		pd.r = -c.HPperCFSft * s.km[k] / u.power
		pd.n = -1
		pd.hmax, pd.qmax, pd.q0 = c.Big, c.Big, 1
	default:
		return pd, modelError(226, l.ID)
	}
	return pd, nil
}

// powerFunctionPump fits h = a + b·qᶜ through the shutoff head h0, the
// design point (q1, h1) and the maximum flow point (q2, h2).
func powerFunctionPump(h0, h1, h2, q1, q2 float64) (a, b, c float64, ok bool) {
	tiny := epanet.Tiny
	if h0 < tiny || h0-h1 < tiny || h1-h2 < tiny || q1 < tiny || q2-q1 < tiny {
		return 0, 0, 0, false
	}
	a = h0
	h4, h5 := h0-h1, h0-h2
	c = logAccurate(h5/h4) / logAccurate(q2/q1)
	if c <= 0 || c > 20 {
		return 0, 0, 0, false
	}
	b = -h4 / pow(q1, c)
	if b >= 0 {
		return 0, 0, 0, false
	}
	return a, b, c, true
}

// interpolate returns y at x on a piecewise linear curve, clamped at its
// ends (EPANET's interp).
func interpolate(xs, ys []float64, x float64) float64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	if x <= xs[0] {
		return ys[0]
	}
	for k := 1; k < n; k++ {
		if xs[k] >= x {
			dx := xs[k] - xs[k-1]
			if math.Abs(dx) < epanet.Tiny {
				return ys[k]
			}
			return ys[k] - (xs[k]-x)*(ys[k]-ys[k-1])/dx
		}
	}
	return ys[n-1]
}

// buildMatrix analyses the structure of the network matrix: one row per
// junction, one off-diagonal entry per pair of junctions joined by links.
// It also checks that every junction has a link (errors 233/234).
func (s *Solver) buildMatrix() error {
	var edges []sparse.Edge
	s.slot = make([]int32, s.nLinks)
	var edgeOf []int
	degree := make([]int32, s.nNodes)
	for k := range s.nLinks {
		i, j := int(s.from[k]), int(s.to[k])
		degree[i]++
		degree[j]++
		s.slot[k] = -1
		if i < s.nJunc && j < s.nJunc {
			edgeOf = append(edgeOf, k)
			edges = append(edges, sparse.Edge{I: i, J: j})
		}
	}
	for k := range s.nLinks {
		if s.kind[k].IsPipe() {
			s.pipeLinks = append(s.pipeLinks, int32(k))
		} else {
			s.otherLinks = append(s.otherLinks, int32(k))
		}
		switch {
		case s.kind[k] == CVPipe || s.kind[k] == Pump || s.kind[k] == FCV,
			int(s.from[k]) >= s.nJunc || int(s.to[k]) >= s.nJunc:
			s.statusLinks = append(s.statusLinks, int32(k))
		}
	}
	var errs InputErrors
	for i := range s.nJunc {
		if degree[i] == 0 {
			errs = append(errs, &InputError{Code: 234, Item: s.net.Nodes[i].ID})
		}
	}
	if len(errs) > 0 {
		return append(InputErrors{modelError(233, "")}, errs...)
	}
	sym, slots, err := sparse.Analyze(s.nJunc, edges)
	if err != nil {
		return fmt.Errorf("network matrix: %w", err)
	}
	for e, k := range edgeOf {
		s.slot[k] = slots[e]
	}
	s.chol = sym.NewCholesky()
	s.row = sym.Pivot
	s.row1, s.row2 = make([]int32, s.nLinks), make([]int32, s.nLinks)
	for k := range s.nLinks {
		s.row1[k], s.row2[k] = -1, -1
		if i := s.from[k]; int(i) < s.nJunc {
			s.row1[k] = s.row[i]
		}
		if j := s.to[k]; int(j) < s.nJunc {
			s.row2[k] = s.row[j]
		}
	}

	// Node–link adjacency, used by connectivity checks.
	s.adjStart = make([]int32, s.nNodes+1)
	for i := range s.nNodes {
		s.adjStart[i+1] = s.adjStart[i] + degree[i]
	}
	s.adjLink = make([]int32, 2*s.nLinks)
	fill := append([]int32(nil), s.adjStart[:s.nNodes]...)
	for k := range s.nLinks {
		for _, n := range [2]int32{s.from[k], s.to[k]} {
			s.adjLink[fill[n]] = int32(k)
			fill[n]++
		}
	}

	nn, nl := s.nNodes, s.nLinks
	s.head, s.nodeDemand, s.fullDemand = make([]float64, nn), make([]float64, nn), make([]float64, nn)
	s.demandFlow, s.emitterFlow, s.leakFlow = make([]float64, nn), make([]float64, nn), make([]float64, nn)
	s.flow, s.setting, s.status = make([]float64, nl), make([]float64, nl), make([]LinkStatus, nl)
	s.p, s.y = make([]float64, nl), make([]float64, nl)
	s.coeffFlow, s.coeffStatus = make([]float64, nl), make([]LinkStatus, nl)
	s.xflow = make([]float64, max(nn, nl))
	s.tankVolume = make([]float64, len(s.tanks))
	s.marked = make([]bool, nn)
	s.nodeList = make([]int32, nn)
	return nil
}

// ErrNotInitialized is returned by step functions called before Init.
var ErrNotInitialized = errors.New("network: hydraulic solver not initialised")
