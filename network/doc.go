// Package network reads EPANET input files and computes water
// distribution network hydraulics the way EPANET 2.2/2.3 does.
//
// # Model
//
// ReadFile / Parse read an EPANET .inp file (all 2.2 sections plus the 2.3
// additions [LEAKAGE], [TAGS], PCV valves and DISABLED controls; LF or CRLF
// line ends; UTF-8 or Latin-1) into a Network. Invalid input yields
// InputErrors listing EPANET's error code and the line of every problem,
// e.g. "error 203: undefined node X in [PIPES] line 57". Values are kept
// in the file's own units. Nodes are ordered as EPANET orders them
// (junctions first); Network.NodeIndex and LinkIndex look IDs up. Nodes
// carry [COORDINATES] (X, Y, HasCoords), links their [VERTICES], lengths
// and end nodes, which is what a map or a pipe-length path search needs
// (see Network.IncidentLinks).
//
// # Hydraulics
//
// NewSolver checks a network as EPANET does before a run (errors 223–234)
// and prepares a Solver. The solver follows the Global Gradient Algorithm
// of Todini & Pilati ("A gradient algorithm for the analysis of pipe
// networks", 1988) exactly as EPANET 2.3.5 implements it, so that heads,
// flows, statuses and step times match EPANET's (EPANET 2.2 User Manual,
// ch. 12 and Appendix D): Hazen-Williams, Darcy-Weisbach and
// Chezy-Manning friction with minor losses; pumps with 1-point, 3-point
// and multipoint curves, constant power and speed patterns; PRV, PSV, PBV,
// FCV, TCV, GPV and PCV valves and check valves with EPANET's status
// checks; tanks with volume curves and overflow; simple controls and
// rule-based controls with the rule time step; demand categories and
// patterns; emitters; pressure-driven demand; FAVAD pipe leakage;
// intermediate time steps when tanks fill or empty and controls act; and
// UNBALANCED STOP / CONTINUE n. The linear system of each trial is solved
// with package sparse: Liu's multiple minimum degree ordering and the
// symbolic factorisation are computed once by NewSolver and reused by
// every trial, time step and run.
//
// Units inside the solver are EPANET's (ft, cfs); everything that goes
// in or out of the API is in the file's units (flow units of the file,
// heads in ft or m, pressures in the file's pressure units).
//
// # Use
//
// A whole extended period simulation, one callback per hydraulic step
// (intermediate steps included):
//
//	net, err := network.ReadFile("L-TOWN.inp")
//	...
//	s, err := network.NewSolver(net)
//	...
//	err = s.Run(func(st *network.Step) error {
//		p := st.Solver.Pressure(i)      // node i, file units
//		q := st.Solver.Flow(k)          // link k
//		r := st.Solver.LinkResult(k)    // velocity, head loss, status, setting
//		...
//		return nil
//	})
//	var halt *network.HaltError         // UNBALANCED STOP
//	if errors.As(err, &halt) { ... }
//
// A single steady state at time t (seconds), e.g. for sensitivity
// studies; each call reuses the factorisation structure:
//
//	s.SetEmitter(node, 0.5)             // a leak at node
//	err = s.Snapshot(3 * 3600)
//	h := s.Head(sensor)
//
// Resolve re-solves the current time from the present state (a warm
// start after a small change). Stepping by hand mirrors EPANET's
// ENrunH/ENnextH: Init, then SolveStep and NextStep until it returns 0.
//
// Changes at run time, in file units, without re-reading the file:
// SetJunctionDemand, SetDemandMultiplier, SetPipeRoughness, SetEmitter,
// SetPipeLeakage, SetLinkStatus, SetLinkSetting, SetDuration.
//
// Results of the current solution: Head, Pressure, Flow, NodeResult (head,
// pressure, demand, delivered and required demand, emitter and leakage
// flows), LinkResult (flow, velocity, head loss, status, setting,
// leakage), NodeResults/LinkResults for all at once, Stats (trials,
// convergence), Warnings (EPANET's warning texts) and Disconnected (nodes
// cut off from every source, whose heads are undefined and should be
// ignored).
//
// A Solver is not safe for concurrent use; make one per goroutine (they
// may share the Network, which the solver only reads).
//
// # Fidelity
//
// The solver reproduces EPANET's arithmetic, not just its equations: the
// node ordering is the one EPANET's multiple minimum degree routine
// produces, the Cholesky factorisation sums in the same order, and every
// coefficient is rounded as EPANET rounds it, so the first GGA trials are
// bit-identical to EPANET 2.3.5's. The one remaining source of difference
// is the C library's pow (glibc's is not always correctly rounded; ours
// is): a one-ulp difference in a head loss gradient. Well-conditioned
// networks then agree to ~1e-6 m over whole runs, with the same trials and
// step times. In ill-conditioned ones (zones cut off by closed links,
// pumps at shutoff, tank-driven control cascades such as Net6 or D-Town)
// GGA trials amplify that ulp up to EPANET's own noise floor, i.e. the
// spread between EPANET runs at different ACCURACY settings; a tank
// filling time that EPANET rounds to the second can then move by one
// second. Nodes without a path from a source have no defined head
// (see Disconnected).
package network
