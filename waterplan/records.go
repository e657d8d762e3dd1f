package waterplan

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrOverlap is wrapped by the error of a permit whose validity overlaps
// another permit of the same enterprise and source.
var ErrOverlap = errors.New("permits overlap")

// sumTolerance is how far (m³) the months may sum from a stated annual
// figure: plans are written in whole cubic metres, so rounding of the
// split is allowed, nothing more.
const sumTolerance = 0.5

// CheckAnnual refuses a plan whose months do not sum to the annual figure
// it was stated with (within half a cubic metre of rounding).
func (p Plan) CheckAnnual(annualM3 float64) error {
	if math.IsNaN(annualM3) || annualM3 <= 0 || annualM3 > maxVolume {
		return fmt.Errorf("plan of %s %d: annual figure %g m³ outside (0, %g]", p.Enterprise, p.Year, annualM3, float64(maxVolume))
	}
	if s := p.Annual(); math.Abs(s-annualM3) > sumTolerance {
		return fmt.Errorf("plan of %s %d: the months sum to %.2f m³, the annual figure is %.2f m³ (difference %.2f m³)", p.Enterprise, p.Year, s, annualM3, s-annualM3)
	}
	return nil
}

// SplitEvenly makes a plan of annualM3 spread over the months in proportion
// to their days, rounded to the cubic metre cumulatively (month m takes the
// rounded share of the days up to its end less that up to its start), so no
// month is negative and the months sum to the annual figure exactly.
func SplitEvenly(enterprise string, year int, annualM3 float64) Plan {
	p := Plan{Enterprise: enterprise, Year: year}
	start := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	total := time.Date(year+1, 1, 1, 0, 0, 0, 0, time.UTC).Sub(start).Hours()
	prev := 0.0
	for m := 1; m <= 12; m++ {
		upTo := annualM3
		if m < 12 {
			upTo = math.Round(annualM3 * time.Date(year, time.Month(m)+1, 1, 0, 0, 0, 0, time.UTC).Sub(start).Hours() / total)
		}
		p.Monthly[m-1] = upTo - prev
		prev = upTo
	}
	return p
}

// Overlaps reports whether two permits of one enterprise and source are
// valid at the same time.
func Overlaps(a, b Permit) bool {
	return a.Enterprise == b.Enterprise && a.Source == b.Source && a.ValidFrom.Before(b.ValidTo) && b.ValidFrom.Before(a.ValidTo)
}

// CheckPermit validates p and refuses it when it overlaps one of others (the
// enterprise's permits already held; one with p's ID is the permit being
// replaced and is skipped), naming the permit it overlaps.
func CheckPermit(p Permit, others []Permit) error {
	if err := p.Validate(); err != nil {
		return err
	}
	for _, o := range others {
		if o.ID != p.ID && Overlaps(p, o) {
			return fmt.Errorf("permit %s (%s, %s to %s) overlaps permit %s (%s to %s): %w", p.ID, p.Source,
				p.ValidFrom.Format(time.DateOnly), p.ValidTo.Format(time.DateOnly), o.ID,
				o.ValidFrom.Format(time.DateOnly), o.ValidTo.Format(time.DateOnly), ErrOverlap)
		}
	}
	return nil
}

// PermitsFor returns the permits valid for some time of year.
func PermitsFor(permits []Permit, year int, loc *time.Location) []Permit {
	from, to := time.Date(year, 1, 1, 0, 0, 0, 0, loc), time.Date(year+1, 1, 1, 0, 0, 0, 0, loc)
	var out []Permit
	for _, p := range permits {
		if p.ValidFrom.Before(to) && from.Before(p.ValidTo) {
			out = append(out, p)
		}
	}
	return out
}
