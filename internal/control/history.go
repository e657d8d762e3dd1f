package control

import (
	"time"

	"github.com/shuixiao/shuixiao/internal/actuate"
)

// HistoryPoint is one control step as the console plots it.
type HistoryPoint struct {
	Time        time.Time `json:"t"`
	ProcessTime time.Time `json:"pt"`
	Cycles      Num       `json:"cycles"`
	CyclesSP    Num       `json:"cycles_sp"`
	ProductMgL  Num       `json:"product"`
	ProductSP   Num       `json:"product_sp"`
	LevelPct    Num       `json:"level"`
	LSI         Num       `json:"lsi"`
	SICalcite   Num       `json:"si_calcite"`
	BlowdownPct Num       `json:"blowdown_pct"`
	InhibitorLh Num       `json:"inhibitor_l_h"`
	MakeupCond  Num       `json:"makeup_cond"`
	UFTMPBar    Num       `json:"uf_tmp"`
	UFMode      string    `json:"uf_mode,omitempty"`
	ROFlowChg   Num       `json:"ro_flow_chg"`
}

func historyPoint(l *Live, _ map[string]actuate.Decision) HistoryPoint {
	h := HistoryPoint{Time: l.Time, ProcessTime: l.ProcessTime, Cycles: nan, CyclesSP: nan, ProductMgL: nan, ProductSP: nan,
		LevelPct: nan, LSI: nan, SICalcite: nan, BlowdownPct: nan, InhibitorLh: nan, MakeupCond: nan, UFTMPBar: nan, ROFlowChg: nan}
	if t := l.Tower; t != nil {
		h.Cycles, h.CyclesSP, h.ProductMgL, h.ProductSP = t.Cycles, t.CyclesSetpoint, t.ProductMgL, t.ProductSetpoint
		h.LevelPct, h.BlowdownPct, h.InhibitorLh, h.MakeupCond = t.LevelPct, t.BlowdownPct, t.InhibitorLh, t.MakeupCond
	}
	if x := l.Indices; x != nil {
		h.LSI, h.SICalcite = x.LSI, x.SICalcite
	}
	if r := l.Reuse; r != nil {
		h.UFTMPBar, h.UFMode, h.ROFlowChg = r.UFTMPBar, r.UFMode, r.ROFlowChangePct
	}
	return h
}

// history keeps at most max points over the whole run: when full it drops
// every other point and from then on keeps only every stride-th step, so the
// oldest part thins out instead of falling off.
type history struct {
	max    int
	stride int
	n      int
	points []HistoryPoint
}

func (h *history) add(p HistoryPoint) {
	if h.stride == 0 {
		h.stride = 1
	}
	h.n++
	if h.n%h.stride != 0 {
		return
	}
	h.points = append(h.points, p)
	if len(h.points) >= h.max {
		kept := h.points[:0]
		for i, q := range h.points {
			if i%2 == 1 {
				kept = append(kept, q)
			}
		}
		h.points = kept
		h.stride *= 2
	}
}
