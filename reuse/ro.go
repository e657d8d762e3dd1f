package reuse

import (
	"fmt"
	"math"
)

// psiPerBar converts bar to psi (1 bar = 14.5038 psi).
const psiPerBar = 14.503773773

// ROData is one operating point of an RO stage (or the reference, start-up point).
type ROData struct {
	FeedPressure     float64 // bar
	DiffPressure     float64 // feed − concentrate pressure drop, bar
	PermeatePressure float64 // bar
	FeedTDS          float64 // mg/L (NaCl equivalent)
	PermeateTDS      float64 // mg/L
	Recovery         float64 // permeate/feed, 0..1
	TempC            float64
	PermeateFlow     float64 // m³/h
}

func (d ROData) validate() error {
	switch {
	case !(d.Recovery > 0 && d.Recovery < 1):
		return fmt.Errorf("recovery %g outside (0, 1)", d.Recovery)
	case !(d.FeedTDS > 0) || d.PermeateTDS < 0 || !(d.PermeateFlow > 0):
		return fmt.Errorf("feed TDS, permeate TDS and permeate flow must be positive")
	case !(d.TempC > 0 && d.TempC < 50):
		return fmt.Errorf("temperature %g °C outside 0-50", d.TempC)
	case d.DiffPressure < 0 || !(d.FeedPressure > 0) || math.IsNaN(d.PermeatePressure):
		return fmt.Errorf("pressures invalid")
	}
	return nil
}

// ROPoint is one data set with its derived quantities.
type ROPoint struct {
	FeedBrineTDS  float64 // log-mean feed-brine concentration C_f·ln(1/(1−Y))/Y, mg/L
	PiFeedBrine   float64 // bar
	PiPermeate    float64 // bar
	NDP           float64 // net driving pressure, bar
	TCF           float64
	SaltPassage   float64 // %
	FeedBrineFlow float64 // (Q_feed + Q_concentrate)/2, m³/h
}

// RONormalized is the ASTM D4516 standardisation of an actual point to reference conditions.
type RONormalized struct {
	Ref, Act           ROPoint
	PermeateFlow       float64 // normalised permeate flow, m³/h
	SaltPassage        float64 // normalised salt passage, %
	DiffPressure       float64 // normalised feed-brine ΔP, bar
	FlowChangePct      float64 // vs the reference flow
	SaltPassageChgPct  float64
	DiffPressureChgPct float64
}

// TCF is the FilmTec temperature-correction factor relative to 25 °C.
func (m *Membranes) TCF(tempC float64) float64 {
	e := m.tcfBelow
	if tempC >= 25 {
		e = m.tcfAbove
	}
	return math.Exp(e * (1/m.tcfRef - 1/(m.tcfOffset+tempC)))
}

// OsmoticPressure is π (bar) of a NaCl-equivalent TDS (mg/L): 1.12·(273+T)·Σm psi with Σm the
// molality of the ions (two per NaCl).
func (m *Membranes) OsmoticPressure(tdsMgL, tempC float64) float64 {
	sumM := 2 * tdsMgL / 1000 / m.nacl
	return m.osmotic * (m.tcfOffset + tempC) * sumM / psiPerBar
}

// Point derives the quantities of one data set.
func (m *Membranes) Point(d ROData) (ROPoint, error) {
	if err := d.validate(); err != nil {
		return ROPoint{}, err
	}
	var p ROPoint
	p.FeedBrineTDS = d.FeedTDS * math.Log(1/(1-d.Recovery)) / d.Recovery
	p.PiFeedBrine = m.OsmoticPressure(p.FeedBrineTDS, d.TempC)
	p.PiPermeate = m.OsmoticPressure(d.PermeateTDS, d.TempC)
	p.NDP = d.FeedPressure - d.DiffPressure/2 - d.PermeatePressure - (p.PiFeedBrine - p.PiPermeate)
	p.TCF = m.TCF(d.TempC)
	p.SaltPassage = 100 * d.PermeateTDS / d.FeedTDS
	feed := d.PermeateFlow / d.Recovery
	p.FeedBrineFlow = (feed + (feed - d.PermeateFlow)) / 2
	if !(p.NDP > 0) {
		return p, fmt.Errorf("net driving pressure %.3f bar is not positive", p.NDP)
	}
	return p, nil
}

// NormalizeRO standardises the actual data set act to the reference ref (ASTM D4516 §6):
//
//	Q_ps = Q_pa · (NDP_s/NDP_a) · (TCF_s/TCF_a)
//	%SP_s = %SP_a · (Q_pa/Q_ps) · (C_fb,s/C_fb,a) · (C_f,a/C_f,s)
//	ΔP_s = ΔP_a · (Q_fb,s/Q_fb,a)^1.5
func (m *Membranes) NormalizeRO(ref, act ROData) (RONormalized, error) {
	var n RONormalized
	var err error
	if n.Ref, err = m.Point(ref); err != nil {
		return n, fmt.Errorf("reference: %w", err)
	}
	if n.Act, err = m.Point(act); err != nil {
		return n, fmt.Errorf("actual: %w", err)
	}
	n.PermeateFlow = act.PermeateFlow * (n.Ref.NDP / n.Act.NDP) * (n.Ref.TCF / n.Act.TCF)
	n.SaltPassage = n.Act.SaltPassage * (act.PermeateFlow / n.PermeateFlow) *
		(n.Ref.FeedBrineTDS / n.Act.FeedBrineTDS) * (act.FeedTDS / ref.FeedTDS)
	n.DiffPressure = act.DiffPressure * math.Pow(n.Ref.FeedBrineFlow/n.Act.FeedBrineFlow, m.dpExp)
	n.FlowChangePct = 100 * (n.PermeateFlow/ref.PermeateFlow - 1)
	n.SaltPassageChgPct = 100 * (n.SaltPassage/n.Ref.SaltPassage - 1)
	if ref.DiffPressure > 0 {
		n.DiffPressureChgPct = 100 * (n.DiffPressure/ref.DiffPressure - 1)
	}
	return n, nil
}

// ROThresholds are the cleaning triggers, in percent change from the reference.
type ROThresholds struct {
	FlowDropPct float64 // clean when normalised permeate flow has dropped this much
	SPRisePct   float64 // clean when normalised salt passage has risen this much
	DPRisePct   float64 // clean when normalised ΔP has risen this much
}

// ROThresholdsFrom reads the defaults of data/thresholds.csv.
func ROThresholdsFrom(t Thresholds) (ROThresholds, error) {
	v, err := need(t, "thresholds.csv", "ro_npf_drop_pct", "ro_nsp_rise_pct", "ro_ndp_rise_pct")
	if err != nil {
		return ROThresholds{}, err
	}
	return ROThresholds{v[0], v[1], v[2]}, nil
}

// Recommendation is a reason to clean an RO stage.
type Recommendation struct {
	Trigger string // "permeate_flow", "salt_passage", "differential_pressure"
	Message string
}

// Recommend lists the cleaning triggers that n has crossed. The likely foulant follows the
// usual reading of the three signals: ΔP with flow loss points to biofouling or particulates
// (lead elements), flow loss with salt-passage rise to scale (tail elements).
func (t ROThresholds) Recommend(n RONormalized) []Recommendation {
	var r []Recommendation
	if -n.FlowChangePct >= t.FlowDropPct {
		r = append(r, Recommendation{"permeate_flow", fmt.Sprintf("normalised permeate flow %.1f %% (limit −%.0f %%): clean (CIP)", n.FlowChangePct, t.FlowDropPct)})
	}
	if n.SaltPassageChgPct >= t.SPRisePct {
		r = append(r, Recommendation{"salt_passage", fmt.Sprintf("normalised salt passage +%.1f %% (limit +%.0f %%): scaling or membrane damage", n.SaltPassageChgPct, t.SPRisePct)})
	}
	if n.DiffPressureChgPct >= t.DPRisePct {
		r = append(r, Recommendation{"differential_pressure", fmt.Sprintf("normalised ΔP +%.1f %% (limit +%.0f %%): biofouling or particulate fouling", n.DiffPressureChgPct, t.DPRisePct)})
	}
	return r
}
