package control

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/shuixiao/shuixiao/sensor"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/chem"
	"github.com/shuixiao/shuixiao/cooling"
	"github.com/shuixiao/shuixiao/dosing"
	"github.com/shuixiao/shuixiao/internal/actuate"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/reuse"
)

// Num is a number that encodes NaN and infinities as JSON null (a sensor
// that is not there, an index that cannot be computed).
type Num float64

// MarshalJSON implements json.Marshaler.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', 6, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler (null reads as NaN).
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = Num(f)
	return nil
}

var nan = Num(math.NaN())

// Value is a sensor value as a control step receives it.
type Value struct {
	V    float64
	AgeS float64 // seconds of process time since it was measured
	OK   bool    // a reading exists
}

// Inputs are the latest sensor values, keyed by "meter/channel".
type Inputs map[string]Value

func (in Inputs) get(s Sensor) Value {
	if !s.Set() {
		return Value{V: math.NaN()}
	}
	v, ok := in[s.key()]
	if !ok {
		return Value{V: math.NaN(), AgeS: math.Inf(1)}
	}
	v.V *= s.scale()
	return v
}

func (v Value) cooling() cooling.Reading {
	return cooling.Reading{Value: v.V, AgeS: v.AgeS, Valid: v.OK}
}
func (v Value) dosing() dosing.Reading { return dosing.Reading{Value: v.V, AgeS: v.AgeS, Valid: v.OK} }
func (v Value) reuse() reuse.Reading   { return reuse.Reading{Value: v.V, AgeS: v.AgeS, Valid: v.OK} }

// input names a value for a request's cause (and for the actuation layer's
// own staleness check).
func input(name string, v Value) actuate.Input {
	return actuate.Input{Name: name, Value: v.V, AgeS: v.AgeS, Valid: v.OK}
}

// Alarm is raised by a controller during a step.
type Alarm struct {
	Code     string         `json:"code"`
	Severity alarm.Severity `json:"severity"`
	Message  string         `json:"message"`
}

func severity(critical bool) alarm.Severity {
	if critical {
		return alarm.SeverityCritical
	}
	return alarm.SeverityWarning
}

// TowerLive is the tower's state after a step, for the console.
type TowerLive struct {
	LevelPct        Num      `json:"level_pct"`
	BasinCond       Num      `json:"basin_cond_us_cm"`
	MakeupCond      Num      `json:"makeup_cond_us_cm"`
	MakeupLagged    Num      `json:"makeup_cond_lagged_us_cm"`
	Cycles          Num      `json:"cycles"`
	CyclesSetpoint  Num      `json:"cycles_setpoint"`
	ProductMgL      Num      `json:"product_mg_l"`
	ProductSetpoint Num      `json:"product_setpoint_mg_l"`
	TracerUgL       Num      `json:"tracer_ug_l"`
	ConsumptionPct  Num      `json:"polymer_consumption_pct"`
	RangeC          Num      `json:"range_c"`
	EvaporationM3h  Num      `json:"evaporation_m3h"`
	BlowdownM3h     Num      `json:"blowdown_m3h"`
	MakeupM3h       Num      `json:"makeup_m3h"`
	PurgeM3h        Num      `json:"purge_m3h"`
	TempC           Num      `json:"temp_c"`
	ReturnTempC     Num      `json:"return_temp_c"`
	PH              Num      `json:"ph"`
	PHSetpoint      Num      `json:"ph_setpoint"`
	ORP             Num      `json:"orp_mv"`
	MakeupOpen      bool     `json:"makeup_open"`
	BlowdownPct     Num      `json:"blowdown_valve_pct"`
	InhibitorLh     Num      `json:"inhibitor_l_h"`
	FeedForwardLh   Num      `json:"inhibitor_feed_forward_l_h"`
	AcidLh          Num      `json:"acid_l_h"`
	BiocideLh       Num      `json:"biocide_l_h"`
	FailSafe        []string `json:"fail_safe,omitempty"` // controllers in their fail-safe state
}

// Indices are the scaling indices of the circulating water, from the
// make-up analysis concentrated by the measured cycles at the measured pH and
// temperature, with the ionic strength from the conductivity.
type Indices struct {
	LSI           Num      `json:"lsi"`
	RSI           Num      `json:"rsi"`
	PSI           Num      `json:"psi"`
	LarsonSkold   Num      `json:"larson_skold"`
	SICalcite     Num      `json:"si_calcite"`
	SIAragonite   Num      `json:"si_aragonite"`
	SIGypsum      Num      `json:"si_gypsum"`
	SIAnhydrite   Num      `json:"si_anhydrite"`
	SISiO2        Num      `json:"si_sio2a"`
	IonicStrength Num      `json:"ionic_strength"`
	TDS           Num      `json:"tds_mg_l"`
	MaxCycles     Num      `json:"max_cycles"` // the optimiser's highest admissible cycles
	Binding       []string `json:"binding,omitempty"`
	Error         string   `json:"error,omitempty"`
}

// ReuseLive is the reuse train's state after a step.
type ReuseLive struct {
	MMFMode         string   `json:"mmf_mode"`
	MMFHeadlossBar  Num      `json:"mmf_headloss_bar"`
	MMFTurbidity    Num      `json:"mmf_turbidity_ntu"`
	MMFLastReason   string   `json:"mmf_last_reason,omitempty"`
	UFMode          string   `json:"uf_mode"`
	UFTMPBar        Num      `json:"uf_tmp_bar"`
	UFFlowM3h       Num      `json:"uf_flow_m3h"`
	UFL20           Num      `json:"uf_l20"`
	UFBaselineL20   Num      `json:"uf_baseline_l20"`
	UFBackwashes    int      `json:"uf_backwashes_since_ceb"`
	ROMode          string   `json:"ro_mode"`
	RONormFlow      Num      `json:"ro_norm_flow_m3h"`
	RONormSP        Num      `json:"ro_norm_salt_passage_pct"`
	RONormDP        Num      `json:"ro_norm_dp_bar"`
	ROFlowChangePct Num      `json:"ro_flow_change_pct"`
	ROSPChangePct   Num      `json:"ro_sp_change_pct"`
	RODPChangePct   Num      `json:"ro_dp_change_pct"`
	RORecovery      Num      `json:"ro_recovery"`
	ROCleanReasons  []string `json:"ro_clean_reasons,omitempty"`
	// Routing is where the treated water goes, by quality class.
	Routing *RoutingLive `json:"routing,omitempty"`
}

// Result is what one step produced.
type Result struct {
	Requests []actuate.Request
	Alarms   []Alarm
	Tower    *TowerLive
	Indices  *Indices
	Reuse    *ReuseLive
}

// roState is the RO cleaning sequence memory.
type roState struct {
	Mode        int
	InModeS     float64
	SinceCleanS float64
	TriggerS    float64
	Reasons     []string
}

// Controller runs a plant's controllers: given the latest sensor values it
// returns the actuator requests, the live values, the indices and the
// alarms of one step. It holds the controllers' memory and is deterministic;
// it does no I/O and reads no clock. Not safe for concurrent use.
type Controller struct {
	cfg *PlantConfig

	level     cooling.LevelState
	blowdown  cooling.BlowdownState
	inhibitor dosing.InhibitorState
	acid      dosing.AcidState
	biocide   dosing.BiocideState
	mmf       reuse.MMFState
	uf        reuse.UFState
	ro        roState

	sp        *chem.Speciator
	classic   *chem.Classic
	membranes *reuse.Membranes
	opt       *cooling.Optimizer
	quality   cooling.QualityLimits
	limits    cooling.IndexLimits

	procS, lastOptS float64
	maxCycles       Num
	binding         []string
	optimum         *CyclesOptimum // the optimiser's latest answer (nil: none)

	classes    reuse.Classes // quality classes, when the train routes its water
	routeState map[string]routeMemory
}

// CyclesOptimum is the cycles optimiser's latest answer with the analysis
// it came from: the make-up's laboratory analysis concentrated at the
// measured basin temperature and pH against the hottest wall
// (cooling.CyclesProblem).
type CyclesOptimum struct {
	Cycles     float64  // highest admissible cycles, to 0.01
	Binding    []string // the limits that stop higher cycles
	Makeup     chem.Analysis
	BasinTempC float64
	WallTempC  float64
	BasinPH    float64
	ProcessS   float64 // the plant's process time of the computation (s since its loop started)
}

// Optimum returns the cycles optimiser's latest answer, if it has one.
func (p *Controller) Optimum() (CyclesOptimum, bool) {
	if p.optimum == nil {
		return CyclesOptimum{}, false
	}
	o := *p.optimum
	o.Binding = append([]string(nil), o.Binding...)
	return o, true
}

// OptimiseEveryS is how often (process time) the cycles optimiser runs.
const OptimiseEveryS = 3600

// NewController validates a configuration (filling its defaults) and prepares its controllers.
func NewController(cfg *PlantConfig) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Controller{cfg: cfg, maxCycles: nan, lastOptS: math.Inf(-1)}
	p.ro.SinceCleanS = math.Inf(1) // no cleaning on record: the first trigger may clean
	db, err := chem.LoadWATEQ4F()
	if err != nil {
		return nil, err
	}
	if p.sp, err = chem.NewSpeciator(db); err != nil {
		return nil, err
	}
	if p.classic, err = chem.NewClassic(db.Coef); err != nil {
		return nil, err
	}
	if p.membranes, err = reuse.LoadMembranes(); err != nil {
		return nil, err
	}
	if r := cfg.Reuse; r != nil && r.Routing != nil {
		if p.classes, err = reuse.LoadClasses(); err != nil {
			return nil, err
		}
	}
	if t := cfg.Tower; t != nil {
		if p.opt, err = cooling.NewOptimizer(); err != nil {
			return nil, err
		}
		p.quality, p.limits = t.Quality, t.Indices
		if p.quality == nil {
			if p.quality, err = cooling.LoadQualityLimits("gb50050_2017"); err != nil {
				return nil, err
			}
		}
		if p.limits == nil {
			if p.limits, err = cooling.LoadIndexLimits(); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

// Config returns the plant's configuration.
func (p *Controller) Config() *PlantConfig { return p.cfg }

// Step advances every controller by dt seconds of process time;
// timeOfDayS is the plant's local time of day (biocide schedules).
func (p *Controller) Step(in Inputs, dt, timeOfDayS float64) Result {
	if !(dt >= 0) || math.IsInf(dt, 0) {
		dt = 0
	}
	p.procS += dt
	var res Result
	if p.cfg.Tower != nil {
		p.stepTower(in, dt, timeOfDayS, &res)
	}
	if p.cfg.Reuse != nil {
		p.stepReuse(in, dt, &res)
	}
	return res
}

func addAlarms(res *Result, source string, as []sensor.Alarm) {
	for _, a := range as {
		res.Alarms = append(res.Alarms, Alarm{Code: a.Code, Severity: severity(a.Severity == sensor.Critical), Message: source + ": " + a.Message})
	}
}

func (p *Controller) stepTower(in Inputs, dt, timeOfDayS float64, res *Result) {
	t := p.cfg.Tower
	s := t.Sensors
	live := &TowerLive{}
	level, basin, makeup := in.get(s.Level), in.get(s.BasinCond), in.get(s.MakeupCond)
	fluor, temp, ret := in.get(s.Fluorescence), in.get(s.BasinTemp), in.get(s.ReturnTemp)
	bdFlow, mkFlow, ph, orp := in.get(s.BlowdownFlow), in.get(s.MakeupFlow), in.get(s.PH), in.get(s.ORP)
	live.LevelPct, live.BasinCond, live.MakeupCond, live.TempC, live.ReturnTempC = Num(level.V), Num(basin.V), Num(makeup.V), Num(temp.V), Num(ret.V)
	live.BlowdownM3h, live.MakeupM3h, live.PH, live.ORP = Num(bdFlow.V), Num(mkFlow.V), Num(ph.V), Num(orp.V)

	// Make-up on level.
	var lo cooling.LevelOutput
	var al []cooling.Alarm
	p.level, lo, al = t.Level.Step(p.level, level.cooling(), dt)
	addAlarms(res, "make-up", al)
	mv, why := 0.0, fmt.Sprintf("level %.1f %% (close above %.0f %%)", level.V, t.Level.StopPct)
	if lo.MakeupValveOpen {
		mv, why = 100, fmt.Sprintf("level %.1f %% (open below %.0f %%)", level.V, t.Level.StartPct)
	}
	if p.level.FailSafe {
		why = "level unusable: fail-safe position"
		live.FailSafe = append(live.FailSafe, "make-up")
	}
	live.MakeupOpen = lo.MakeupValveOpen
	res.Requests = append(res.Requests, actuate.Request{Actuator: t.Actuators.MakeupValve, Value: mv, FailSafe: p.level.FailSafe,
		By: "cooling.level", Reason: why, Inputs: []actuate.Input{input("level_pct", level)}})

	// Evaporation from the heat load: E = k·Q·(T_return − T_basin).
	circ := Value{V: t.CirculationM3h, OK: true}
	if s.Circulation.Set() {
		circ = in.get(s.Circulation)
	}
	evap := Value{V: math.NaN()}
	if ret.OK && temp.OK && circ.OK {
		live.RangeC = Num(ret.V - temp.V)
		evap = Value{V: t.EvapPerM3hC * circ.V * math.Max(ret.V-temp.V, 0), AgeS: math.Max(math.Max(ret.AgeS, temp.AgeS), circ.AgeS), OK: true}
	} else {
		live.RangeC = nan
	}
	live.EvaporationM3h = Num(evap.V)

	// Blowdown on cycles.
	var bo cooling.BlowdownOutput
	p.blowdown, bo, al = t.Blowdown.Step(p.blowdown, cooling.BlowdownInput{BasinEC: basin.cooling(), MakeupEC: makeup.cooling(),
		Evaporation: evap.cooling()}, dt)
	addAlarms(res, "blowdown", al)
	live.Cycles, live.CyclesSetpoint, live.MakeupLagged, live.BlowdownPct = Num(bo.Cycles), Num(t.Blowdown.CyclesSetpoint), Num(p.blowdown.MakeupLagged), Num(100*bo.Valve)
	why = fmt.Sprintf("cycles %.2f, set-point %.2f, evaporation %.1f m³/h", bo.Cycles, t.Blowdown.CyclesSetpoint, evap.V)
	if p.blowdown.FailSafe {
		why = "conductivity unusable: blowdown on the mass-balance estimate or fail-safe opening"
		live.FailSafe = append(live.FailSafe, "blowdown")
	}
	req := actuate.Request{Actuator: t.Actuators.BlowdownValve, Value: 100 * bo.Valve, FailSafe: p.blowdown.FailSafe,
		By: "cooling.blowdown", Reason: why, Inputs: []actuate.Input{input("basin_cond_us_cm", basin), input("makeup_cond_us_cm", makeup)}}
	if !p.blowdown.FailSafe {
		req.Indices = append(req.Indices, reading.Input{Name: "cycles", Value: bo.Cycles})
	}
	if evap.OK {
		req.Inputs = append(req.Inputs, input("evaporation_m3h", evap))
	}
	res.Requests = append(res.Requests, req)

	// Inhibitor on the tracer, with feed-forward from the purge.
	purge := Value{V: math.NaN()}
	if bdFlow.OK {
		purge = Value{V: bdFlow.V + t.Blowdown.DriftFlow, AgeS: bdFlow.AgeS, OK: true}
	}
	live.PurgeM3h = Num(purge.V)
	tempC := temp.V
	if !temp.OK {
		tempC = math.NaN()
	}
	tagged := in.get(s.Tagged)
	var io dosing.InhibitorOutput
	var dal []dosing.Alarm
	p.inhibitor, io, dal = t.Inhibitor.Step(p.inhibitor, dosing.InhibitorInput{Fluorescence: fluor.dosing(), TempC: tempC,
		Purge: purge.dosing(), Tagged: tagged.dosing()}, dt)
	addAlarms(res, "inhibitor", dal)
	live.ProductMgL, live.ProductSetpoint, live.TracerUgL = Num(io.ProductMgL), Num(t.Inhibitor.SetpointMgL), Num(io.TracerUgL)
	live.ConsumptionPct, live.InhibitorLh, live.FeedForwardLh = Num(io.ConsumptionPct), Num(io.PumpLh), Num(io.FeedForwardLh)
	why = fmt.Sprintf("product %.2f mg/L, set-point %.2f mg/L, feed-forward %.3f L/h", io.ProductMgL, t.Inhibitor.SetpointMgL, io.FeedForwardLh)
	if p.inhibitor.FailSafe {
		why = "tracer unusable: inhibitor on feed-forward or fail-safe rate"
		live.FailSafe = append(live.FailSafe, "inhibitor")
	}
	res.Requests = append(res.Requests, actuate.Request{Actuator: t.Actuators.InhibitorPump, Value: io.PumpLh, FailSafe: p.inhibitor.FailSafe,
		By: "dosing.inhibitor", Reason: why, Inputs: []actuate.Input{input("fluor_ppb", fluor), input("purge_m3h", purge)}})

	live.AcidLh, live.BiocideLh, live.PHSetpoint = nan, nan, nan
	if t.Acid != nil {
		var ao dosing.AcidOutput
		p.acid, ao, dal = t.Acid.Step(p.acid, ph.dosing(), dt)
		addAlarms(res, "acid", dal)
		live.AcidLh, live.PHSetpoint = Num(ao.PumpLh), Num(t.Acid.SetpointPH)
		why = fmt.Sprintf("pH %.2f, set-point %.2f", ph.V, t.Acid.SetpointPH)
		if p.acid.FailSafe {
			why = "pH unusable: acid stopped"
			live.FailSafe = append(live.FailSafe, "acid")
		}
		res.Requests = append(res.Requests, actuate.Request{Actuator: t.Actuators.AcidPump, Value: ao.PumpLh, FailSafe: p.acid.FailSafe,
			By: "dosing.acid", Reason: why, Inputs: []actuate.Input{input("ph", ph)}})
	}
	if t.Biocide != nil {
		var bo dosing.BiocideOutput
		p.biocide, bo, dal = t.Biocide.Step(p.biocide, dosing.BiocideInput{ORP: orp.dosing(), TimeOfDayS: timeOfDayS}, dt)
		addAlarms(res, "biocide", dal)
		live.BiocideLh = Num(bo.PumpLh)
		why = fmt.Sprintf("ORP %.0f mV (feed at or below %.0f, stop at %.0f)", orp.V, t.Biocide.ORPOnMV, t.Biocide.ORPOffMV)
		if t.Biocide.Mode == dosing.BiocideSchedule {
			why = "schedule"
		}
		var inputs []actuate.Input
		if t.Biocide.Mode == dosing.BiocideORP {
			inputs = []actuate.Input{input("orp_mv", orp)}
		}
		if p.biocide.FailSafe {
			live.FailSafe = append(live.FailSafe, "biocide")
			inputs = nil // the controller's own fall-back (schedule or off) decides
		}
		res.Requests = append(res.Requests, actuate.Request{Actuator: t.Actuators.BiocidePump, Value: bo.PumpLh, FailSafe: p.biocide.FailSafe,
			By: "dosing.biocide", Reason: why, Inputs: inputs})
	}
	res.Tower = live
	res.Indices = p.indices(bo.Cycles, basin, temp, ph)
	if res.Indices != nil {
		for i := range res.Requests {
			if res.Requests[i].By == "cooling.blowdown" || res.Requests[i].By == "dosing.inhibitor" || res.Requests[i].By == "dosing.acid" {
				res.Requests[i].Indices = append(res.Requests[i].Indices, indexInputs(res.Indices)...)
			}
		}
	}
}

func indexInputs(x *Indices) []reading.Input {
	var out []reading.Input
	for _, v := range []struct {
		name string
		v    Num
	}{{"lsi", x.LSI}, {"rsi", x.RSI}, {"si_calcite", x.SICalcite}, {"si_gypsum", x.SIGypsum}} {
		if f := float64(v.v); !math.IsNaN(f) && !math.IsInf(f, 0) {
			out = append(out, reading.Input{Name: v.name, Value: math.Round(f*1000) / 1000})
		}
	}
	return out
}

// indices computes the scaling indices of the circulating water: the
// make-up analysis concentrated by the measured cycles at the measured basin
// pH and temperature (chem.Speciator.Concentrate), and the Standard Methods
// indices with the ionic strength of the conductivity (chem.Classic).
func (p *Controller) indices(cycles float64, basin, temp, ph Value) *Indices {
	t := p.cfg.Tower
	if t.Makeup.Ca <= 0 {
		return nil
	}
	x := &Indices{LSI: nan, RSI: nan, PSI: nan, LarsonSkold: nan, SICalcite: nan, SIAragonite: nan, SIGypsum: nan, SIAnhydrite: nan,
		SISiO2: nan, IonicStrength: nan, TDS: nan, MaxCycles: p.maxCycles, Binding: p.binding}
	if !(cycles >= 1) || !basin.OK || !temp.OK || !ph.OK || !(ph.V > 2 && ph.V < 13) {
		x.Error = "cycles, conductivity, temperature or pH not available"
		return x
	}
	tc := temp.V
	water, r, err := p.sp.Concentrate(t.Makeup, chem.Concentration{Factor: cycles, PHRule: chem.PHGiven, PH: ph.V, TempC: &tc})
	if err != nil {
		x.Error = err.Error()
		return x
	}
	x.SICalcite, x.SIAragonite, x.SIGypsum = Num(r.SI("Calcite")), Num(r.SI("Aragonite")), Num(r.SI("Gypsum"))
	x.SIAnhydrite, x.SISiO2 = Num(r.SI("Anhydrite")), Num(r.SI("SiO2(a)"))
	est, err := p.classic.EstimateFromConductivity(basin.V, tc, true)
	if err != nil {
		x.Error = err.Error()
		return x
	}
	x.IonicStrength, x.TDS = Num(est.IonicStrength), Num(est.TDS)
	ci, err := p.classic.ComputeOnline(&water, est.IonicStrength)
	if err != nil {
		x.Error = err.Error()
		return x
	}
	x.LSI, x.RSI, x.PSI, x.LarsonSkold = Num(ci.LSI), Num(ci.RSI), Num(ci.PSI), Num(ci.LarsonSkold)
	if p.procS-p.lastOptS >= OptimiseEveryS {
		p.lastOptS = p.procS
		prob := &cooling.CyclesProblem{Makeup: t.Makeup, BasinTempC: tc, WallTempC: math.Max(t.WallTempC, tc), PHRule: t.PHRule,
			BasinPH: ph.V, Quality: p.quality, Indices: p.limits}
		if mc, err := p.opt.MaxCycles(prob); err == nil {
			p.maxCycles, p.binding = Num(mc.Cycles), mc.Binding
			p.optimum = &CyclesOptimum{Cycles: mc.Cycles, Binding: mc.Binding, Makeup: t.Makeup, BasinTempC: tc, WallTempC: prob.WallTempC,
				BasinPH: ph.V, ProcessS: p.procS}
		} else {
			p.maxCycles, p.binding, p.optimum = nan, []string{"error: " + err.Error()}, nil
		}
		x.MaxCycles, x.Binding = p.maxCycles, p.binding
	}
	return x
}

var mmfModes = [...]string{"filtering", "backwash", "rinse"}

func (p *Controller) stepReuse(in Inputs, dt float64, res *Result) {
	r := p.cfg.Reuse
	s := r.Sensors
	live := &ReuseLive{}
	hl, turb := in.get(s.MMFHeadloss), in.get(s.MMFTurbidity)
	var mo reuse.MMFOutput
	var al []reuse.Alarm
	p.mmf, mo, al = r.MMF.Step(p.mmf, reuse.MMFInput{Headloss: hl.reuse(), Turbidity: turb.reuse()}, dt)
	addAlarms(res, "MMF", al)
	live.MMFMode, live.MMFHeadlossBar, live.MMFTurbidity, live.MMFLastReason = mmfModes[mo.Mode], Num(hl.V), Num(turb.V), p.mmf.LastReason
	why := "filtering"
	if mo.Mode != reuse.MMFFiltering {
		why = mmfModes[mo.Mode] + " (started on " + p.mmf.LastReason + ")"
	}
	res.Requests = append(res.Requests, actuate.Request{Actuator: r.Actuators.MMF, Value: float64(mo.Mode), By: "reuse.mmf", Reason: why})

	tmp, q, temp := in.get(s.UFTMP), in.get(s.UFFlow), in.get(s.Temp)
	l20 := Value{V: math.NaN()}
	if tmp.OK && q.OK && temp.OK && tmp.V > 0 && q.V > 0 {
		if perf, err := p.membranes.UF(reuse.UFReading{FiltrateFlow: q.V, Area: r.UFAreaM2, FeedIn: tmp.V, FeedOut: tmp.V, TempC: temp.V}); err == nil {
			l20 = Value{V: perf.Perm20, AgeS: math.Max(math.Max(tmp.AgeS, q.AgeS), temp.AgeS), OK: true}
		}
	}
	var uo reuse.UFOutput
	p.uf, uo, al = r.UF.Step(p.uf, reuse.UFInput{TMP: tmp.reuse(), L20: l20.reuse()}, dt)
	addAlarms(res, "UF", al)
	live.UFMode, live.UFTMPBar, live.UFFlowM3h, live.UFL20, live.UFBaselineL20, live.UFBackwashes = uo.Mode.String(), Num(tmp.V), Num(q.V), Num(l20.V), Num(r.UF.BaselineL20), p.uf.Backwashes
	why = fmt.Sprintf("%s; TMP %.2f bar, L20 %.0f LMH/bar (baseline %.0f)", uo.Mode, tmp.V, l20.V, r.UF.BaselineL20)
	res.Requests = append(res.Requests, actuate.Request{Actuator: r.Actuators.UF, Value: float64(uo.Mode), By: "reuse.uf", Reason: why})

	p.stepRO(in, dt, live, res)
	if r.Routing != nil {
		p.stepRouting(in, live, res)
	}
	res.Reuse = live
}

// roData assembles an RO operating point from the sensors.
func (p *Controller) roData(in Inputs) (reuse.ROData, float64, bool) {
	s := p.cfg.Reuse.Sensors
	vals := []Value{in.get(s.ROFeedP), in.get(s.RODiffP), in.get(s.ROPermP), in.get(s.ROFeedCond), in.get(s.ROPermCond),
		in.get(s.ROFeedFlow), in.get(s.ROPermFlow), in.get(s.Temp)}
	age := 0.0
	for _, v := range vals {
		if !v.OK || math.IsNaN(v.V) {
			return reuse.ROData{PermeateFlow: math.NaN(), FeedPressure: math.NaN()}, math.Inf(1), false
		}
		age = math.Max(age, v.AgeS)
	}
	d := reuse.ROData{FeedPressure: vals[0].V, DiffPressure: vals[1].V, PermeatePressure: vals[2].V,
		FeedTDS: p.tds(vals[3].V), PermeateTDS: p.tds(vals[4].V), TempC: vals[7].V, PermeateFlow: vals[6].V}
	if vals[5].V > 0 {
		d.Recovery = vals[6].V / vals[5].V
	}
	return d, age, d.PermeateFlow > 0 && d.Recovery > 0 && d.Recovery < 1
}

// tds converts conductivity to NaCl-equivalent TDS.
func (p *Controller) tds(ec float64) float64 {
	if k := p.cfg.Reuse.RO.CondToTDS; k > 0 {
		return k * ec
	}
	est, err := p.classic.EstimateFromConductivity(ec, 25, true)
	if err != nil {
		return math.NaN()
	}
	return est.TDS
}

// NormalizeRO normalises an RO data set against the plant's reference (ASTM D4516).
func (p *Controller) NormalizeRO(d reuse.ROData) (reuse.RONormalized, error) {
	return p.membranes.NormalizeRO(p.cfg.Reuse.RO.Reference, d)
}

func (p *Controller) stepRO(in Inputs, dt float64, live *ReuseLive, res *Result) {
	r := p.cfg.Reuse
	st := &p.ro
	st.InModeS += dt
	st.SinceCleanS += dt
	live.RONormFlow, live.RONormSP, live.RONormDP, live.ROFlowChangePct, live.ROSPChangePct, live.RODPChangePct, live.RORecovery = nan, nan, nan, nan, nan, nan, nan
	d, age, ok := p.roData(in)
	fresh := ok && age <= r.RO.StaleAfterS
	// No permeate and no feed pressure: the RO is not running (its own
	// cleaning, or the UF out of service), which is no sensor fault.
	idle := !ok && age <= r.RO.StaleAfterS && !(d.PermeateFlow > 0) && !(d.FeedPressure > 0)
	why := "in service"
	switch st.Mode {
	case ROCleaning:
		why = "CIP in progress (" + strings.Join(st.Reasons, "; ") + ")"
		if st.InModeS >= r.RO.CleanDurationS {
			st.Mode, st.InModeS, st.SinceCleanS, st.TriggerS, st.Reasons = ROService, 0, 0, 0, nil
			why = "CIP finished: back in service"
		}
	default:
		if idle {
			why, st.TriggerS = "not running (no feed)", 0
			break
		}
		if !ok || !fresh {
			res.Alarms = append(res.Alarms, Alarm{Code: "ro_sensors", Severity: alarm.SeverityWarning,
				Message: "RO: operating data missing or stale; normalisation and cleaning triggers suspended"})
			st.TriggerS = 0
			break
		}
		n, err := p.NormalizeRO(d)
		if err != nil {
			st.TriggerS = 0
			break
		}
		live.RONormFlow, live.RONormSP, live.RONormDP = Num(n.PermeateFlow), Num(n.SaltPassage), Num(n.DiffPressure)
		live.ROFlowChangePct, live.ROSPChangePct, live.RODPChangePct, live.RORecovery = Num(n.FlowChangePct), Num(n.SaltPassageChgPct), Num(n.DiffPressureChgPct), Num(d.Recovery)
		recs := r.RO.Thresholds.Recommend(n)
		var reasons []string
		for _, rc := range recs {
			reasons = append(reasons, rc.Message)
		}
		live.ROCleanReasons = reasons
		if len(recs) == 0 {
			st.TriggerS = 0
			break
		}
		st.TriggerS += dt
		if st.TriggerS >= r.RO.ConfirmS && st.SinceCleanS >= r.RO.MinCleanIntervalS {
			st.Mode, st.InModeS, st.Reasons = ROCleaning, 0, reasons
			why = "CIP: " + strings.Join(reasons, "; ")
		} else {
			why = "cleaning recommended: " + strings.Join(reasons, "; ")
		}
	}
	live.ROMode = "service"
	if st.Mode == ROCleaning {
		live.ROMode = "cip"
	}
	req := actuate.Request{Actuator: r.Actuators.RO, Value: float64(st.Mode), By: "reuse.ro", Reason: why}
	if ok {
		req.Indices = []reading.Input{}
		for _, v := range []struct {
			name string
			v    Num
		}{{"ro_flow_change_pct", live.ROFlowChangePct}, {"ro_sp_change_pct", live.ROSPChangePct}, {"ro_dp_change_pct", live.RODPChangePct}} {
			if f := float64(v.v); !math.IsNaN(f) {
				req.Indices = append(req.Indices, reading.Input{Name: v.name, Value: math.Round(f*100) / 100})
			}
		}
	}
	res.Requests = append(res.Requests, req)
}
