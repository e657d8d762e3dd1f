package leak

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/shuixiao/shuixiao/network"
)

// HydraulicModel computes leak signatures with package network's EPANET
// solver: a snapshot of the public model at the alarm's time, with the
// tank levels set to the measured ones and every pump on or off as its
// measured flow says, solved once without and once per candidate node
// with an emitter at that node (the orifice leak model of BattLeDIM and
// WNTR). It satisfies SignatureModel.
type HydraulicModel struct {
	net *network.Network
	// LeakFlow is the size (m³/h) of the trial leaks; signatures are
	// divided by the outflow each one actually had.
	LeakFlow float64
	// Candidates restricts the candidate nodes (nil: every junction).
	Candidates []string
}

// NewHydraulicModel returns a signature model for net, which must use CMH
// flow units and metres (the units of the SCADA columns).
func NewHydraulicModel(net *network.Network) (*HydraulicModel, error) {
	if net.Options.FlowUnits != network.CMH {
		return nil, fmt.Errorf("leak model: flow units %s, want CMH", net.Options.FlowUnits)
	}
	return &HydraulicModel{net: net, LeakFlow: 10}, nil
}

// NetworkGraph returns the pipe graph of a network read by package
// network (lengths in the file's units: metres for SI files).
func NetworkGraph(net *network.Network) (*PipeGraph, error) {
	links := make([]GraphLink, len(net.Links))
	for k, l := range net.Links {
		links[k] = GraphLink{ID: l.ID, From: net.Nodes[l.From].ID, To: net.Nodes[l.To].ID,
			Length: l.Length, IsPipe: l.Kind.IsPipe()}
	}
	return NewPipeGraph(links)
}

// operatingPoint returns a copy of the network set to the measured state:
// tank levels from level sensors, pumps open or closed from their flow
// sensors, and no controls or rules (the measured state already says what
// they did).
func (m *HydraulicModel) operatingPoint(sensors []Sensor, readings []float64) (*network.Network, error) {
	net := *m.net
	net.Nodes = slices.Clone(m.net.Nodes)
	net.Links = slices.Clone(m.net.Links)
	net.Controls, net.Rules = nil, nil
	for k, s := range sensors {
		switch s.Kind {
		case Level:
			i, ok := net.NodeIndex(s.ID)
			if !ok || net.Nodes[i].Kind != network.Tank {
				return nil, fmt.Errorf("level sensor %s is not on a tank", s.ID)
			}
			nd := &net.Nodes[i]
			nd.InitLevel = min(max(readings[k], nd.MinLevel), nd.MaxLevel)
		case Flow:
			i, ok := net.LinkIndex(s.ID)
			if !ok {
				return nil, fmt.Errorf("flow sensor %s is not a link", s.ID)
			}
			if l := &net.Links[i]; l.Kind == network.Pump {
				l.InitStatus = network.Closed
				if readings[k] > 0 {
					l.InitStatus = network.Open
				}
			}
		}
	}
	return &net, nil
}

// measure reads the sensor values of a solved snapshot.
func measure(s *network.Solver, sensors []Sensor, dst []float64) error {
	net := s.Network()
	for k, sen := range sensors {
		switch sen.Kind {
		case Pressure, Level:
			i, ok := net.NodeIndex(sen.ID)
			if !ok {
				return fmt.Errorf("sensor %s: no such node", sen.Column())
			}
			dst[k] = s.Pressure(i)
		case Flow:
			i, ok := net.LinkIndex(sen.ID)
			if !ok {
				return fmt.Errorf("sensor %s: no such link", sen.Column())
			}
			dst[k] = s.Flow(i)
		}
	}
	return nil
}

// LeakSignatures implements SignatureModel.
func (m *HydraulicModel) LeakSignatures(t int64, sensors []Sensor, readings []float64) (*Signatures, error) {
	net, err := m.operatingPoint(sensors, readings)
	if err != nil {
		return nil, fmt.Errorf("leak model: %w", err)
	}
	solver, err := network.NewSolver(net)
	if err != nil {
		return nil, fmt.Errorf("leak model: %w", err)
	}
	if err := solver.Snapshot(t); err != nil {
		return nil, fmt.Errorf("leak model snapshot at t=%d: %w", t, err)
	}
	base := make([]float64, len(sensors))
	if err := measure(solver, sensors, base); err != nil {
		return nil, err
	}
	candidates := m.Candidates
	if candidates == nil {
		for _, nd := range net.Nodes[:net.Junctions] {
			candidates = append(candidates, nd.ID)
		}
	}
	pressure := make([]float64, len(net.Nodes))
	for i := range net.Nodes {
		pressure[i] = solver.Pressure(i)
	}
	sig := &Signatures{}
	for _, id := range candidates {
		j, ok := net.NodeIndex(id)
		if !ok || j >= net.Junctions {
			return nil, fmt.Errorf("leak model: candidate %s is not a junction", id)
		}
		if pressure[j] <= 1 {
			continue // no leak of any size can flow here
		}
		trial := *net
		trial.Nodes = slices.Clone(net.Nodes)
		// Emitter coefficient for about LeakFlow at the present pressure.
		trial.Nodes[j].Emitter = m.LeakFlow / math.Sqrt(pressure[j])
		ts, err := network.NewSolver(&trial)
		if err != nil {
			return nil, fmt.Errorf("leak model: %w", err)
		}
		if err := ts.Snapshot(t); err != nil {
			return nil, fmt.Errorf("leak model snapshot with a leak at %s: %w", id, err)
		}
		q := ts.NodeResult(j).Emitter
		if !(q > 0) {
			continue
		}
		delta := make([]float64, len(sensors))
		if err := measure(ts, sensors, delta); err != nil {
			return nil, err
		}
		for k := range delta {
			delta[k] = (delta[k] - base[k]) / q
		}
		sig.Nodes = append(sig.Nodes, id)
		sig.Delta = append(sig.Delta, delta)
	}
	if len(sig.Nodes) == 0 {
		return nil, errors.New("leak model: no candidate node can leak")
	}
	return sig, nil
}
