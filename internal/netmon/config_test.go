package netmon

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/network"
)

// tinyINP is a small network for configuration checks: a reservoir, two
// junctions, a tank and a pump.
const tinyINP = `[JUNCTIONS]
 J1 10 5
 J2 12 5
[RESERVOIRS]
 R1 50
[TANKS]
 T1 40 3 1 6 10 0
[PIPES]
 P1 R1 J1 100 200 120
 P2 J1 J2 100 150 120
 P3 J2 T1 100 150 120
[PUMPS]
 PU J1 J2 HEAD C1
[CURVES]
 C1 50 20
[TAGS]
 NODE J1 Z1
[OPTIONS]
 UNITS CMH
[END]
`

func tinyNetwork(t *testing.T) *network.Network {
	t.Helper()
	net, err := network.ParseBytes([]byte(tinyINP))
	if err != nil {
		t.Fatal(err)
	}
	return net
}

func TestParseConfigDefaultsAndUnknownFields(t *testing.T) {
	c, err := ParseConfig([]byte(`{"sensors":[{"kind":"pressure","element":"J1","point":"PT1"}],"zones":[{"id":"Z","name":"z","inflows":[{"point":"M1"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Sensors[0].Channel != "pressure_mpa" || c.Detection.StepS != 300 || c.Detection.CalibrationDays != 7 || c.Clock.Speed != 1 || c.Zones[0].Inflows[0].Sign != 1 {
		t.Fatalf("defaults not filled: %+v", c)
	}
	if _, err := ParseConfig([]byte(`{"sensorz":[]}`)); err == nil || !strings.Contains(err.Error(), "sensorz") {
		t.Fatalf("unknown field: %v", err)
	}
	if _, err := ParseConfig([]byte(`{`)); err == nil {
		t.Fatal("truncated JSON accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	net := tinyNetwork(t)
	good := Config{Sensors: []Sensor{
		{Kind: KindPressure, Element: "J1", Point: "PT-1"},
		{Kind: KindPressure, Element: "J2", Point: "PT-2"},
		{Kind: KindFlow, Element: "P1", Point: "IN"},
		{Kind: KindLevel, Element: "T1", Point: "TK"},
	}, Zones: []Zone{{ID: "Z1", Name: "zone", Tag: "Z1", Inflows: []ZoneMeter{{Point: "IN", Link: "P1"}}, Consumers: []string{"C1"}}}}
	if err := good.WithDefaults().Validate(net); err != nil {
		t.Fatalf("good configuration refused: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"unknown node", func(c *Config) { c.Sensors[0].Element = "J9" }, "no node \"J9\""},
		{"pressure on a tank", func(c *Config) { c.Sensors[0].Element = "T1" }, "not a junction"},
		{"level on a junction", func(c *Config) { c.Sensors[3].Element = "J1" }, "not a tank"},
		{"unknown link", func(c *Config) { c.Sensors[2].Element = "P9" }, "no link \"P9\""},
		{"unknown kind", func(c *Config) { c.Sensors[2].Kind = "temperature" }, "kind must be"},
		{"bad point ID", func(c *Config) { c.Sensors[0].Point = "a b" }, "point"},
		{"one pressure sensor", func(c *Config) { c.Sensors = c.Sensors[1:] }, "at least two pressure sensors"},
		{"same channel twice", func(c *Config) { c.Sensors[1].Point = "PT-1" }, "mapped twice"},
		{"zone without inflow", func(c *Config) { c.Zones[0].Inflows = nil }, "no inflow meter"},
		{"bad sign", func(c *Config) { c.Zones[0].Inflows[0].Sign = 2 }, "sign must be 1 or -1"},
		{"zone meter on an unknown link", func(c *Config) { c.Zones[0].Inflows[0].Link = "X" }, "no link \"X\""},
		{"duplicate zone", func(c *Config) { c.Zones = append(c.Zones, c.Zones[0]) }, "duplicate zone"},
		{"step too short", func(c *Config) { c.Detection.StepS = 10 }, "detection step"},
		{"calibration too short", func(c *Config) { c.Detection.CalibrationDays = 0.1 }, "calibration of"},
		{"fast clock without epoch", func(c *Config) { c.Clock.Speed = 60 }, "needs an epoch"},
		{"slow clock", func(c *Config) { c.Clock.Speed = 0.5 }, "clock speed"},
	} {
		c := good.WithDefaults()
		tc.edit(&c)
		err := c.Validate(net)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	gpm := strings.Replace(tinyINP, "UNITS CMH", "UNITS GPM", 1)
	other, err := network.ParseBytes([]byte(gpm))
	if err != nil {
		t.Fatal(err)
	}
	if err := good.WithDefaults().Validate(other); err == nil || !strings.Contains(err.Error(), "CMH") {
		t.Errorf("GPM model accepted: %v", err)
	}
	if got := good.Points(); strings.Join(got, ",") != "PT-1,PT-2,IN,TK,C1" {
		t.Errorf("points %v", got)
	}
	if got := good.ZoneNodes(net)["Z1"]; len(got) != 1 || got[0] != "J1" {
		t.Errorf("zone nodes %v", got)
	}
}

func TestHeadMetres(t *testing.T) {
	for _, tc := range []struct {
		channel string
		v, want float64
	}{
		{"pressure_mpa", 0.3, 30.5915},
		{"pressure_kpa", 300, 30.5915},
		{"pressure_bar", 3, 30.5915},
		{"pressure_m", 30, 30},
	} {
		if got := HeadMetres(tc.channel, tc.v); got < tc.want-1e-3 || got > tc.want+1e-3 {
			t.Errorf("%s %v: %v m, want %v", tc.channel, tc.v, got, tc.want)
		}
	}
}

func TestWaterLost(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		start, end time.Time
		flow, want float64
		clock      Clock
	}{
		{"ten hours at 12 m³/h", t0, t0.Add(10 * time.Hour), 12, 120, Clock{Speed: 1}},
		{"90 minutes at 8 m³/h", t0, t0.Add(90 * time.Minute), 8, 12, Clock{}},
		{"a network 60 times faster: 3 real minutes are 3 of its hours", t0, t0.Add(3 * time.Minute), 10, 30, Clock{Speed: 60, Epoch: t0}},
		{"closed before it started", t0, t0.Add(-time.Hour), 12, 0, Clock{Speed: 1}},
		{"unknown start", time.Time{}, t0, 12, 0, Clock{Speed: 1}},
		{"no flow", t0, t0.Add(time.Hour), 0, 0, Clock{Speed: 1}},
	} {
		if got := WaterLost(tc.start, tc.end, tc.flow, tc.clock); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: %v m³, want %v", tc.name, got, tc.want)
		}
	}
}

// FuzzParseConfig: any input gives a configuration or an error, and what
// parses validates against a network without panicking.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"sensors":[{"kind":"pressure","element":"J1","point":"PT1"},{"kind":"pressure","element":"J2","point":"PT2"},{"kind":"flow","element":"P1","point":"IN"}],"zones":[{"id":"Z","name":"z","tag":"Z1","inflows":[{"point":"IN","link":"P1","sign":-1}],"consumers":["C1"]}],"detection":{"step_s":300,"calibration_days":2},"clock":{"speed":60,"epoch":"2025-06-01T00:00:00Z"}}`))
	f.Add([]byte(`{"sensors":null,"zones":[{}]}`))
	f.Add([]byte(`{"detection":{"step_s":-1,"calibration_days":1e308},"clock":{"speed":-5}}`))
	f.Add([]byte(`[]`))
	net, err := network.ParseBytes([]byte(tinyINP))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseConfig(raw)
		if err != nil {
			return
		}
		if err := c.Validate(net); err == nil {
			if _, err := NewWatcher(net, c); err != nil {
				t.Fatalf("valid configuration but no watcher: %v", err)
			}
		}
		_ = c.Points()
		_ = c.ZoneNodes(net)
	})
}
