package waterplan

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/shuixiao/shuixiao/meter"
)

// MonthStatus is one month of the plan year.
type MonthStatus struct {
	Month    int     `json:"month"`
	PlanM3   float64 `json:"plan_m3"`
	IntakeM3 float64 `json:"intake_m3"`
	Share    float64 `json:"share"` // intake / plan (0 when the month's plan is 0 and nothing was taken)
	OverM3   float64 `json:"over_m3"`
	Coverage float64 `json:"coverage"`
}

// Crossing is a threshold reached: a month's intake against its plan, the
// year to date against the annual plan, or a permit's use against its volume.
type Crossing struct {
	Scope     string  `json:"scope"` // "month", "year", "permit"
	Ref       string  `json:"ref"`   // the month ("2025-07"), the year ("2025") or the permit ID
	Threshold float64 `json:"threshold"`
	Share     float64 `json:"share"`
}

// TierVolume is the over-plan volume that falls in one pricing tier.
type TierVolume struct {
	From      float64 `json:"from"` // over-plan share where the tier starts
	UpTo      float64 `json:"up_to"`
	Surcharge float64 `json:"surcharge"`
	M3        float64 `json:"m3"`
}

// PermitStatus is a permit's use in the plan year.
type PermitStatus struct {
	Permit   Permit  `json:"permit"`
	IntakeM3 float64 `json:"intake_m3"`
	Share    float64 `json:"share"`
}

// Status tracks an enterprise's plan year through its last reported month.
type Status struct {
	Enterprise    string         `json:"enterprise"`
	Year          int            `json:"year"`
	Through       int            `json:"through_month"`
	PlanAnnualM3  float64        `json:"plan_annual_m3"`
	PlanToDateM3  float64        `json:"plan_to_date_m3"`
	IntakeM3      float64        `json:"intake_to_date_m3"`
	ShareToDate   float64        `json:"share_to_date"` // intake / plan to date
	ShareAnnual   float64        `json:"share_annual"`  // intake / annual plan
	Months        []MonthStatus  `json:"months"`
	Crossings     []Crossing     `json:"crossings"`
	OverPlanM3    float64        `json:"over_plan_m3"`
	Tiers         []TierVolume   `json:"tiers"`
	Schedule      string         `json:"schedule"`
	Permits       []PermitStatus `json:"permits"`
	IncompleteFor []int          `json:"incomplete_months"` // months with coverage below 1
}

// Track compares the metered months with the plan and the permits. Months
// are those of the plan's year reported so far (each once); thresholds are
// shares in (0, 10] such as 0.8 and 1.0. The over-plan volume is assessed
// month by month (a month's intake above its plan) and split into the
// schedule's tiers by the share of that month's plan it exceeds.
func Track(p Plan, permits []Permit, months []Month, thresholds []float64, sched Schedule) (Status, error) {
	if err := p.Validate(); err != nil {
		return Status{}, err
	}
	if err := sched.Validate(); err != nil {
		return Status{}, err
	}
	for _, t := range thresholds {
		if !(t > 0 && t <= 10) {
			return Status{}, fmt.Errorf("threshold %g outside (0, 10]", t)
		}
	}
	ms := append([]Month(nil), months...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Month < ms[j].Month })
	st := Status{Enterprise: p.Enterprise, Year: p.Year, PlanAnnualM3: p.Annual(), Schedule: sched.Name,
		Months: []MonthStatus{}, Crossings: []Crossing{}, Permits: []PermitStatus{}, IncompleteFor: []int{}}
	st.Tiers = make([]TierVolume, len(sched.Tiers))
	from := 0.0
	for i, t := range sched.Tiers {
		st.Tiers[i] = TierVolume{From: from, UpTo: t.UpTo, Surcharge: t.Surcharge}
		from = t.UpTo
	}
	for i, m := range ms {
		if m.Month < 1 || m.Month > 12 || (i > 0 && ms[i-1].Month == m.Month) {
			return Status{}, fmt.Errorf("plan of %s %d: month %d is outside 1–12 or given twice", p.Enterprise, p.Year, m.Month)
		}
		if err := m.check(); err != nil {
			return Status{}, fmt.Errorf("plan of %s %d: month %d: %w", p.Enterprise, p.Year, m.Month, err)
		}
		plan, in := p.Monthly[m.Month-1], m.total()
		s := MonthStatus{Month: m.Month, PlanM3: plan, IntakeM3: in, Share: share(in, plan), OverM3: math.Max(0, in-plan), Coverage: m.Coverage}
		st.Months = append(st.Months, s)
		st.Through = m.Month
		st.IntakeM3 += in
		if m.Coverage < 1 {
			st.IncompleteFor = append(st.IncompleteFor, m.Month)
		}
		st.OverPlanM3 += s.OverM3
		split(st.Tiers, s.OverM3, plan)
		st.Crossings = appendCrossings(st.Crossings, "month", fmt.Sprintf("%d-%02d", p.Year, m.Month), s.Share, thresholds)
	}
	for m := 1; m <= st.Through; m++ {
		st.PlanToDateM3 += p.Monthly[m-1]
	}
	st.ShareToDate = share(st.IntakeM3, st.PlanToDateM3)
	st.ShareAnnual = share(st.IntakeM3, st.PlanAnnualM3)
	st.Crossings = appendCrossings(st.Crossings, "year", fmt.Sprint(p.Year), st.ShareAnnual, thresholds)
	for _, pm := range permits {
		if err := pm.Validate(); err != nil {
			return Status{}, err
		}
		if pm.Enterprise != p.Enterprise {
			return Status{}, fmt.Errorf("permit %s belongs to %s, not %s", pm.ID, pm.Enterprise, p.Enterprise)
		}
		ps := PermitStatus{Permit: pm}
		for _, m := range ms {
			ps.IntakeM3 += m.BySource[pm.Source] * validShare(pm, p.Year, m.Month)
		}
		ps.Share = ps.IntakeM3 / pm.AnnualM3
		st.Permits = append(st.Permits, ps)
		st.Crossings = appendCrossings(st.Crossings, "permit", pm.ID, ps.Share, thresholds)
	}
	return st, nil
}

// check refuses a month whose volumes or coverage are unusable.
func (m Month) check() error {
	for src, v := range m.BySource {
		if !src.Valid() {
			return fmt.Errorf("unknown source %q", src)
		}
		if math.IsNaN(v) || v < 0 || v > maxVolume {
			return fmt.Errorf("source %s: %g m³ is not a usable volume", src, v)
		}
	}
	if math.IsNaN(m.Coverage) || m.Coverage < 0 || m.Coverage > 1 {
		return fmt.Errorf("coverage %g outside [0, 1]", m.Coverage)
	}
	return nil
}

// share is used/planned; a positive use against no plan is +Inf, nothing
// against nothing is 0.
func share(used, planned float64) float64 {
	switch {
	case planned > 0:
		return used / planned
	case used > 0:
		return math.Inf(1)
	}
	return 0
}

// split adds a month's over-plan volume to the tiers, each tier taking the
// part between its bounds (shares of the month's plan); with no plan for the
// month the whole excess is in the last tier.
func split(tiers []TierVolume, over, plan float64) {
	if over <= 0 {
		return
	}
	if plan <= 0 {
		tiers[len(tiers)-1].M3 += over
		return
	}
	for i := range tiers {
		lo, hi := tiers[i].From*plan, tiers[i].UpTo*plan
		if over <= lo {
			break
		}
		tiers[i].M3 += math.Min(over, hi) - lo
	}
}

// appendCrossings adds one crossing per threshold the share reached.
func appendCrossings(c []Crossing, scope, ref string, s float64, thresholds []float64) []Crossing {
	for _, t := range thresholds {
		if s >= t {
			c = append(c, Crossing{Scope: scope, Ref: ref, Threshold: t, Share: s})
		}
	}
	return c
}

// validShare is the share of a month inside a permit's validity (by time).
func validShare(p Permit, year, month int) float64 {
	start := time.Date(year, time.Month(month), 1, 0, 0, 0, 0, p.ValidFrom.Location())
	end := start.AddDate(0, 1, 0)
	lo, hi := maxTime(start, p.ValidFrom), minTime(end, p.ValidTo)
	if !hi.After(lo) {
		return 0
	}
	return float64(hi.Sub(lo)) / float64(end.Sub(start))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Headroom is what a park's (or an enterprise's) remaining allocation allows
// (以水定产): the volume left of the allocation and the production it covers
// at an intake per unit of product. A negative remainder means the allocation
// is already exceeded: the production allowed is 0.
func Headroom(allocationM3, usedM3, intakePerUnit float64) (remainingM3, production float64, err error) {
	if !(allocationM3 > 0 && allocationM3 <= maxVolume) || math.IsNaN(usedM3) || usedM3 < 0 || !(intakePerUnit > 0) || math.IsInf(intakePerUnit, 0) {
		return 0, 0, fmt.Errorf("headroom: allocation %g m³, used %g m³ and intake per unit %g must be positive and finite", allocationM3, usedM3, intakePerUnit)
	}
	remainingM3 = allocationM3 - usedM3
	return remainingM3, math.Max(0, remainingM3) / intakePerUnit, nil
}

// Sources lists the sources of a month in a stable order (for reports).
func (m Month) Sources() []meter.Source {
	out := make([]meter.Source, 0, len(m.BySource))
	for s := range m.BySource {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
