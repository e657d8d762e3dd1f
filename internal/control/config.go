package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/shuixiao/shuixiao/chem"
	"github.com/shuixiao/shuixiao/cooling"
	"github.com/shuixiao/shuixiao/dosing"
	"github.com/shuixiao/shuixiao/internal/actuate"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/reuse"
)

// Sensor names one channel of a meter: where a controller input comes from.
type Sensor struct {
	Meter   string `json:"meter"`
	Channel string `json:"channel"`
	// Scale multiplies the reading into the controller's unit (e.g. 0.01 for
	// kPa → bar); 0 means 1.
	Scale float64 `json:"scale,omitempty"`
}

// Set reports whether the sensor is configured.
func (s Sensor) Set() bool { return s.Meter != "" }

func (s Sensor) key() string { return s.Meter + "/" + s.Channel }

func (s Sensor) scale() float64 {
	if s.Scale == 0 {
		return 1
	}
	return s.Scale
}

// Bound is the allowed range of an operator set-point.
type Bound struct {
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	Unit string  `json:"unit,omitempty"`
	// MaxStep, when positive, is the largest change one order may make; a
	// larger one moves the set-point by MaxStep towards the value asked for.
	MaxStep float64 `json:"max_step,omitempty"`
}

// PlantConfig is a plant's control configuration, registered through the API:
// which meters and channels feed which controller input, the controllers'
// tuning (the configuration types of packages cooling, dosing and reuse, by
// their Go field names), which actuator each output drives with its
// interlocks, and the bounds of the set-points operators may change.
type PlantConfig struct {
	ID         string `json:"id"`
	Enterprise string `json:"enterprise"`
	Name       string `json:"name"`
	NameEN     string `json:"name_en,omitempty"`
	// TimeScale is how many seconds of process time pass per wall-clock
	// second: 1 for a real plant; a simulated plant that runs faster says so
	// here, and every controller time (integral times, staleness, durations,
	// rate limits) is in process time.
	TimeScale float64 `json:"time_scale"`
	// StepS is the control step in wall-clock seconds (default 1).
	StepS     float64            `json:"step_s"`
	Tower     *TowerConfig       `json:"tower,omitempty"`
	Reuse     *ReuseConfig       `json:"reuse,omitempty"`
	Actuators []actuate.Actuator `json:"actuators"`
	// Setpoints bounds what operators may set: "cycles", "product_mg_l", "ph".
	Setpoints map[string]Bound `json:"setpoints,omitempty"`
}

// TowerSensors maps the tower's controller inputs to meter channels.
type TowerSensors struct {
	Level        Sensor `json:"level"`         // basin level, % of span
	BasinCond    Sensor `json:"basin_cond"`    // µS/cm
	MakeupCond   Sensor `json:"makeup_cond"`   // µS/cm
	Fluorescence Sensor `json:"fluorescence"`  // fluorometer signal
	BasinTemp    Sensor `json:"basin_temp"`    // cold-water temperature, °C
	ReturnTemp   Sensor `json:"return_temp"`   // hot-water temperature, °C
	Circulation  Sensor `json:"circulation"`   // m³/h (optional: design flow)
	BlowdownFlow Sensor `json:"blowdown_flow"` // m³/h
	MakeupFlow   Sensor `json:"makeup_flow"`   // m³/h (display)
	PH           Sensor `json:"ph"`
	ORP          Sensor `json:"orp"`    // mV
	Tagged       Sensor `json:"tagged"` // tagged polymer as product mg/L (optional)
}

// TowerActuators names the actuators the tower's controllers drive.
type TowerActuators struct {
	MakeupValve   string `json:"makeup_valve"`   // % open (0 or 100: on/off)
	BlowdownValve string `json:"blowdown_valve"` // % open
	InhibitorPump string `json:"inhibitor_pump"` // L/h
	AcidPump      string `json:"acid_pump,omitempty"`
	BiocidePump   string `json:"biocide_pump,omitempty"`
}

// TowerConfig is an open recirculating cooling tower: make-up on level,
// blowdown on conductivity cycles, tracer-based inhibitor, optional acid on
// pH and oxidising biocide on ORP or schedule.
type TowerConfig struct {
	Sensors   TowerSensors   `json:"sensors"`
	Actuators TowerActuators `json:"actuators"`
	// CirculationM3h is the design circulation, used when no flow sensor is configured.
	CirculationM3h float64 `json:"circulation_m3h"`
	// EvapPerM3hC is the evaporation per m³/h of circulation per °C of range
	// (the US rule's 0.00153, or k of GB/T 50050 at the design air temperature).
	EvapPerM3hC float64                `json:"evap_per_m3h_c"`
	Level       cooling.LevelConfig    `json:"level"`
	Blowdown    cooling.BlowdownConfig `json:"blowdown"`
	Inhibitor   dosing.InhibitorConfig `json:"inhibitor"`
	Acid        *dosing.AcidConfig     `json:"acid,omitempty"`
	Biocide     *dosing.BiocideConfig  `json:"biocide,omitempty"`
	Makeup      chem.Analysis          `json:"makeup"` // laboratory analysis of the make-up, for the indices
	WallTempC   float64                `json:"wall_temp_c"`
	Quality     cooling.QualityLimits  `json:"quality,omitempty"`
	Indices     cooling.IndexLimits    `json:"index_limits,omitempty"`
	PHRule      chem.PHAssumption      `json:"ph_rule,omitempty"`
}

// ReuseSensors maps the reuse train's inputs to meter channels.
type ReuseSensors struct {
	MMFHeadloss  Sensor `json:"mmf_headloss"`  // bar (after Scale)
	MMFTurbidity Sensor `json:"mmf_turbidity"` // NTU
	UFTMP        Sensor `json:"uf_tmp"`        // bar
	UFFlow       Sensor `json:"uf_flow"`       // filtrate m³/h
	Temp         Sensor `json:"temp"`          // °C
	ROFeedP      Sensor `json:"ro_feed_pressure"`
	RODiffP      Sensor `json:"ro_diff_pressure"`
	ROPermP      Sensor `json:"ro_perm_pressure"`
	ROFeedCond   Sensor `json:"ro_feed_cond"` // µS/cm
	ROPermCond   Sensor `json:"ro_perm_cond"`
	ROFeedFlow   Sensor `json:"ro_feed_flow"` // m³/h
	ROPermFlow   Sensor `json:"ro_perm_flow"`
}

// ReuseActuators names the sequence actuators (mode codes).
type ReuseActuators struct {
	MMF string `json:"mmf"` // reuse.MMFMode
	UF  string `json:"uf"`  // reuse.UFMode
	RO  string `json:"ro"`  // ROService or ROCleaning
}

// ROControl configures RO normalisation and cleaning.
type ROControl struct {
	Reference  reuse.ROData       `json:"reference"` // start-up data set (ASTM D4516 reference)
	Thresholds reuse.ROThresholds `json:"thresholds"`
	// CondToTDS converts conductivity to NaCl-equivalent TDS (mg/L per µS/cm);
	// 0 uses the Langelier estimate of package chem.
	CondToTDS float64 `json:"cond_to_tds,omitempty"`
	// MinCleanIntervalS is the shortest time between cleanings, process s.
	MinCleanIntervalS float64 `json:"min_clean_interval_s"`
	CleanDurationS    float64 `json:"clean_duration_s"`
	StaleAfterS       float64 `json:"stale_after_s"`
	// ConfirmS is how long a cleaning trigger must hold before a CIP is requested.
	ConfirmS float64 `json:"confirm_s"`
}

// RO modes as sent to the RO actuator.
const (
	ROService  = 0
	ROCleaning = 1
)

// ReuseConfig is a multimedia filter → UF → RO train.
type ReuseConfig struct {
	Sensors   ReuseSensors    `json:"sensors"`
	Actuators ReuseActuators  `json:"actuators"`
	MMF       reuse.MMFConfig `json:"mmf"`
	UF        reuse.UFConfig  `json:"uf"`
	UFAreaM2  float64         `json:"uf_area_m2"`
	RO        ROControl       `json:"ro"`
	// Routing, when set, sends the treated water to production uses by
	// quality class.
	Routing *RoutingConfig `json:"routing,omitempty"`
}

// ParseConfig decodes and validates a plant configuration.
func ParseConfig(data []byte) (*PlantConfig, error) {
	var c PlantConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("plant configuration: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// DefaultSetpoints are the set-point bounds used when a configuration gives none.
var defaultSetpoints = map[string]Bound{"cycles": {Min: 1.5, Max: 15}, "product_mg_l": {Min: 0, Max: 50, Unit: "mg/L"}, "ph": {Min: 6, Max: 9.5}}

// Validate checks the configuration and fills defaults (step, time scale,
// set-point bounds).
func (c *PlantConfig) Validate() error {
	if err := reading.ValidID(c.ID); err != nil {
		return fmt.Errorf("plant: %w", err)
	}
	if err := reading.ValidID(c.Enterprise); err != nil {
		return fmt.Errorf("plant %s: enterprise: %w", c.ID, err)
	}
	if c.TimeScale == 0 {
		c.TimeScale = 1
	}
	if c.StepS == 0 {
		c.StepS = 1
	}
	if !(c.TimeScale > 0 && c.TimeScale <= 1e5) || !(c.StepS >= 0.01 && c.StepS <= 3600) {
		return fmt.Errorf("plant %s: time_scale must be in (0, 1e5] and step_s in [0.01, 3600]", c.ID)
	}
	if c.Tower == nil && c.Reuse == nil {
		return fmt.Errorf("plant %s: neither a tower nor a reuse train", c.ID)
	}
	names := map[string]actuate.Actuator{}
	for _, a := range c.Actuators {
		if err := a.Validate(); err != nil {
			return fmt.Errorf("plant %s: %w", c.ID, err)
		}
		if _, dup := names[a.Name]; dup {
			return fmt.Errorf("plant %s: actuator %s listed twice", c.ID, a.Name)
		}
		names[a.Name] = a
	}
	need := func(role, name string, optional bool) error {
		if name == "" && optional {
			return nil
		}
		if _, ok := names[name]; !ok {
			return fmt.Errorf("plant %s: %s actuator %q is not among the actuators", c.ID, role, name)
		}
		return nil
	}
	if c.Setpoints == nil {
		c.Setpoints = map[string]Bound{}
	}
	for k, b := range defaultSetpoints {
		if _, ok := c.Setpoints[k]; !ok {
			c.Setpoints[k] = b
		}
	}
	for k, b := range c.Setpoints {
		if !(b.Min <= b.Max) || math.IsNaN(b.Min) || math.IsInf(b.Max, 0) || math.IsInf(b.Min, 0) || !(b.MaxStep >= 0) || math.IsInf(b.MaxStep, 0) {
			return fmt.Errorf("plant %s: set-point %s bounds [%g, %g]", c.ID, k, b.Min, b.Max)
		}
	}
	if t := c.Tower; t != nil {
		var errs []error
		errs = append(errs, need("make-up valve", t.Actuators.MakeupValve, false), need("blowdown valve", t.Actuators.BlowdownValve, false),
			need("inhibitor pump", t.Actuators.InhibitorPump, false), need("acid pump", t.Actuators.AcidPump, true),
			need("biocide pump", t.Actuators.BiocidePump, true))
		for _, s := range []struct {
			name string
			s    Sensor
		}{{"level", t.Sensors.Level}, {"basin_cond", t.Sensors.BasinCond}, {"makeup_cond", t.Sensors.MakeupCond},
			{"fluorescence", t.Sensors.Fluorescence}, {"basin_temp", t.Sensors.BasinTemp}, {"return_temp", t.Sensors.ReturnTemp},
			{"blowdown_flow", t.Sensors.BlowdownFlow}} {
			if !s.s.Set() || s.s.Channel == "" {
				errs = append(errs, fmt.Errorf("plant %s: tower sensor %s is required", c.ID, s.name))
			}
		}
		if t.EvapPerM3hC == 0 {
			t.EvapPerM3hC = 0.00153
		}
		if !(t.CirculationM3h > 0) && !t.Sensors.Circulation.Set() {
			errs = append(errs, fmt.Errorf("plant %s: tower needs a circulation sensor or circulation_m3h", c.ID))
		}
		errs = append(errs, wrap(c.ID, "level", t.Level.Validate()), wrap(c.ID, "blowdown", t.Blowdown.Validate()),
			wrap(c.ID, "inhibitor", t.Inhibitor.Validate()))
		if t.Acid != nil {
			errs = append(errs, wrap(c.ID, "acid", t.Acid.Validate()))
			if t.Actuators.AcidPump == "" || !t.Sensors.PH.Set() {
				errs = append(errs, fmt.Errorf("plant %s: acid control needs acid_pump and a pH sensor", c.ID))
			}
		}
		if t.Biocide != nil {
			errs = append(errs, wrap(c.ID, "biocide", t.Biocide.Validate()))
			if t.Actuators.BiocidePump == "" {
				errs = append(errs, fmt.Errorf("plant %s: biocide control needs biocide_pump", c.ID))
			}
		}
		if t.Makeup.Ca > 0 {
			errs = append(errs, wrap(c.ID, "make-up analysis", t.Makeup.Validate()))
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	if r := c.Reuse; r != nil {
		var errs []error
		errs = append(errs, need("MMF", r.Actuators.MMF, false), need("UF", r.Actuators.UF, false), need("RO", r.Actuators.RO, false))
		errs = append(errs, wrap(c.ID, "uf", r.UF.Validate()))
		if !(r.MMF.BackwashDurationS > 0 && r.MMF.RinseDurationS > 0 && r.MMF.MaxRunS > 0 && r.MMF.StaleAfterS > 0) {
			errs = append(errs, fmt.Errorf("plant %s: mmf durations, run timer and staleness limit must be positive", c.ID))
		}
		if !(r.UFAreaM2 > 0) {
			errs = append(errs, fmt.Errorf("plant %s: uf_area_m2 must be positive", c.ID))
		}
		if !(r.RO.CleanDurationS > 0 && r.RO.StaleAfterS > 0 && r.RO.MinCleanIntervalS >= 0 && r.RO.Reference.PermeateFlow > 0) {
			errs = append(errs, fmt.Errorf("plant %s: ro needs a reference data set, a cleaning duration and a staleness limit", c.ID))
		}
		for _, a := range []struct {
			name string
			want []float64
		}{{r.Actuators.MMF, []float64{0, 1, 2}}, {r.Actuators.UF, []float64{0, 1, 2, 3, 4}}, {r.Actuators.RO, []float64{ROService, ROCleaning}}} {
			if act, ok := names[a.name]; ok && !slices.Equal(act.Values, a.want) {
				errs = append(errs, fmt.Errorf("plant %s: actuator %s must allow exactly the mode codes %v", c.ID, a.name, a.want))
			}
		}
		if r.Routing != nil {
			classes, err := reuse.LoadClasses()
			if err == nil {
				err = r.Routing.validate(classes, names)
			}
			errs = append(errs, wrap(c.ID, "routing", err))
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	return nil
}

func wrap(plant, what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("plant %s: %s: %w", plant, what, err)
}

// sensors lists every configured sensor.
func (c *PlantConfig) sensors() []Sensor {
	var out []Sensor
	add := func(ss ...Sensor) {
		for _, s := range ss {
			if s.Set() {
				out = append(out, s)
			}
		}
	}
	if t := c.Tower; t != nil {
		s := t.Sensors
		add(s.Level, s.BasinCond, s.MakeupCond, s.Fluorescence, s.BasinTemp, s.ReturnTemp, s.Circulation, s.BlowdownFlow,
			s.MakeupFlow, s.PH, s.ORP, s.Tagged)
	}
	if r := c.Reuse; r != nil {
		s := r.Sensors
		add(s.MMFHeadloss, s.MMFTurbidity, s.UFTMP, s.UFFlow, s.Temp, s.ROFeedP, s.RODiffP, s.ROPermP, s.ROFeedCond, s.ROPermCond,
			s.ROFeedFlow, s.ROPermFlow)
		if r.Routing != nil {
			add(r.Routing.sensors()...)
		}
	}
	return out
}

// Meters lists the meters the plant reads or drives (sensors and actuator devices).
func (c *PlantConfig) Meters() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range c.sensors() {
		if !seen[s.Meter] {
			seen[s.Meter] = true
			out = append(out, s.Meter)
		}
	}
	for _, a := range c.Actuators {
		if !seen[a.Device] {
			seen[a.Device] = true
			out = append(out, a.Device)
		}
	}
	return out
}
