package netmon

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/leak"
	"github.com/shuixiao/shuixiao/network"
	"github.com/shuixiao/shuixiao/reading"
)

// Config is how a registered network is monitored: which metering point
// measures what in the model, its district metered areas and the
// detector's settings. It is stored as JSON beside the network's .inp.
type Config struct {
	// Sensors are the detector's inputs: pressures at nodes, flows in
	// links (source inflows, pumps) and tank levels.
	Sensors []Sensor `json:"sensors"`
	// Zones are the district metered areas (DMAs) for the zone balance.
	Zones     []Zone    `json:"zones,omitempty"`
	Detection Detection `json:"detection"`
	Clock     Clock     `json:"clock"`
}

// Sensor kinds as they are written in a configuration.
const (
	KindPressure = "pressure"
	KindFlow     = "flow"
	KindLevel    = "level"
)

// Sensor maps one channel of a metering point to a node or link.
type Sensor struct {
	// Kind is pressure (at a node, channel pressure_mpa, converted to m of
	// head), flow (in a link, flow_m3h, positive in the link's direction)
	// or level (of a tank, level_m).
	Kind    string `json:"kind"`
	Element string `json:"element"`
	Point   string `json:"point"`
	// Channel overrides the kind's standard channel.
	Channel string `json:"channel,omitempty"`
}

// Zone is a district metered area: the meters on its boundary and the
// customers' meters inside.
type Zone struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	NameEN string `json:"name_en,omitempty"`
	// Tag selects the zone's junctions by their [TAGS] tag (for the map).
	Tag string `json:"tag,omitempty"`
	// Inflows are the boundary meters; their flows add up to the zone's
	// inflow.
	Inflows []ZoneMeter `json:"inflows"`
	// Consumers are the metering points of the zone's customers; their
	// flows add up to the metered consumption.
	Consumers []string `json:"consumers,omitempty"`
}

// ZoneMeter is a flow meter on a zone's boundary.
type ZoneMeter struct {
	Point string `json:"point"`
	// Link is the pipe the meter sits on (for the map), optional.
	Link string `json:"link,omitempty"`
	// Sign is +1 (default) when the meter's positive flow enters the zone,
	// -1 when it leaves.
	Sign float64 `json:"sign,omitempty"`
}

// Detection tunes the streaming detector.
type Detection struct {
	// StepS is the detector's time step in network seconds (default 300).
	StepS int64 `json:"step_s,omitempty"`
	// CalibrationDays of leak-free data (network time) are learnt before
	// the detector watches (default 7, at least 0.5).
	CalibrationDays float64 `json:"calibration_days,omitempty"`
	// FalseAlarmsPerYear is the design false alarm rate (default 1).
	FalseAlarmsPerYear float64 `json:"false_alarms_per_year,omitempty"`
	// CalibrationMargin raises the alarm limits to at least this multiple
	// of the largest statistic seen during calibration (default: package
	// leak's). A short calibration sees few demand situations and wants a
	// larger margin.
	CalibrationMargin float64 `json:"calibration_margin,omitempty"`
	// HoldSteps is how many steps a sensor's last value may stand in for
	// a missing one (default 2); a step with a sensor silent for longer is
	// skipped.
	HoldSteps int `json:"hold_steps,omitempty"`
	// Candidates is the number of ranked candidate pipes (default 10).
	Candidates int `json:"candidates,omitempty"`
}

// Clock relates network time, which the model's demand patterns follow,
// to the time stamps of the readings. A real network runs at Speed 1; a
// simulated one may run its days faster.
type Clock struct {
	// Speed is how many network seconds pass per second (default 1).
	Speed float64 `json:"speed,omitempty"`
	// Epoch is the instant at which network time equals real time (only
	// meaningful when Speed ≠ 1).
	Epoch time.Time `json:"epoch,omitzero"`
}

// ParseConfig decodes a configuration, refusing unknown fields, and fills
// in the defaults.
func ParseConfig(raw []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("network configuration: %w", err)
	}
	return c.WithDefaults(), nil
}

// WithDefaults returns a copy of c with the defaults filled in.
func (c Config) WithDefaults() Config {
	c.Sensors = slices.Clone(c.Sensors)
	c.Zones = slices.Clone(c.Zones)
	for i := range c.Zones {
		c.Zones[i].Inflows = slices.Clone(c.Zones[i].Inflows)
	}
	c.fill()
	return c
}

func (c *Config) fill() {
	d := &c.Detection
	if d.StepS == 0 {
		d.StepS = 300
	}
	if d.CalibrationDays == 0 {
		d.CalibrationDays = 7
	}
	if d.FalseAlarmsPerYear == 0 {
		d.FalseAlarmsPerYear = 1
	}
	if d.HoldSteps == 0 {
		d.HoldSteps = 2
	}
	if d.Candidates == 0 {
		d.Candidates = 10
	}
	if c.Clock.Speed == 0 {
		c.Clock.Speed = 1
	}
	for i := range c.Sensors {
		if c.Sensors[i].Channel == "" {
			c.Sensors[i].Channel = standardChannel[c.Sensors[i].Kind]
		}
	}
	for i := range c.Zones {
		for j := range c.Zones[i].Inflows {
			if c.Zones[i].Inflows[j].Sign == 0 {
				c.Zones[i].Inflows[j].Sign = 1
			}
		}
	}
}

// standardChannel is the channel each sensor kind reads by default.
var standardChannel = map[string]string{KindPressure: "pressure_mpa", KindFlow: "flow_m3h", KindLevel: "level_m"}

// ZoneChannel is the channel zone meters and consumers are read on.
const ZoneChannel = "flow_m3h"

// Validate checks the configuration (with its defaults filled in, see
// WithDefaults) against the network's model: sensors
// on known nodes, links and tanks, at least two pressure sensors and one
// flow sensor, zones with inflow meters, sane detector settings. It does not
// look up the metering points; the caller checks them against the registry.
func (c Config) Validate(net *network.Network) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if net.Options.FlowUnits != network.CMH {
		bad("the model's flow units are %s; monitoring needs CMH (m³/h) and metres", net.Options.FlowUnits)
	}
	counts := map[string]int{}
	seen := map[string]bool{}
	for i, s := range c.Sensors {
		where := fmt.Sprintf("sensor %d (%s %s)", i+1, s.Kind, s.Element)
		if err := reading.ValidID(s.Point); err != nil {
			bad("%s: point: %v", where, err)
		}
		if !reading.ValidChannel(s.Channel) {
			bad("%s: channel %q", where, s.Channel)
		}
		key := s.Point + "/" + s.Channel
		if seen[key] {
			bad("%s: point %s channel %s is mapped twice", where, s.Point, s.Channel)
		}
		seen[key] = true
		counts[s.Kind]++
		switch s.Kind {
		case KindPressure, KindLevel:
			i, ok := net.NodeIndex(s.Element)
			switch {
			case !ok:
				bad("%s: the model has no node %q", where, s.Element)
			case s.Kind == KindLevel && net.Nodes[i].Kind != network.Tank:
				bad("%s: node %s is not a tank", where, s.Element)
			case s.Kind == KindPressure && net.Nodes[i].Kind != network.Junction:
				bad("%s: node %s is not a junction", where, s.Element)
			}
		case KindFlow:
			if _, ok := net.LinkIndex(s.Element); !ok {
				bad("%s: the model has no link %q", where, s.Element)
			}
		default:
			bad("%s: kind must be pressure, flow or level", where)
		}
	}
	if counts[KindPressure] < 2 || counts[KindFlow] < 1 {
		bad("the detector needs at least two pressure sensors and one flow sensor (have %d and %d)", counts[KindPressure], counts[KindFlow])
	}
	zoneIDs := map[string]bool{}
	for i, z := range c.Zones {
		where := fmt.Sprintf("zone %d (%s)", i+1, z.ID)
		if err := reading.ValidID(z.ID); err != nil {
			bad("%s: %v", where, err)
		}
		if zoneIDs[z.ID] {
			bad("%s: duplicate zone ID", where)
		}
		zoneIDs[z.ID] = true
		if z.Name == "" {
			bad("%s: no name", where)
		}
		if len(z.Inflows) == 0 {
			bad("%s: no inflow meter", where)
		}
		for _, m := range z.Inflows {
			if err := reading.ValidID(m.Point); err != nil {
				bad("%s: inflow point: %v", where, err)
			}
			if m.Sign != 1 && m.Sign != -1 {
				bad("%s: inflow %s: sign must be 1 or -1", where, m.Point)
			}
			if _, ok := net.LinkIndex(m.Link); m.Link != "" && !ok {
				bad("%s: inflow %s: the model has no link %q", where, m.Point, m.Link)
			}
		}
		for _, p := range z.Consumers {
			if err := reading.ValidID(p); err != nil {
				bad("%s: consumer: %v", where, err)
			}
		}
	}
	d := c.Detection
	if d.StepS < 60 || d.StepS > 3600 {
		bad("detection step %d s: want 60-3600", d.StepS)
	}
	if !(d.CalibrationDays >= 0.5 && d.CalibrationDays <= 60) {
		bad("calibration of %v days: want 0.5-60", d.CalibrationDays)
	}
	if !(d.FalseAlarmsPerYear > 0 && d.FalseAlarmsPerYear <= 365) {
		bad("false alarm rate %v per year: want (0, 365]", d.FalseAlarmsPerYear)
	}
	if d.CalibrationMargin < 0 || d.CalibrationMargin > 10 || math.IsNaN(d.CalibrationMargin) {
		bad("calibration margin %v: want 0-10", d.CalibrationMargin)
	}
	if d.HoldSteps < 0 || d.HoldSteps > 12 {
		bad("hold of %d steps: want 0-12", d.HoldSteps)
	}
	if d.Candidates < 1 || d.Candidates > 50 {
		bad("%d candidates: want 1-50", d.Candidates)
	}
	if !(c.Clock.Speed >= 1 && c.Clock.Speed <= 1e5) || math.IsInf(c.Clock.Speed, 0) {
		bad("clock speed %v: want 1-100000", c.Clock.Speed)
	}
	if c.Clock.Speed != 1 && c.Clock.Epoch.IsZero() {
		bad("a clock faster than real time needs an epoch")
	}
	return errors.Join(errs...)
}

// LeakSensors returns the detector's sensor columns, in the order of
// c.Sensors.
func (c Config) LeakSensors() []leak.Sensor {
	out := make([]leak.Sensor, len(c.Sensors))
	for i, s := range c.Sensors {
		switch s.Kind {
		case KindPressure:
			out[i] = leak.Sensor{Kind: leak.Pressure, ID: s.Element}
		case KindFlow:
			out[i] = leak.Sensor{Kind: leak.Flow, ID: s.Element}
		case KindLevel:
			out[i] = leak.Sensor{Kind: leak.Level, ID: s.Element}
		}
	}
	return out
}

// Points lists every metering point the configuration reads, each once,
// sensors first.
func (c Config) Points() []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, s := range c.Sensors {
		add(s.Point)
	}
	for _, z := range c.Zones {
		for _, m := range z.Inflows {
			add(m.Point)
		}
		for _, p := range z.Consumers {
			add(p)
		}
	}
	return out
}

// ZoneNodes returns, for each zone with a Tag, the junctions that carry it.
func (c Config) ZoneNodes(net *network.Network) map[string][]string {
	out := map[string][]string{}
	for _, z := range c.Zones {
		if z.Tag == "" {
			continue
		}
		for _, nd := range net.Nodes {
			if nd.Tag == z.Tag {
				out[z.ID] = append(out[z.ID], nd.ID)
			}
		}
	}
	return out
}
