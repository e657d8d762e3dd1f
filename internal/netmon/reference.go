package netmon

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/shuixiao/shuixiao/leak"
	"github.com/shuixiao/shuixiao/network"
)

// ReferenceModel is a network's hydraulic model put in the measured state
// of one time step: tank levels from the level sensors, pumps on or off as
// their flow sensors say, no controls (the measurements already say what
// they did), and the demands of the file's patterns scaled by one factor so
// that the modelled inflow from the sources equals the measured inflow
// (demand calibration on the source meters). It answers what the sensors
// would read at that step without a leak.
//
// The detector is fed the difference between measured and modelled
// pressures rather than the raw pressures: the solver carries the large,
// non-linear part of the pressure variation (pumps switching, tanks
// filling, the daily demand pattern) and the detector's regression only
// the small model error left. Because the model's demand follows the
// measured inflow, a leak shows in these residuals as the difference
// between a concentrated outflow at the leak and the same flow spread over
// the demands, which is what LeakSignatures computes.
type ReferenceModel struct {
	net     *network.Network // private copy: controls and rules removed
	sensors []leak.Sensor
	node    []int // network index of each sensor's node or link
	// sources are the flow sensors on links joined to a reservoir, with
	// the sign that turns their reading into an inflow.
	sources []sourceMeter
	// LeakFlow is the size (m³/h) of the trial leaks of LeakSignatures.
	LeakFlow float64
	// Candidates restricts the candidate leak nodes (nil: every junction
	// with a pipe).
	Candidates []string
}

type sourceMeter struct {
	sensor, link int
	sign         float64
}

// baseDemandTolerance is the relative inflow mismatch at which demand
// calibration stops; sensors read to about 0.5 %.
const baseDemandTolerance = 1e-4

// NewReferenceModel prepares the reference model of net (CMH flow units,
// metres) for the given sensors, which must name its nodes and links.
func NewReferenceModel(net *network.Network, sensors []leak.Sensor) (*ReferenceModel, error) {
	if net.Options.FlowUnits != network.CMH {
		return nil, fmt.Errorf("reference model: flow units %s, want CMH", net.Options.FlowUnits)
	}
	cp := *net
	cp.Nodes = slices.Clone(net.Nodes)
	cp.Links = slices.Clone(net.Links)
	cp.Controls, cp.Rules = nil, nil
	m := &ReferenceModel{net: &cp, sensors: slices.Clone(sensors), LeakFlow: 10}
	for k, s := range sensors {
		switch s.Kind {
		case leak.Pressure, leak.Level:
			i, ok := cp.NodeIndex(s.ID)
			if !ok {
				return nil, fmt.Errorf("reference model: sensor %s: no node %q", s.Column(), s.ID)
			}
			if s.Kind == leak.Level && cp.Nodes[i].Kind != network.Tank {
				return nil, fmt.Errorf("reference model: level sensor %s is not on a tank", s.ID)
			}
			m.node = append(m.node, i)
		case leak.Flow:
			i, ok := cp.LinkIndex(s.ID)
			if !ok {
				return nil, fmt.Errorf("reference model: sensor %s: no link %q", s.Column(), s.ID)
			}
			m.node = append(m.node, i)
			l := cp.Links[i]
			switch {
			case cp.Nodes[l.From].Kind == network.Reservoir:
				m.sources = append(m.sources, sourceMeter{sensor: k, link: i, sign: 1})
			case cp.Nodes[l.To].Kind == network.Reservoir:
				m.sources = append(m.sources, sourceMeter{sensor: k, link: i, sign: -1})
			}
		default:
			return nil, fmt.Errorf("reference model: sensor %d has unknown kind %d", k, s.Kind)
		}
	}
	return m, nil
}

// Network returns the model's network (controls removed).
func (m *ReferenceModel) Network() *network.Network { return m.net }

// HasDemandCalibration reports whether some flow sensor measures a source
// inflow, so that Solve scales the demands to it.
func (m *ReferenceModel) HasDemandCalibration() bool { return len(m.sources) > 0 }

// operatingPoint sets tanks and pumps of the model copy to the readings
// and returns a fresh solver for it.
func (m *ReferenceModel) operatingPoint(readings []float64) (*network.Solver, error) {
	if len(readings) != len(m.sensors) {
		return nil, fmt.Errorf("%d readings for %d sensors", len(readings), len(m.sensors))
	}
	for k, s := range m.sensors {
		v := readings[k]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("sensor %s: reading %v", s.Column(), v)
		}
		switch s.Kind {
		case leak.Level:
			nd := &m.net.Nodes[m.node[k]]
			nd.InitLevel = min(max(v, nd.MinLevel), nd.MaxLevel)
		case leak.Flow:
			if l := &m.net.Links[m.node[k]]; l.Kind == network.Pump {
				l.InitStatus = network.Closed
				if v > pumpOnFlow {
					l.InitStatus = network.Open
				}
			}
		}
	}
	return network.NewSolver(m.net)
}

// pumpOnFlow (m³/h) separates a running pump from a stopped one whose meter
// reads noise around zero.
const pumpOnFlow = 0.5

// Solve returns a solver holding the reference state at network time t
// (seconds; the patterns repeat) for one step of readings, and the demand
// multiplier that made the modelled source inflow match the measured one.
func (m *ReferenceModel) Solve(t int64, readings []float64) (*network.Solver, float64, error) {
	s, err := m.operatingPoint(readings)
	if err != nil {
		return nil, 0, fmt.Errorf("reference model: %w", err)
	}
	mult, err := m.calibrate(s, t, readings)
	if err != nil {
		return nil, 0, err
	}
	return s, mult, nil
}

// calibrate scales the demands until the modelled source inflow equals
// the measured inflow. The inflow grows about in proportion to the
// multiplier, so a few proportional steps do.
func (m *ReferenceModel) calibrate(s *network.Solver, t int64, readings []float64) (float64, error) {
	mult := m.net.Options.DemandMultiplier
	if mult <= 0 {
		mult = 1
	}
	if err := s.SetDemandMultiplier(mult); err != nil {
		return 0, err
	}
	if err := s.Snapshot(t); err != nil {
		return 0, fmt.Errorf("reference model at t=%d: %w", t, err)
	}
	if len(m.sources) == 0 {
		return mult, nil
	}
	want := 0.0
	for _, src := range m.sources {
		want += src.sign * readings[src.sensor]
	}
	for range 6 {
		got := 0.0
		for _, src := range m.sources {
			got += src.sign * s.Flow(src.link)
		}
		if want <= 0 || got <= 0 {
			return 0, fmt.Errorf("reference model at t=%d: measured inflow %.3g m³/h leaves no demand to scale", t, want)
		}
		if math.Abs(got-want) <= baseDemandTolerance*math.Abs(want) {
			break
		}
		mult *= want / got
		if !(mult > 0) || mult > 100 {
			return 0, fmt.Errorf("reference model at t=%d: demand multiplier %.3g to match the measured inflow %.3g m³/h is implausible", t, mult, want)
		}
		if err := s.SetDemandMultiplier(mult); err != nil {
			return 0, err
		}
		if err := s.Snapshot(t); err != nil {
			return 0, fmt.Errorf("reference model at t=%d: %w", t, err)
		}
	}
	return mult, nil
}

// measure reads what the sensors would show in a solved state.
func (m *ReferenceModel) measure(s *network.Solver, dst []float64) {
	for k, sen := range m.sensors {
		switch sen.Kind {
		case leak.Pressure, leak.Level:
			dst[k] = s.Pressure(m.node[k])
		case leak.Flow:
			dst[k] = s.Flow(m.node[k])
		}
	}
}

// Residuals writes into dst the readings with every pressure replaced by
// measured minus modelled pressure (m); flows and levels are copied.
func (m *ReferenceModel) Residuals(t int64, readings, dst []float64) error {
	s, _, err := m.Solve(t, readings)
	if err != nil {
		return err
	}
	m.measure(s, dst)
	for k, sen := range m.sensors {
		if sen.Kind == leak.Pressure {
			dst[k] = readings[k] - dst[k]
		} else {
			dst[k] = readings[k]
		}
	}
	return nil
}

// LeakSignatures implements leak.SignatureModel for detectors fed with
// Residuals: the change of every sensor column caused by a 1 m³/h leak at
// each candidate node while the measured inflow stays what it is (the
// demand calibration then spreads less demand over the junctions).
func (m *ReferenceModel) LeakSignatures(t int64, sensors []leak.Sensor, readings []float64) (*leak.Signatures, error) {
	if !slices.Equal(sensors, m.sensors) {
		return nil, errors.New("reference model: signatures asked for other sensors")
	}
	base, _, err := m.Solve(t, readings)
	if err != nil {
		return nil, err
	}
	baseVals := make([]float64, len(sensors))
	m.measure(base, baseVals)
	pressure := make([]float64, len(m.net.Nodes))
	for i := range pressure {
		pressure[i] = base.Pressure(i)
	}
	candidates, err := m.candidates()
	if err != nil {
		return nil, err
	}
	trial, err := m.operatingPoint(readings)
	if err != nil {
		return nil, fmt.Errorf("reference model: %w", err)
	}
	sig := &leak.Signatures{}
	vals := make([]float64, len(sensors))
	for _, j := range candidates {
		if pressure[j] <= 1 {
			continue // no leak of any size can flow here
		}
		if err := trial.SetEmitter(j, m.LeakFlow/math.Sqrt(pressure[j])); err != nil {
			return nil, err
		}
		if _, err := m.calibrate(trial, t, readings); err != nil {
			return nil, fmt.Errorf("reference model: leak at %s: %w", m.net.Nodes[j].ID, err)
		}
		q := trial.NodeResult(j).Emitter
		if err := trial.SetEmitter(j, 0); err != nil {
			return nil, err
		}
		if !(q > 0) {
			continue
		}
		m.measure(trial, vals)
		delta := make([]float64, len(sensors))
		for k := range delta {
			delta[k] = (vals[k] - baseVals[k]) / q
		}
		sig.Nodes = append(sig.Nodes, m.net.Nodes[j].ID)
		sig.Delta = append(sig.Delta, delta)
	}
	if len(sig.Nodes) == 0 {
		return nil, errors.New("reference model: no candidate node can leak")
	}
	return sig, nil
}

func (m *ReferenceModel) candidates() ([]int, error) {
	if m.Candidates == nil {
		out := make([]int, 0, m.net.Junctions)
		for i := range m.net.Junctions {
			out = append(out, i)
		}
		return out, nil
	}
	out := make([]int, 0, len(m.Candidates))
	for _, id := range m.Candidates {
		j, ok := m.net.NodeIndex(id)
		if !ok || j >= m.net.Junctions {
			return nil, fmt.Errorf("reference model: candidate %s is not a junction", id)
		}
		out = append(out, j)
	}
	return out, nil
}
