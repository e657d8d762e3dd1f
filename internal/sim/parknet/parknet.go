// Package parknet simulates the demo park's supply network over time: an
// extended period simulation with package network's solver whose junction
// demands follow the network file's patterns with noise, and leaks opened
// as emitters. The simulator drives it to produce the park utility's
// readings; the leak monitor's tests drive it to have a network to watch.
// It imports only package network, so that tests below the simulator can
// use it.
package parknet

import (
	_ "embed"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/shuixiao/shuixiao/network"
)

// parkINP is the demo park's supply network: an original design for the
// simulator (municipal connection, booster pump station, elevated tank,
// three district metered areas, 62 junctions), not a copy of any real or
// benchmark network.
//
//go:embed data/park.inp
var parkINP []byte

// INP returns the .inp text of the demo park network.
func INP() []byte { return slices.Clone(parkINP) }

// The demo park network's demand noise. Engineering assumptions for a
// plausible simulation, not numbers from a standard.
const (
	// demandNoise is the relative noise of each junction's demand, an
	// AR(1) process with demandMemory per 5-minute step.
	demandNoise  = 0.03
	demandMemory = 0.9
	// dayNoise is the relative spread of a whole day's demand.
	dayNoise = 0.04
)

// Model simulates the demo park network over time with package
// network's solver: an extended period simulation whose junction demands
// follow the file's patterns with noise, and leaks opened as emitters. It
// is pure: time comes in as network seconds, randomness from the seed.
type Model struct {
	net    *network.Network
	solver *network.Solver
	rng    *rand.Rand
	// start is the network time at solver time 0.
	start   int64
	base    []float64 // base demand of each junction
	ar      []float64 // AR(1) noise state of each junction
	day     int64
	dayMult float64
	leaks   map[int]float64 // junction → emitter coefficient
}

// New starts the park network's simulation at network time start
// (seconds; see netmon.Clock), with the tank at its initial level.
func New(seed int64, start int64) (*Model, error) {
	net, err := network.ParseBytes(parkINP)
	if err != nil {
		return nil, fmt.Errorf("park network: %w", err)
	}
	// Solver time 0 is network time start: shift the patterns so that they
	// follow the time of day.
	net.Times.PatternStart = start % 86400
	s, err := network.NewSolver(net)
	if err != nil {
		return nil, fmt.Errorf("park network: %w", err)
	}
	if err := s.SetDuration(1 << 40); err != nil {
		return nil, err
	}
	s.Init()
	m := &Model{net: net, solver: s, rng: rand.New(rand.NewPCG(uint64(seed), 0x9a7c)), start: start,
		day: -1, leaks: map[int]float64{}}
	for i := range net.Junctions {
		b := 0.0
		if d := net.Nodes[i].Demands; len(d) > 0 {
			b = d[0].Base
		}
		m.base = append(m.base, b)
		m.ar = append(m.ar, 0)
	}
	return m, nil
}

// Network returns the model's network (read-only).
func (m *Model) Network() *network.Network { return m.net }

// Time returns the network time of the current solution.
func (m *Model) Time() int64 { return m.start + m.solver.Time() }

// Advance moves the simulation to network time t (not before the current
// time) and solves it, with fresh demand noise.
func (m *Model) Advance(t int64) error {
	target := t - m.start
	if target < m.solver.Time() {
		return fmt.Errorf("park network: time %d is before %d", t, m.Time())
	}
	if d := t / 86400; d != m.day {
		m.day, m.dayMult = d, 1+dayNoise*m.rng.NormFloat64()
	}
	innovation := math.Sqrt(1 - demandMemory*demandMemory)
	for i, b := range m.base {
		if b == 0 {
			continue
		}
		m.ar[i] = demandMemory*m.ar[i] + innovation*m.rng.NormFloat64()
		if err := m.solver.SetJunctionDemand(i, 0, b*m.dayMult*max(1+demandNoise*m.ar[i], 0)); err != nil {
			return err
		}
	}
	for m.solver.Time() < target {
		if err := m.solver.SolveStep(); err != nil {
			return fmt.Errorf("park network at %d: %w", m.Time(), err)
		}
		if m.solver.NextStep() == 0 {
			return fmt.Errorf("park network: simulation ended at %d", m.Time())
		}
	}
	if err := m.solver.SolveStep(); err != nil {
		return fmt.Errorf("park network at %d: %w", m.Time(), err)
	}
	return nil
}

// Pressure returns a node's pressure (m; for a tank its water level).
func (m *Model) Pressure(node string) (float64, error) {
	i, ok := m.net.NodeIndex(node)
	if !ok {
		return 0, fmt.Errorf("park network: no node %s", node)
	}
	return m.solver.Pressure(i), nil
}

// Flow returns a link's flow (m³/h).
func (m *Model) Flow(link string) (float64, error) {
	k, ok := m.net.LinkIndex(link)
	if !ok {
		return 0, fmt.Errorf("park network: no link %s", link)
	}
	return m.solver.Flow(k), nil
}

// Demand returns the consumers' demand delivered at a junction (m³/h),
// leaks excluded.
func (m *Model) Demand(node string) (float64, error) {
	i, ok := m.net.NodeIndex(node)
	if !ok {
		return 0, fmt.Errorf("park network: no node %s", node)
	}
	return m.solver.NodeResult(i).DemandFlow, nil
}

// OpenLeak opens a leak at a junction sized to about flowM3H at its present
// pressure (an emitter: q = C·√p, the orifice law of BattLeDIM and WNTR)
// and returns the emitter coefficient.
func (m *Model) OpenLeak(node string, flowM3H float64) (float64, error) {
	i, ok := m.net.NodeIndex(node)
	if !ok || i >= m.net.Junctions {
		return 0, fmt.Errorf("park network: %s is not a junction", node)
	}
	p := m.solver.Pressure(i)
	if !(p > 1) {
		return 0, fmt.Errorf("park network: junction %s has %.1f m of pressure; no leak can flow", node, p)
	}
	c := flowM3H / math.Sqrt(p)
	if err := m.solver.SetEmitter(i, c); err != nil {
		return 0, err
	}
	m.leaks[i] = c
	return c, nil
}

// CloseLeak closes the leak at a junction (the pipe was repaired).
func (m *Model) CloseLeak(node string) error {
	i, ok := m.net.NodeIndex(node)
	if !ok {
		return fmt.Errorf("park network: no node %s", node)
	}
	delete(m.leaks, i)
	return m.solver.SetEmitter(i, 0)
}

// LeakFlow returns the outflow of the leak at a junction (m³/h).
func (m *Model) LeakFlow(node string) float64 {
	if i, ok := m.net.NodeIndex(node); ok {
		return m.solver.NodeResult(i).Emitter
	}
	return 0
}
