package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/shuixiao/shuixiao/internal/netmon"
	"github.com/shuixiao/shuixiao/internal/sim/parknet"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/network"
)

// The demo park network's instruments. Engineering assumptions for a
// plausible simulation, not numbers from a standard.
const (
	// Sensor noise: pressure (m of head, σ as BattLeDIM's σ = 0.02 m
	// scenario), flow (relative), tank level (m).
	parkPressureNoise = 0.02
	parkFlowNoise     = 0.005
	parkLevelNoise    = 0.005
	// parkCustomerMin is the base demand (m³/h) from which a junction's
	// consumers are metered by the utility; smaller ones are not.
	parkCustomerMin = 3.5
)

// parkPoint is one metering point of the park's water utility and what it
// measures in the model.
type parkPoint struct {
	Tag, Name, NameEN string
	Level             meter.Level
	Stage             meter.Stage
	Source            meter.Source
	ParentTag         string
	Channels          []string
	// FlowLink is the link whose flow the point meters; Customer the
	// junction whose consumers' demand it meters; PressureNode the node
	// whose pressure it reads; LevelTank the tank whose level it reads.
	FlowLink, Customer, PressureNode, LevelTank string
	// Detector: the pressure, flow and level channels feed the leak
	// detector (the boundary meters of the zones do not: they carry the
	// leak's own flow).
	Detector bool
}

// parkPressureLoggers are the junctions with a pressure logger: spread over
// the zones, at their far ends, where a leak's pressure drop is largest.
var parkPressureLoggers = []string{"A04", "A13", "A16", "B02", "B05", "B09", "B17", "C03", "C08", "C16", "C18"}

// parkZoneMeters are the zones' boundary meters (tag, link, sign).
var parkZones = []struct {
	ID, Tag, Name, NameEN, ParentTag string
	Inflows                          []string // point tags
}{
	{"A", "ZoneA", "A区（西区）", "Zone A (west)", "DMA-A", []string{"DMA-A"}},
	{"B", "ZoneB", "B区（北部高地）", "Zone B (north hill)", "PS1", []string{"PS1", "TK1"}},
	{"C", "ZoneC", "C区（南区）", "Zone C (south)", "DMA-C1", []string{"DMA-C1", "DMA-C2"}},
}

// parkPoints lists the utility's metering points for the park network.
func parkPoints(net *network.Network) []parkPoint {
	vol := []string{"total_m3", "flow_m3h"}
	pts := []parkPoint{
		{Tag: "NET-IN", Name: "园区总进水表", NameEN: "Park inflow meter", Level: meter.Level1, Stage: meter.StageIntake, Source: meter.SourceMunicipal,
			Channels: []string{"total_m3", "flow_m3h", "pressure_mpa"}, FlowLink: "P-IN", PressureNode: "T01", Detector: true},
		{Tag: "PS1", Name: "加压泵站出水", NameEN: "Booster station outlet", Level: meter.Level2, Stage: meter.StageSupply, ParentTag: "NET-IN",
			Channels: []string{"total_m3", "flow_m3h", "pressure_mpa"}, FlowLink: "PU1", PressureNode: "PS-D", Detector: true},
		{Tag: "TK1", Name: "高位水塔", NameEN: "Elevated tank", Level: meter.Level3, Stage: meter.StageSupply, ParentTag: "PS1",
			Channels: []string{"level_m", "flow_m3h"}, LevelTank: "TK1", FlowLink: "TK-P", Detector: true},
		{Tag: "DMA-A", Name: "A区进水表", NameEN: "Zone A inflow meter", Level: meter.Level2, Stage: meter.StageSupply, ParentTag: "NET-IN", Channels: vol, FlowLink: "A-IN"},
		{Tag: "DMA-C1", Name: "C区进水表（西）", NameEN: "Zone C inflow meter (west)", Level: meter.Level2, Stage: meter.StageSupply, ParentTag: "NET-IN", Channels: vol, FlowLink: "C-IN1"},
		{Tag: "DMA-C2", Name: "C区进水表（东）", NameEN: "Zone C inflow meter (east)", Level: meter.Level2, Stage: meter.StageSupply, ParentTag: "NET-IN", Channels: vol, FlowLink: "C-IN2"},
	}
	zoneParent := map[string]string{}
	for _, z := range parkZones {
		zoneParent[z.Tag] = z.ParentTag
	}
	for _, node := range parkPressureLoggers {
		i, _ := net.NodeIndex(node)
		pts = append(pts, parkPoint{Tag: "PT-" + node, Name: "压力监测点 " + node, NameEN: "Pressure logger " + node, Level: meter.Level3,
			Stage: meter.StageSupply, ParentTag: zoneParent[net.Nodes[i].Tag], Channels: []string{"pressure_mpa"}, PressureNode: node, Detector: true})
	}
	for i := range net.Junctions {
		nd := net.Nodes[i]
		if len(nd.Demands) == 0 || nd.Demands[0].Base < parkCustomerMin || zoneParent[nd.Tag] == "" {
			continue
		}
		pts = append(pts, parkPoint{Tag: "CU-" + nd.ID, Name: nd.ID + " 用户水表", NameEN: "Customer meter " + nd.ID, Level: meter.Level3,
			Stage: meter.StageUse, ParentTag: zoneParent[nd.Tag], Channels: vol, Customer: nd.ID})
	}
	return pts
}

// Detector settings of the park network: three days of calibration with
// limits at 2.5 times the calibration maximum gave, on the simulated park
// (TestParkLeaksAreDetectedAndLocated), leaks of 8-12 m³/h alarmed after
// a median 40 min and no false alarm in a week.
const (
	parkCalibrationDays   = 3
	parkCalibrationMargin = 2.5
)

// parkNetworkConfig is the monitoring configuration of the park network,
// with the utility's point IDs prefixed by prefix ("<enterprise>-").
func parkNetworkConfig(net *network.Network, prefix string, clock netmon.Clock, calibrationDays float64) netmon.Config {
	cfg := netmon.Config{Clock: clock, Detection: netmon.Detection{StepS: 300, CalibrationDays: calibrationDays, CalibrationMargin: parkCalibrationMargin}}
	pts := parkPoints(net)
	for _, p := range pts {
		if !p.Detector {
			continue
		}
		if p.PressureNode != "" {
			cfg.Sensors = append(cfg.Sensors, netmon.Sensor{Kind: netmon.KindPressure, Element: p.PressureNode, Point: prefix + p.Tag})
		}
		if p.FlowLink != "" && p.LevelTank == "" {
			cfg.Sensors = append(cfg.Sensors, netmon.Sensor{Kind: netmon.KindFlow, Element: p.FlowLink, Point: prefix + p.Tag})
		}
		if p.LevelTank != "" {
			cfg.Sensors = append(cfg.Sensors, netmon.Sensor{Kind: netmon.KindLevel, Element: p.LevelTank, Point: prefix + p.Tag})
		}
	}
	byTag := map[string]parkPoint{}
	for _, p := range pts {
		byTag[p.Tag] = p
	}
	for _, z := range parkZones {
		zc := netmon.Zone{ID: z.ID, Name: z.Name, NameEN: z.NameEN, Tag: z.Tag}
		for _, tag := range z.Inflows {
			zc.Inflows = append(zc.Inflows, netmon.ZoneMeter{Point: prefix + tag, Link: byTag[tag].FlowLink, Sign: 1})
		}
		for _, p := range pts {
			if p.Customer == "" {
				continue
			}
			if i, ok := net.NodeIndex(p.Customer); ok && net.Nodes[i].Tag == z.Tag {
				zc.Consumers = append(zc.Consumers, prefix+p.Tag)
			}
		}
		cfg.Zones = append(cfg.Zones, zc)
	}
	return cfg
}

// parkChannelDecimals are the digits the park's instruments report:
// pressure to 0.01 kPa (1 mm of head), flows to a litre per hour.
var parkChannelDecimals = map[string]int{"pressure_mpa": 5, "flow_m3h": 3, "total_m3": 3, "level_m": 3}

// parkUtilityName names the park's water utility after its city.
func parkUtilityName(r meter.Region) (string, string) {
	short := cityShort(r)
	return short[0] + "模拟园区水务", strings.TrimSpace(short[1] + " Sim Park Water Utility")
}

// parkReading is what a park point's instrument shows (before rounding),
// channel by channel, except totalisers, which integrate the flow.
func parkReading(m *parknet.Model, p parkPoint, noise *rand.Rand) (map[string]float64, error) {
	out := map[string]float64{}
	for _, ch := range p.Channels {
		switch ch {
		case "pressure_mpa":
			v, err := m.Pressure(p.PressureNode)
			if err != nil {
				return nil, err
			}
			out[ch] = (v + parkPressureNoise*noise.NormFloat64()) / netmon.MetresPerMPa
		case "level_m":
			v, err := m.Pressure(p.LevelTank)
			if err != nil {
				return nil, err
			}
			out[ch] = v + parkLevelNoise*noise.NormFloat64()
		case "flow_m3h":
			v, err := parkTrueFlow(m, p)
			if err != nil {
				return nil, err
			}
			out[ch] = v * (1 + parkFlowNoise*noise.NormFloat64())
		case "total_m3":
		default:
			return nil, fmt.Errorf("park point %s: no model for channel %s", p.Tag, ch)
		}
	}
	return out, nil
}

// parkTrueFlow is the flow a park point meters: a link's or a customer's.
func parkTrueFlow(m *parknet.Model, p parkPoint) (float64, error) {
	if p.Customer != "" {
		return m.Demand(p.Customer)
	}
	return m.Flow(p.FlowLink)
}
