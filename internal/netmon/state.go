package netmon

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/network"
)

// State is a network's hydraulic state at one instant, for the map: the
// reference model's heads, pressures and flows, with the measured values
// beside the modelled ones.
type State struct {
	Time time.Time `json:"time"`
	// NetworkTime is the time of day the model's patterns were taken at
	// (hh:mm).
	NetworkTime string `json:"network_time"`
	// Measured is true when every sensor had a reading near Time, so that
	// the model was set to the measured tank levels, pump states and
	// inflow; otherwise it is the file's own state at that time of day.
	Measured         bool          `json:"measured"`
	DemandMultiplier float64       `json:"demand_multiplier"`
	Nodes            []NodeState   `json:"nodes"`
	Links            []LinkState   `json:"links"`
	Sensors          []SensorState `json:"sensors"`
}

// NodeState is a node's modelled state (m, m³/h).
type NodeState struct {
	ID       string  `json:"id"`
	Head     float64 `json:"head"`
	Pressure float64 `json:"pressure"`
	Demand   float64 `json:"demand"`
}

// LinkState is a link's modelled state.
type LinkState struct {
	ID       string  `json:"id"`
	Flow     float64 `json:"flow"`
	Velocity float64 `json:"velocity"`
	Headloss float64 `json:"headloss"`
	Status   string  `json:"status"`
}

// SensorState compares a sensor's reading with the model.
type SensorState struct {
	Kind    string `json:"kind"`
	Element string `json:"element"`
	Point   string `json:"point"`
	Channel string `json:"channel"`
	// Measured is the reading in model units (m, m³/h), nil without a
	// reading near the time; ReadAt when it was taken.
	Measured *float64  `json:"measured"`
	ReadAt   time.Time `json:"read_at,omitzero"`
	Modelled float64   `json:"modelled"`
}

// ReadState computes the state at t of a registered network, given its
// model and configuration as parsed (see internal/netreg). It does not
// modify net.
func ReadState(ctx context.Context, st ReadingStore, net *network.Network, cfg Config, t time.Time) (*State, error) {
	// A reading counts if it lies within the hold time before t or half a
	// step after it.
	step := cfg.Clock.Real(time.Duration(cfg.Detection.StepS) * time.Second)
	before := step * time.Duration(max(cfg.Detection.HoldSteps, 1))
	values := make([]*float64, len(cfg.Sensors))
	readAt := make([]time.Time, len(cfg.Sensors))
	for k, s := range cfg.Sensors {
		ms, err := st.Meters(ctx, store.Filter{Point: s.Point})
		if err != nil {
			return nil, err
		}
		best := time.Duration(math.MaxInt64)
		for _, m := range ms {
			err := st.ScanReadings(ctx, store.ReadingQuery{Meter: m.ID, From: t.Add(-before), To: t.Add(step / 2)}, func(r *store.Reading) error {
				v, ok := r.Value(s.Channel)
				if !ok || r.Flags&untrusted != 0 {
					return nil
				}
				if d := r.Time.Sub(t).Abs(); d < best {
					best, readAt[k] = d, r.Time
					if s.Kind == KindPressure {
						v = HeadMetres(s.Channel, v)
					}
					values[k] = &v
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("readings of %s: %w", m.ID, err)
			}
		}
	}
	return SolveState(net, cfg, t, values, readAt)
}

// SolveState computes the state at t from the sensor values (nil where a
// sensor has no reading; readAt tells when each was read).
func SolveState(net *network.Network, cfg Config, t time.Time, values []*float64, readAt []time.Time) (*State, error) {
	T := cfg.Clock.Seconds(t)
	if T < 0 {
		return nil, fmt.Errorf("network state: %s is before network time began", t.Format(time.RFC3339))
	}
	tod := T % 86400
	out := &State{Time: t, NetworkTime: fmt.Sprintf("%02d:%02d", tod/3600, tod%3600/60), Measured: true, DemandMultiplier: 1}
	row := make([]float64, len(values))
	for k, v := range values {
		if v == nil {
			out.Measured = false
			break
		}
		row[k] = *v
	}
	var s *network.Solver
	var err error
	if out.Measured {
		ref, err := NewReferenceModel(net, cfg.LeakSensors())
		if err != nil {
			return nil, err
		}
		if s, out.DemandMultiplier, err = ref.Solve(T, row); err != nil {
			out.Measured = false
		}
	}
	if !out.Measured {
		// No complete measurement: the file's own state at that time of
		// day (initial tank levels, controls as written).
		if s, err = network.NewSolver(net); err != nil {
			return nil, err
		}
		if err := s.Snapshot(T); err != nil {
			return nil, fmt.Errorf("network state at %s: %w", out.NetworkTime, err)
		}
	}
	for i, nd := range net.Nodes {
		r := s.NodeResult(i)
		out.Nodes = append(out.Nodes, NodeState{ID: nd.ID, Head: r.Head, Pressure: r.Pressure, Demand: r.Demand})
	}
	for k, l := range net.Links {
		r := s.LinkResult(k)
		out.Links = append(out.Links, LinkState{ID: l.ID, Flow: r.Flow, Velocity: r.Velocity, Headloss: r.Headloss, Status: r.Status.String()})
	}
	for k, sen := range cfg.Sensors {
		ss := SensorState{Kind: sen.Kind, Element: sen.Element, Point: sen.Point, Channel: sen.Channel, Measured: values[k], ReadAt: readAt[k]}
		switch sen.Kind {
		case KindFlow:
			if i, ok := net.LinkIndex(sen.Element); ok {
				ss.Modelled = s.Flow(i)
			}
		default:
			if i, ok := net.NodeIndex(sen.Element); ok {
				ss.Modelled = s.Pressure(i)
			}
		}
		out.Sensors = append(out.Sensors, ss)
	}
	return out, nil
}
