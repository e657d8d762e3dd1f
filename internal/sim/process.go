package sim

import (
	"math"
	"math/rand"

	"github.com/shuixiao/shuixiao/plant"
	"github.com/shuixiao/shuixiao/reuse"
)

// ProcessParams describe a simulated cooling tower and water-reuse train
// (multimedia filter → UF → RO) and the disturbances they see. Flows m³/h,
// times in seconds of process time. The tower's dynamics are package plant's
// (mass balances of water, conductivity, treatment product and tagged
// polymer; UF and RO fouling); acid, chlorine and the multimedia filter are
// simple mixed-tank and loading models written here. The numbers are
// engineering assumptions for a plausible plant, not values from a standard.
type ProcessParams struct {
	Tower   plant.TowerParams
	Sensors plant.SensorModel
	// Heat load: the cooling range (°C) before and after each step.
	RangeC     float64
	HeatSteps  []HeatStep
	BasinTempC float64
	// Daily heat-load cycle: relative amplitude of the range (0: none).
	DailyLoadAmp float64
	// Make-up quality: conductivity (µS/cm) and its swing.
	MakeupCond   float64
	MakeupSwing  float64 // relative amplitude
	SwingStartS  float64
	SwingPeriodS float64
	SwingEndS    float64 // 0: never ends
	// Scaling stress on the tagged polymer (plant.TowerInput.Stress).
	Stress float64

	// Acid: pH of the circulating water without acid, make-up alkalinity
	// (meq/L) and acid strength (eq/L of product).
	PHFree, MakeupAlkMeqL, AcidEqPerL float64
	// Oxidising biocide: product strength (g Cl2/L) and chlorine demand (1/h).
	BiocideGPerL, ChlorineDemandPerH float64

	// Reuse train.
	FeedTurbidity      float64 // NTU into the multimedia filter
	MMFFlowM3h         float64
	MMFCleanHeadloss   float64 // bar
	MMFHeadlossPerM3   float64 // bar per m³ filtered per NTU of feed
	MMFRemoval         float64 // share of turbidity removed
	UF                 plant.UFParams
	UFFlowM3h          float64
	UFFoulingPotential float64
	RO                 plant.ROFouling
	RORef              reuse.ROData // as-new operating point at RORef.TempC
	ROTempSwingC       float64      // daily feed temperature swing, °C
	// Permeate after the degasser: turbidity (NTU) and pH as its analysers
	// read them while the RO produces.
	PermeateTurbNTU, PermeatePH float64
	// Sequence timing the plant's control configuration uses: RO cleaning
	// duration and shortest interval, and backwashes between UF CEBs (0: the
	// default of reuse's thresholds table).
	ROCleanS, ROMinCleanIntervalS float64
	UFCEBEvery                    int
}

// HeatStep changes the cooling range at a process time.
type HeatStep struct {
	AtS, RangeC float64
}

// ProcessState is the simulated plant at one instant.
type ProcessState struct {
	T                     float64 // process seconds since start
	Tower                 plant.TowerState
	AcidMeqL, ChlorineMgL float64
	// Actuators as last commanded.
	MakeupOpen                       bool
	BlowdownPct                      float64
	InhibitorLh, AcidLh, BiocideLh   float64
	MMFMode                          reuse.MMFMode
	UFMode                           reuse.UFMode
	ROMode                           int
	MMFHeadloss                      float64
	UF                               plant.UFState
	RO                               plant.ROState
	ROCleanings, UFBackwashes, MMFBW int // sequences started
	// ReuseValves are the reuse-water valves to the production uses as last
	// commanded (% open, by actuator name). Replaced, never changed in place,
	// so a copy of the state stays as it was.
	ReuseValves map[string]float64
	// PermeateBypass is the share of RO feed reaching the permeate past the
	// membranes (a failed O-ring or interconnector: the ro-seal injection).
	PermeateBypass float64
	// Last flows, for the instruments.
	Flows plant.TowerFlows
}

// NewProcessState starts the plant at the steady state of its design
// cycles: basin at cycles × make-up conductivity, product at its set-point,
// acid holding the pH 0.2 below the free pH, some free chlorine.
func NewProcessState(p ProcessParams, cycles, productMgL float64) ProcessState {
	return ProcessState{Tower: plant.TowerState{LevelPct: 60, CondUScm: cycles * p.MakeupCond, ProductMgL: productMgL, TaggedMgL: productMgL},
		AcidMeqL: p.MakeupAlkMeqL * cycles * (1 - math.Pow(10, -0.2)), ChlorineMgL: 0.8,
		MMFHeadloss: p.MMFCleanHeadloss, RO: plant.NewRO(), BlowdownPct: 20}
}

// RangeAt is the cooling range (heat load) at process time t.
func (p *ProcessParams) RangeAt(t float64) float64 {
	r := p.RangeC
	for _, s := range p.HeatSteps {
		if t >= s.AtS {
			r = s.RangeC
		}
	}
	if p.DailyLoadAmp > 0 {
		// Peak load in the afternoon (15:00), trough before dawn.
		r *= 1 + p.DailyLoadAmp*math.Cos(2*math.Pi*(math.Mod(t, 86400)-15*3600)/86400)
	}
	return r
}

// MakeupCondAt is the make-up conductivity at process time t.
func (p *ProcessParams) MakeupCondAt(t float64) float64 {
	if p.MakeupSwing == 0 || t < p.SwingStartS || (p.SwingEndS > 0 && t >= p.SwingEndS) || p.SwingPeriodS <= 0 {
		return p.MakeupCond
	}
	return p.MakeupCond * (1 + p.MakeupSwing*math.Sin(2*math.Pi*(t-p.SwingStartS)/p.SwingPeriodS))
}

// roTempAt is the RO feed temperature at process time t.
func (p *ProcessParams) roTempAt(t float64) float64 {
	return p.RORef.TempC + p.ROTempSwingC*math.Sin(2*math.Pi*math.Mod(t, 86400)/86400)
}

// Advance integrates the plant over dt seconds in sub-steps of at most 20 s.
func (p *ProcessParams) Advance(s ProcessState, dt float64, membranes *reuse.Membranes) ProcessState {
	for dt > 0 {
		h := math.Min(dt, 20)
		s = p.step(s, h, membranes)
		dt -= h
	}
	return s
}

func (p *ProcessParams) step(s ProcessState, dt float64, m *reuse.Membranes) ProcessState {
	tw := p.Tower
	v0 := tw.Volume(s.Tower.LevelPct)
	var f plant.TowerFlows
	s.Tower, f = tw.Step(s.Tower, plant.TowerInput{RangeC: p.RangeAt(s.T), MakeupCondUScm: p.MakeupCondAt(s.T), MakeupOpen: s.MakeupOpen,
		BlowdownValve: s.BlowdownPct / 100, InhibitorLh: s.InhibitorLh, Stress: p.Stress}, dt)
	s.Flows = f
	v1 := tw.Volume(s.Tower.LevelPct)
	h := dt / 3600
	purge := f.Blowdown + f.Drift
	// Acid (meq/L) and free chlorine (mg/L) as mixed tanks; chlorine also has a demand.
	s.AcidMeqL = math.Max(0, (v0*s.AcidMeqL+(p.AcidEqPerL*s.AcidLh-purge*s.AcidMeqL)*h)/v1) // eq/h into m³·meq/L
	s.ChlorineMgL = math.Max(0, (v0*s.ChlorineMgL+(p.BiocideGPerL*s.BiocideLh-purge*s.ChlorineMgL-p.ChlorineDemandPerH*v0*s.ChlorineMgL)*h)/v1)

	// Multimedia filter: headloss grows with the solids it holds.
	switch s.MMFMode {
	case reuse.MMFFiltering:
		s.MMFHeadloss += p.MMFHeadlossPerM3 * p.FeedTurbidity * p.MMFFlowM3h * h
	case reuse.MMFBackwash:
		s.MMFHeadloss = p.MMFCleanHeadloss + (s.MMFHeadloss-p.MMFCleanHeadloss)*math.Exp(-dt/120)
	}
	q := 0.0
	if s.UFMode == reuse.UFFiltering && s.MMFMode == reuse.MMFFiltering {
		q = p.UFFlowM3h
	}
	s.UF = p.UF.Step(s.UF, s.UFMode, q, p.UFFoulingPotential, dt)
	if p.roRunning(s) {
		s.RO = p.RO.Step(s.RO, dt)
	}
	s.T += dt
	return s
}

// roRunning: the RO draws from a break tank after the UF, so it runs
// through backwashes and CEBs; it stops for its own cleaning and while the
// UF is out of service for a CIP or stopped.
func (p *ProcessParams) roRunning(s ProcessState) bool {
	return s.ROMode == 0 && s.UFMode != reuse.UFCIP && s.UFMode != reuse.UFStopped
}

// PH is the circulating water's pH: the free (degassed) pH lowered by the
// alkalinity the acid has consumed (bicarbonate buffer at a fixed CO2).
func (p *ProcessParams) PH(s ProcessState) float64 {
	alk := p.MakeupAlkMeqL * s.Tower.CondUScm / math.Max(p.MakeupCond, 1)
	left := math.Max(alk-s.AcidMeqL, 0.02*alk)
	return p.PHFree + math.Log10(left/alk)
}

// ORP of the circulating water (mV) from the free chlorine.
func ORP(chlorineMgL float64) float64 { return 250 + 500*(1-math.Exp(-chlorineMgL/0.4)) }

// TowerReadings are the tower analyser's values.
type TowerReadings struct {
	LevelPct, Cond, MakeupCond, Tracer, Tagged, TempC, ReturnTempC, CirculationM3h, MakeupM3h, BlowdownM3h, PH, ORP float64
}

// ReadTower samples the tower's instruments (drift and noise of p.Sensors).
func (p *ProcessParams) ReadTower(s ProcessState, rng *rand.Rand) TowerReadings {
	r := p.Sensors.Read(p.Tower, s.Tower, p.MakeupCondAt(s.T), s.T, rng)
	noise := func(sd float64) float64 {
		if rng == nil {
			return 0
		}
		return sd * rng.NormFloat64()
	}
	return TowerReadings{LevelPct: r.LevelPct, Cond: r.CondUScm, MakeupCond: r.MakeupCondUScm, Tracer: r.TracerUgL, Tagged: r.TaggedMgL,
		TempC: p.BasinTempC + noise(0.05), ReturnTempC: p.BasinTempC + p.RangeAt(s.T) + noise(0.05),
		CirculationM3h: p.Tower.CirculationM3h * (1 + noise(0.003)), MakeupM3h: s.Flows.Makeup, BlowdownM3h: s.Flows.Blowdown * (1 + noise(0.005)),
		PH: p.PH(s) + noise(0.01), ORP: ORP(s.ChlorineMgL) + noise(3)}
}

// TrainReadings are the reuse train analyser's values (pressures in the
// units of the meter channels: kPa differential, MPa line pressures).
type TrainReadings struct {
	MMFHeadlossKPa, MMFTurbidity, UFTMPKPa, UFFlowM3h, UFTurbidity, TempC       float64
	ROFeedMPa, RODPKPa, ROPermMPa, ROFeedCond, ROPermCond, ROFeedM3h, ROPermM3h float64
	// Permeate quality; NaN while the RO does not produce (no sample flow).
	ROPermTurb, ROPermPH float64
}

// ReadTrain samples the reuse train's instruments. The RO runs at constant
// permeate flow: as the membranes foul the feed pressure rises to hold it.
func (p *ProcessParams) ReadTrain(s ProcessState, m *reuse.Membranes, rng *rand.Rand) TrainReadings {
	noise := func(rel float64) float64 {
		if rng == nil {
			return 1
		}
		return 1 + rel*rng.NormFloat64()
	}
	temp := p.roTempAt(s.T)
	r := TrainReadings{TempC: temp, MMFTurbidity: p.FeedTurbidity * (1 - p.MMFRemoval) * noise(0.02), ROPermTurb: math.NaN(), ROPermPH: math.NaN()}
	if s.MMFMode == reuse.MMFFiltering {
		r.MMFHeadlossKPa = 100 * s.MMFHeadloss * noise(0.01)
	}
	if s.UFMode == reuse.UFFiltering && s.MMFMode == reuse.MMFFiltering {
		r.UFFlowM3h = p.UFFlowM3h * noise(0.003)
		r.UFTMPKPa = 100 * p.UF.TMP(m, s.UF, p.UFFlowM3h, temp) * noise(0.005)
		r.UFTurbidity = 0.05 * noise(0.1)
	}
	if !p.roRunning(s) {
		return r // out of service: no flow, no pressure
	}
	ref, err := m.Point(p.RORef)
	if err != nil {
		return r
	}
	y := p.RORef.Recovery
	qp := p.RORef.PermeateFlow
	cf := p.RORef.FeedTDS
	sp := p.RORef.PermeateTDS / p.RORef.FeedTDS * s.RO.SaltPassage
	cp := cf * sp
	cfb := cf * math.Log(1/(1-y)) / y
	dp := p.RORef.DiffPressure * s.RO.DiffPressure
	ndp := ref.NDP * ref.TCF / m.TCF(temp) / s.RO.Permeability
	feedP := ndp + dp/2 + p.RORef.PermeatePressure + m.OsmoticPressure(cfb, temp) - m.OsmoticPressure(cp, temp)
	// Conductivity from NaCl-equivalent TDS with the same 0.64 factor the
	// controller's estimate uses (chem: TDS ≈ 0.64·EC25).
	r.ROFeedMPa, r.RODPKPa, r.ROPermMPa = feedP/10*noise(0.002), 100*dp*noise(0.005), p.RORef.PermeatePressure/10
	cpm := cp*(1-s.PermeateBypass) + cf*s.PermeateBypass // what the permeate analyser sees
	r.ROFeedCond, r.ROPermCond = cf/0.64*noise(0.003), cpm/0.64*noise(0.01)
	r.ROFeedM3h, r.ROPermM3h = qp/y*noise(0.003), qp*noise(0.003)
	r.ROPermTurb, r.ROPermPH = p.PermeateTurbNTU*noise(0.1), p.PermeatePH+0.05*(noise(1)-1)
	return r
}
