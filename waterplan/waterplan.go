// Package waterplan tracks an enterprise's metered intake against its annual
// water-use plan (计划用水, split by month) and its withdrawal permits (取水许可,
// an annual volume per source within a validity period): the share used,
// the thresholds crossed (e.g. 80 % and 100 %), the over-plan volume split into
// the tiers of progressive pricing (超计划累进加价), and for a park the
// production its remaining allocation allows (以水定产).
//
// The package is pure: plans, permits and monthly volumes in, status out. The
// tier schedule is local policy (each city sets its own), so it is data with
// its source, never a literal here.
package waterplan

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/shuixiao/shuixiao/meter"
)

// maxVolume bounds a plan's or a permit's annual volume (m³): Hunan's whole
// industry takes about 5·10⁹ m³ a year.
const maxVolume = 1e10

// Plan is an enterprise's water-use plan for a calendar year, m³ per month.
type Plan struct {
	Enterprise string      `json:"enterprise"`
	Year       int         `json:"year"`
	Monthly    [12]float64 `json:"monthly_m3"`
}

// Annual is the plan's yearly total.
func (p Plan) Annual() float64 {
	s := 0.0
	for _, v := range p.Monthly {
		s += v
	}
	return s
}

// Validate refuses a plan without enterprise, with a year outside 2000–2100,
// or with a month that is negative, not finite or beyond the bound; a plan of
// zero for the whole year is refused too (nothing could be tracked against it).
func (p Plan) Validate() error {
	if p.Enterprise == "" {
		return errors.New("plan: no enterprise")
	}
	if p.Year < 2000 || p.Year > 2100 {
		return fmt.Errorf("plan of %s: year %d outside 2000–2100", p.Enterprise, p.Year)
	}
	for i, v := range p.Monthly {
		if math.IsNaN(v) || v < 0 || v > maxVolume {
			return fmt.Errorf("plan of %s %d: month %d: %g m³ is not a usable volume", p.Enterprise, p.Year, i+1, v)
		}
	}
	if p.Annual() <= 0 {
		return fmt.Errorf("plan of %s %d: zero for the whole year", p.Enterprise, p.Year)
	}
	return nil
}

// Permit is a withdrawal permit: an annual volume from one source, valid over
// [ValidFrom, ValidTo).
type Permit struct {
	ID         string       `json:"id"`
	Enterprise string       `json:"enterprise"`
	Source     meter.Source `json:"source"`
	AnnualM3   float64      `json:"annual_m3"`
	ValidFrom  time.Time    `json:"valid_from"`
	ValidTo    time.Time    `json:"valid_to"`
}

// Validate refuses a permit without ID or enterprise, with an unknown source,
// an unusable volume or an empty validity.
func (p Permit) Validate() error {
	switch {
	case p.ID == "" || p.Enterprise == "":
		return errors.New("permit: no ID or enterprise")
	case !p.Source.Valid():
		return fmt.Errorf("permit %s: unknown source %q", p.ID, p.Source)
	case !(p.AnnualM3 > 0 && p.AnnualM3 <= maxVolume):
		return fmt.Errorf("permit %s: annual volume %g m³ outside (0, %g]", p.ID, p.AnnualM3, float64(maxVolume))
	case !p.ValidTo.After(p.ValidFrom):
		return fmt.Errorf("permit %s: valid to %s is not after valid from %s", p.ID, p.ValidTo.Format(time.DateOnly), p.ValidFrom.Format(time.DateOnly))
	}
	return nil
}

// Tier is one step of progressive pricing: the over-plan volume up to UpTo
// (a share of the plan, e.g. 0.3 for 30 %; +Inf for the last step) pays
// Surcharge times the base price on top of it.
type Tier struct {
	UpTo      float64 `json:"up_to"`
	Surcharge float64 `json:"surcharge"`
}

// Schedule is a progressive-pricing schedule with its source.
type Schedule struct {
	Name     string `json:"name"`
	Source   string `json:"source"`
	Verified bool   `json:"verified"`
	Tiers    []Tier `json:"tiers"`
}

// Validate requires tiers with growing bounds, the last unbounded, and
// surcharges that are finite and not negative.
func (s Schedule) Validate() error {
	if len(s.Tiers) == 0 {
		return fmt.Errorf("schedule %q: no tiers", s.Name)
	}
	prev := 0.0
	for i, t := range s.Tiers {
		if !(t.UpTo > prev) || math.IsNaN(t.Surcharge) || math.IsInf(t.Surcharge, 0) || t.Surcharge < 0 {
			return fmt.Errorf("schedule %q: tier %d (up to %g, surcharge %g) must end above %g with a finite surcharge ≥ 0", s.Name, i+1, t.UpTo, t.Surcharge, prev)
		}
		prev = t.UpTo
	}
	if !math.IsInf(prev, 1) {
		return fmt.Errorf("schedule %q: the last tier must have no upper bound", s.Name)
	}
	return nil
}

// Month is one calendar month's metered intake by source (m³).
type Month struct {
	Month    int // 1–12
	BySource map[meter.Source]float64
	// Coverage is the share of the month with data (0–1), as the period
	// volumes report it; a month below full coverage is flagged, never
	// silently counted as complete.
	Coverage float64
}

func (m Month) total() float64 {
	s := 0.0
	for _, v := range m.BySource {
		s += v
	}
	return s
}
