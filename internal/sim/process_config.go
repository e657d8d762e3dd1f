package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/shuixiao/shuixiao/chem"
	"github.com/shuixiao/shuixiao/cooling"
	"github.com/shuixiao/shuixiao/dosing"
	"github.com/shuixiao/shuixiao/internal/actuate"
	"github.com/shuixiao/shuixiao/internal/control"
	"github.com/shuixiao/shuixiao/plant"
	"github.com/shuixiao/shuixiao/reuse"
)

// DefaultProcessParams is the demo plant: a 1,500 m³/h cooling tower with a
// system volume of about 400 m³ (time constant of about four days at five
// cycles), a daily heat-load cycle and a heat-load step every third day,
// make-up conductivity swinging ±15 % over a day and a half, drifting
// conductivity and tracer sensors, and a 40 m³/h UF/RO reuse train whose
// membranes foul within days.
func DefaultProcessParams() ProcessParams {
	p := baseProcess()
	p.Tower.HoldupM3, p.Tower.BasinM3PerPct, p.Tower.MakeupCapacityM3h = 280, 2, 45
	p.DailyLoadAmp = 0.12
	p.HeatSteps = []HeatStep{{AtS: 2 * 86400, RangeC: 10}, {AtS: 5 * 86400, RangeC: 8}, {AtS: 8 * 86400, RangeC: 10}}
	p.SwingStartS, p.SwingPeriodS = 86400, 36*3600
	p.Sensors = plant.SensorModel{CondDriftPerDay: 0.002, TracerDriftPerDay: -0.002, RelNoise: 0.003}
	p.RO.FlowDeclinePerDay, p.RO.SPRisePerDay, p.RO.DPRisePerDay = 0.015, 0.004, 0.025
	return p
}

// FastProcessParams is a compact plant for closed-loop tests: the same
// tower duties with a system volume of 42 m³, so the cycles' time constant
// is seven to nine hours and a heat-load step and a make-up swing fit in a
// few hours of process time. The heat load steps from a range of 8 to
// 10.4 °C at one hour; the make-up conductivity swings ±15 % with a
// four-hour period from three hours; the RO and UF foul fast enough to clean
// within the run.
func FastProcessParams() ProcessParams {
	p := baseProcess()
	p.Tower.HoldupM3, p.Tower.BasinM3PerPct, p.Tower.MakeupCapacityM3h = 30, 0.2, 35
	p.HeatSteps = []HeatStep{{AtS: 3600, RangeC: 10.4}}
	p.SwingStartS, p.SwingPeriodS = 3*3600, 4*3600
	p.Sensors = plant.SensorModel{CondDriftPerDay: 0.002, TracerDriftPerDay: -0.002, RelNoise: 0.003}
	p.RO.FlowDeclinePerDay, p.RO.SPRisePerDay, p.RO.DPRisePerDay = 0.6, 0.3, 0.4
	p.UF.CakePerM = 6e11
	p.ROCleanS, p.ROMinCleanIntervalS, p.UFCEBEvery = 1800, 2*3600, 4
	return p
}

func baseProcess() ProcessParams {
	return ProcessParams{
		Tower: plant.TowerParams{CirculationM3h: 1500, EvapPerM3hC: 0.00153, DriftFraction: 0.00002, BlowdownCapacityM3h: 12,
			ProductDensity: 1.2, TracerPerProduct: 10, PolymerLossPerH: 0.01},
		RangeC: 8, BasinTempC: 30, MakeupCond: 400, MakeupSwing: 0.15, Stress: 1,
		PHFree: 8.6, MakeupAlkMeqL: 2.2, AcidEqPerL: 2, BiocideGPerL: 100, ChlorineDemandPerH: 1.5,
		FeedTurbidity: 6, MMFFlowM3h: 60, MMFCleanHeadloss: 0.15, MMFHeadlossPerM3: 0.00006, MMFRemoval: 0.9,
		UF:        plant.UFParams{AreaM2: 1200, CleanResistance: 3e11, CakePerM: 2e11, ChemicalShare: 0.2, IrreversibleShare: 0.1, BackwashRecovery: 0.8},
		UFFlowM3h: 54, UFFoulingPotential: 1,
		RO: plant.ROFouling{FlowDeclinePerDay: 0.05, SPRisePerDay: 0.02, DPRisePerDay: 0.03, CleanRecovery: 0.9},
		RORef: reuse.ROData{FeedPressure: 10, DiffPressure: 1.5, PermeatePressure: 0.5, FeedTDS: 1200, PermeateTDS: 18,
			Recovery: 0.75, TempC: 25, PermeateFlow: 40},
		ROTempSwingC: 2, ROCleanS: 4 * 3600, ROMinCleanIntervalS: 12 * 3600, PermeateTurbNTU: 0.03, PermeatePH: 7.0,
	}
}

// processMakeup is the make-up water's laboratory analysis (a soft surface
// water of about 400 µS/cm), concentrated by the cycles for the indices.
var processMakeup = chem.Analysis{TempC: 20, PH: 7.8, Ca: 40, Mg: 10, Na: 20.8, K: 3, Cl: 25, SO4: 40, Alk: 110, SiO2: 8}

// ProcessControl builds the control configuration of a simulated plant: the
// sensors of its two analysers, controllers tuned to its time constants,
// and the actuators with their interlocks. Times are process seconds; the
// plant reports every tick·speed of them.
func ProcessControl(plantID, enterprise, meterPrefix string, p ProcessParams, speed float64, tick time.Duration) (*control.PlantConfig, error) {
	tw := p.Tower
	const cycles, product = 5.0, 5.0
	v := tw.Volume(60)
	evap := tw.EvapPerM3hC * tw.CirculationM3h * p.RangeC
	drift := tw.DriftFraction * tw.CirculationM3h
	purge := evap / (cycles - 1)
	tau := 3600 * v / purge // s
	stale := math.Max(600, 15*tick.Seconds()*speed)
	feed := purge * product / 1000 / tw.ProductDensity // L/h of neat inhibitor
	acidPH := p.PHFree - 0.2
	acidFeed := p.MakeupAlkMeqL * cycles * (1 - math.Pow(10, -0.2)) * purge / p.AcidEqPerL
	biocide := math.Round(2.5*(p.ChlorineDemandPerH*v+purge)/p.BiocideGPerL*10) / 10
	band := math.Max(2, math.Min(20, 0.015*v/tw.BasinM3PerPct))
	round := func(x float64, digits int) float64 { s := math.Pow(10, float64(digits)); return math.Round(x*s) / s }
	pumpMax := round(5*feed, 3)
	acidMax := round(3*acidFeed, 1)

	sensor := func(tag, ch string) control.Sensor { return control.Sensor{Meter: meterPrefix + tag, Channel: ch} }
	scaled := func(tag, ch string, k float64) control.Sensor {
		return control.Sensor{Meter: meterPrefix + tag, Channel: ch, Scale: k}
	}
	cal, err := dosing.TwoPoint(0, 0, 100, 100) // the fluorometer reports tracer µg/L
	if err != nil {
		return nil, err
	}
	thr, err := reuse.LoadThresholds()
	if err != nil {
		return nil, err
	}
	mmf, err := reuse.MMFConfigFrom(thr)
	if err != nil {
		return nil, err
	}
	mmf.BackwashDurationS, mmf.RinseDurationS, mmf.ConfirmS, mmf.StaleAfterS = 600, 300, 600, stale
	uf, err := reuse.UFConfigFrom(thr)
	if err != nil {
		return nil, err
	}
	m, err := reuse.LoadMembranes()
	if err != nil {
		return nil, err
	}
	cleanTMP := p.UF.TMP(m, plant.UFState{}, p.UFFlowM3h, 20)
	uf.BaselineL20 = round(p.UFFlowM3h*1000/p.UF.AreaM2/cleanTMP, 1)
	// Readings count once the rack has filtered for two analyser reports.
	uf.BackwashDurationS, uf.CEBDurationS, uf.CIPDurationS, uf.SettleS = 60, 900, 4*3600, math.Max(120, 2.5*tick.Seconds()*speed)
	uf.StaleAfterS, uf.PlausibleTMPMax = stale, 3
	if p.UFCEBEvery > 0 {
		uf.CEBEveryBackwashes = p.UFCEBEvery
	}
	if speed > 200 {
		// A fast simulation resolves minutes badly: backwash less often so the
		// sequence stays readable on the timeline.
		uf.BackwashIntervalS = math.Max(uf.BackwashIntervalS, 40*tick.Seconds()*speed)
	}
	roThr, err := reuse.ROThresholdsFrom(thr)
	if err != nil {
		return nil, err
	}
	cfg := &control.PlantConfig{
		ID: plantID, Enterprise: enterprise, Name: "循环冷却水及回用水处理站", NameEN: "Cooling tower and water-reuse train",
		TimeScale: speed, StepS: tick.Seconds(),
		Tower: &control.TowerConfig{
			Sensors: control.TowerSensors{Level: sensor(tagTowerAnalyser, "level_pct"), BasinCond: sensor(tagTowerAnalyser, "cond_us_cm"),
				MakeupCond: sensor(tagTowerAnalyser, "makeup_cond_us_cm"), Fluorescence: sensor(tagTowerAnalyser, "fluor_ppb"),
				BasinTemp: sensor(tagTowerAnalyser, "temp_c"), ReturnTemp: sensor(tagTowerAnalyser, "return_temp_c"),
				Circulation: sensor(tagTowerAnalyser, "flow_m3h"), BlowdownFlow: sensor(tagTowerAnalyser, "blowdown_m3h"),
				MakeupFlow: sensor(tagTowerAnalyser, "makeup_m3h"), PH: sensor(tagTowerAnalyser, "ph"), ORP: sensor(tagTowerAnalyser, "orp_mv"),
				Tagged: sensor(tagTowerAnalyser, "tagged_mg_l")},
			Actuators: control.TowerActuators{MakeupValve: "makeup_valve", BlowdownValve: "blowdown_valve", InhibitorPump: "inhibitor_pump",
				AcidPump: "acid_pump", BiocidePump: "biocide_pump"},
			EvapPerM3hC: tw.EvapPerM3hC,
			// Level unknown: keep the make-up open (the basin overflows to drain)
			// rather than let the circulating pumps run dry.
			Level: cooling.LevelConfig{StartPct: 60 - band/2, StopPct: 60 + band/2, LowAlarmPct: 20, HighAlarmPct: 95,
				PlausibleMin: -5, PlausibleMax: 105, StaleAfterS: stale, FailSafeOpen: true},
			Blowdown: cooling.BlowdownConfig{CyclesSetpoint: cycles, Kp: 0.5, TiS: round(tau/5, 0), ValveCapacity: tw.BlowdownCapacityM3h,
				ValveMax: 1, DriftFlow: drift, ECMin: 20, ECMax: 20000, StaleAfterS: stale, FailSafeValve: 0.3, CyclesAlarmDev: 0.5,
				SystemVolumeM3: round(v, 1)},
			Inhibitor: dosing.InhibitorConfig{SetpointMgL: product, Kp: round(feed, 4), TiS: round(tau/3, 0), ProductDensity: tw.ProductDensity,
				PumpMaxLh: pumpMax, Meter: dosing.Fluorometer{Cal: cal, Ratio: tw.TracerPerProduct, RefTempC: 25}, MaxPlausible: 25,
				StaleAfterS: stale, FailSafeLh: round(feed, 4), ConsumptionAlarmPct: 30, TaggedRatio: 1, DeviationAlarmPct: 20},
			Acid: &dosing.AcidConfig{SetpointPH: round(acidPH, 2), DeadbandPH: 0.02, Kp: round(acidFeed/0.3, 2), TiS: round(tau/3, 0),
				PumpMaxLh: acidMax, PlausibleMin: 4, PlausibleMax: 11, StaleAfterS: stale, LowLowPH: round(acidPH-1, 2), HighAlarmPH: round(acidPH+0.5, 2)},
			Biocide: &dosing.BiocideConfig{Mode: dosing.BiocideORP, ORPOnMV: 650, ORPOffMV: 700, PumpLh: biocide, PlausibleMinMV: -500,
				PlausibleMaxMV: 1200, StaleAfterS: stale, ScheduleOnFault: false},
			Makeup: processMakeup, WallTempC: p.BasinTempC + p.RangeC + 20,
		},
		Reuse: &control.ReuseConfig{
			Sensors: control.ReuseSensors{MMFHeadloss: scaled(tagTrainAnalyser, "mmf_dp_kpa", 0.01), MMFTurbidity: sensor(tagTrainAnalyser, "turb_ntu"),
				UFTMP: scaled(tagTrainAnalyser, "tmp_kpa", 0.01), UFFlow: sensor(tagTrainAnalyser, "uf_flow_m3h"), Temp: sensor(tagTrainAnalyser, "temp_c"),
				ROFeedP: scaled(tagTrainAnalyser, "ro_feed_mpa", 10), RODiffP: scaled(tagTrainAnalyser, "ro_dp_kpa", 0.01),
				ROPermP: scaled(tagTrainAnalyser, "ro_perm_mpa", 10), ROFeedCond: sensor(tagTrainAnalyser, "ro_feed_us_cm"),
				ROPermCond: sensor(tagTrainAnalyser, "ro_perm_us_cm"), ROFeedFlow: sensor(tagTrainAnalyser, "ro_feed_m3h"),
				ROPermFlow: sensor(tagTrainAnalyser, "ro_perm_m3h")},
			Actuators: control.ReuseActuators{MMF: "mmf_mode", UF: "uf_mode", RO: "ro_mode"},
			MMF:       mmf, UF: uf, UFAreaM2: p.UF.AreaM2,
			RO: control.ROControl{Reference: p.RORef, Thresholds: roThr, CondToTDS: 0.64, MinCleanIntervalS: p.ROMinCleanIntervalS,
				CleanDurationS: p.ROCleanS, StaleAfterS: stale, ConfirmS: 1800},
			Routing: reuseRouting(sensor, stale),
		},
		Actuators: []actuate.Actuator{
			{Name: "makeup_valve", Device: meterPrefix + "MUV", Unit: "%", Limits: actuate.Limits{Min: 0, Max: 100, FailSafe: 100, Lockout: 0,
				StaleAfterS: 2 * stale, Values: []float64{0, 100}}, RefreshS: 60},
			{Name: "blowdown_valve", Device: meterPrefix + "BDV", Unit: "%", Limits: actuate.Limits{Min: 0, Max: 100, FailSafe: 30, Lockout: 0,
				MaxRisePerS: 100.0 / 600, MaxFallPerS: 100.0 / 600, StaleAfterS: 2 * stale}, Deadband: 2, RefreshS: 60},
			{Name: "inhibitor_pump", Device: meterPrefix + "INH", Unit: "L/h", Limits: actuate.Limits{Min: 0, Max: pumpMax, FailSafe: round(feed, 4),
				Lockout: 0, MaxRisePerS: pumpMax / 1800, StaleAfterS: 2 * stale}, Deadband: round(pumpMax/50, 5), RefreshS: 60},
			{Name: "acid_pump", Device: meterPrefix + "ACD", Unit: "L/h", Limits: actuate.Limits{Min: 0, Max: acidMax, FailSafe: 0, Lockout: 0,
				MaxRisePerS: acidMax / 1800, StaleAfterS: 2 * stale}, Deadband: round(acidMax/50, 3), RefreshS: 60},
			{Name: "biocide_pump", Device: meterPrefix + "BIO", Unit: "L/h", Limits: actuate.Limits{Min: 0, Max: biocide, FailSafe: 0, Lockout: 0,
				Values: []float64{0, biocide}, StaleAfterS: 2 * stale}, RefreshS: 60},
			{Name: "mmf_mode", Device: meterPrefix + "MMF", Unit: "mode", Limits: actuate.Limits{Min: 0, Max: 2, Values: []float64{0, 1, 2}}, RefreshS: 60},
			{Name: "uf_mode", Device: meterPrefix + "UFR", Unit: "mode", Limits: actuate.Limits{Min: 0, Max: 4, FailSafe: 4, Lockout: 4,
				Values: []float64{0, 1, 2, 3, 4}}, RefreshS: 60},
			{Name: "ro_mode", Device: meterPrefix + "ROU", Unit: "mode", Limits: actuate.Limits{Min: 0, Max: 1, Values: []float64{0, 1}}, RefreshS: 60},
		},
		Setpoints: map[string]control.Bound{"cycles": {Min: 2, Max: 8, MaxStep: 1}, "product_mg_l": {Min: 2, Max: 15, Unit: "mg/L"},
			"ph": {Min: round(acidPH-0.8, 1), Max: round(p.PHFree, 1)}},
	}
	for _, u := range cfg.Reuse.Routing.Uses {
		// Closed unless the routing shows the water fit for the use; closed when
		// its readings are stale or locked out.
		cfg.Actuators = append(cfg.Actuators, actuate.Actuator{Name: u.Valve, Device: meterPrefix + reuseValveTags[u.Valve], Unit: "%",
			Limits: actuate.Limits{Min: 0, Max: 100, FailSafe: 0, Lockout: 0, Values: []float64{0, 100}, StaleAfterS: 2 * stale}, RefreshS: 60})
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sim: process control configuration: %w", err)
	}
	return cfg, nil
}

// reuseValveTags are the device tags of the reuse-water valves.
var reuseValveTags = map[string]string{"reuse_to_rinse": "RVR", "reuse_to_boiler": "RVB", "reuse_to_tower": "RVT", "reuse_to_washing": "RVW"}

// permeateLab is the RO permeate's laboratory analysis for the parameters
// its analysers do not measure (a low-salinity permeate; mg/L).
var permeateLab = map[string]float64{"cl_mgl": 3, "hardness_mgl_caco3": 1, "alk_mgl_caco3": 4, "cod_mgl": 1, "nh3n_mgl": 0.2, "sio2_mgl": 0.3}

// reuseRouting sends the RO permeate (40 m³/h at design) to four uses
// whose demands add up to more than it makes, by priority and quality
// class: the product rinse needs RO-permeate quality, the boiler and the
// cooling tower their GB/T 19923 make-up columns, floor washing the washing
// column. The analyser's permeate conductivity (and TDS from it), turbidity
// and pH are judged live; the laboratory analysis covers the rest.
func reuseRouting(sensor func(tag, ch string) control.Sensor, stale float64) *control.RoutingConfig {
	cond := sensor(tagTrainAnalyser, "ro_perm_us_cm")
	tds := cond
	tds.Scale = 0.64 // NaCl-equivalent TDS, as the RO normalisation uses
	return &control.RoutingConfig{StaleAfterS: stale,
		Streams: []control.RouteStream{{Name: "ro_permeate", Label: "反渗透产水", LabelEN: "RO permeate", Flow: sensor(tagTrainAnalyser, "ro_perm_m3h"),
			Quality: map[string]control.Sensor{"conductivity_us_cm": cond, "tds_mgl": tds, "turbidity_ntu": sensor(tagTrainAnalyser, "ro_perm_turb_ntu"),
				"ph": sensor(tagTrainAnalyser, "ro_perm_ph")},
			Lab: permeateLab}},
		Uses: []control.RouteUse{
			{Name: "product_rinse", Label: "产品漂洗水", LabelEN: "Product rinse water", DemandM3h: 12, Priority: 1, Class: "ro_permeate", Valve: "reuse_to_rinse"},
			{Name: "boiler_makeup", Label: "锅炉补给水（除盐前）", LabelEN: "Boiler make-up (to the demineraliser)", DemandM3h: 10, Priority: 2,
				Class: "boiler_makeup", Valve: "reuse_to_boiler"},
			{Name: "tower_makeup", Label: "冷却塔补水", LabelEN: "Cooling-tower make-up", DemandM3h: 15, Priority: 3, Class: "cooling_makeup", Valve: "reuse_to_tower"},
			{Name: "floor_washing", Label: "地面冲洗", LabelEN: "Floor washing", DemandM3h: 8, Priority: 4, Class: "washing", Valve: "reuse_to_washing"},
		}}
}
