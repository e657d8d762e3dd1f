// Package production defines the production and economic records an
// enterprise (or the regulator for it) reports: product output per period,
// industrial value added (万元, comparable prices), and declared annual water
// statistics (intake, reuse, non-conventional water) such as the 2020
// baselines of the Hunan plan, which precede the meters. It validates them
// (the plan's products and units from package balance) and reads them from
// CSV and XLSX uploads with errors that name the row and the field. It
// imports nothing of the server: package store keeps the records
// (store.Production), internal/efficiency uses them.
//
// Every figure derived from a record says its basis: a record is declared
// (reported by a person), a meter's volume is metered.
package production

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/reading"
)

// Kind is what a record counts.
type Kind string

// Kinds of record.
const (
	// Output is a product's output, in the product's unit (t, kL, 100m, Adt).
	Output Kind = "output"
	// ValueAdded is industrial value added, 10⁴ CNY (万元) at comparable prices.
	ValueAdded Kind = "value_added"
	// Intake, Reuse and NonConventional are declared water statistics, m³.
	Intake          Kind = "intake"
	Reuse           Kind = "reuse"
	NonConventional Kind = "non_conventional"
)

// Kinds lists every kind.
var Kinds = []Kind{Output, ValueAdded, Intake, Reuse, NonConventional}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

// Units of the kinds other than output.
const (
	UnitValueAdded = "10k CNY" // 万元
	UnitVolume     = "m3"
)

// Basis says where a figure comes from.
type Basis string

// Bases of a figure.
const (
	Metered  Basis = "metered"
	Declared Basis = "declared"
)

// Zone is the time zone record periods are whole days of (Asia/Shanghai,
// without a tz database: China has kept UTC+8 without daylight saving since
// 1991).
var Zone = time.FixedZone("CST", 8*3600)

// Bounds of a record.
var (
	// MinTime and MaxTime bound a record's period.
	MinTime = time.Date(2000, 1, 1, 0, 0, 0, 0, Zone)
	MaxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, Zone)
)

const (
	// MaxDays bounds a record's period: a year, leap or not.
	MaxDays = 366
	// MaxOutputPerDay bounds a product's output per day of the period, in
	// its unit: the largest Hunan steel works makes about 4·10⁴ t a day, so
	// 10⁶ of any unit a day is a typo (a missing decimal point), not output.
	MaxOutputPerDay = 1e6
	// MaxValueAddedPerDay bounds value added per day (10⁴ CNY): 10⁶ 万元 a
	// day is 3.65·10¹² CNY a year, above Hunan's whole GDP.
	MaxValueAddedPerDay = 1e6
	// MaxVolumePerDay bounds a declared volume per day (m³): 10⁸ m³ a day
	// is several times Hunan's whole industrial intake.
	MaxVolumePerDay = 1e8
	// MaxNote bounds a record's note in bytes.
	MaxNote = 500
)

// Record is one reported figure of an enterprise over a period.
type Record struct {
	ID         int64  `json:"id"`
	Enterprise string `json:"enterprise"`
	Kind       Kind   `json:"kind"`
	// Product is the plan's product name (balance.LookupProduct), for kind
	// output only.
	Product  string  `json:"product,omitempty"`
	Quantity float64 `json:"quantity"`
	// Unit is the product's unit of output (t, kL, 100m, Adt) for output,
	// UnitValueAdded for value added, UnitVolume for the statistics.
	Unit string `json:"unit"`
	// From and To bound the period [From, To): whole days in Zone.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// ReportedBy is the principal (API token) that reported the record,
	// ReportedAt when; both set by the server, not by the reporter.
	ReportedBy string    `json:"reported_by"`
	ReportedAt time.Time `json:"reported_at"`
	Note       string    `json:"note,omitempty"`
}

// Filter selects records whose period overlaps [From, To); empty fields do
// not filter (a zero From or To leaves that side open).
type Filter struct {
	Enterprises []string
	Kind        Kind
	From, To    time.Time
}

// FieldError is a validation error naming the field.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return "field " + e.Field + ": " + e.Msg }

func fieldErr(field, format string, a ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// Validate checks a record's content: the enterprise ID, a known kind, the
// plan's product in its own unit for output (and no product otherwise), a
// finite quantity within the kind's bounds per day, and a period of whole
// days in Zone of 1 to MaxDays days between MinTime and MaxTime. It
// normalises the product name and unit spelling (Normalize) first, so call
// it on the record you store. Who reported it is checked by the store.
func (r *Record) Validate() error {
	r.Normalize()
	if err := reading.ValidID(r.Enterprise); err != nil {
		return fieldErr("enterprise", "%v", err)
	}
	if !r.Kind.Valid() {
		return fieldErr("kind", "unknown kind %q (kinds: %s)", r.Kind, kindList())
	}
	days, err := r.days()
	if err != nil {
		return err
	}
	q := r.Quantity
	if math.IsNaN(q) || math.IsInf(q, 0) {
		return fieldErr("quantity", "%v is not a number", q)
	}
	switch r.Kind {
	case Output:
		p, ok := balance.LookupProduct(r.Product)
		if !ok {
			return fieldErr("product", "unknown product %q (the plan's products: %s)", r.Product, strings.Join(balance.ProductNames(), ", "))
		}
		r.Product = p.Name
		if r.Unit != p.Unit {
			return fieldErr("unit", "%s is counted in %s, not %q", p.Name, p.Unit, r.Unit)
		}
		if !(q > 0) {
			return fieldErr("quantity", "output %v must be positive (no output: report nothing)", q)
		}
		if q > MaxOutputPerDay*float64(days) {
			return fieldErr("quantity", "%v %s in %d days is more than %g a day: a typo?", q, r.Unit, days, float64(MaxOutputPerDay))
		}
	case ValueAdded:
		if r.Product != "" {
			return fieldErr("product", "value added is of the enterprise, not of product %q", r.Product)
		}
		if r.Unit != UnitValueAdded {
			return fieldErr("unit", "value added is counted in %q (万元), not %q", UnitValueAdded, r.Unit)
		}
		if !(q > 0) {
			return fieldErr("quantity", "value added %v must be positive", q)
		}
		if q > MaxValueAddedPerDay*float64(days) {
			return fieldErr("quantity", "%v 万元 in %d days is more than %g a day: a typo?", q, days, float64(MaxValueAddedPerDay))
		}
	default:
		if r.Product != "" {
			return fieldErr("product", "%s is a statistic of the enterprise, not of product %q", r.Kind, r.Product)
		}
		if r.Unit != UnitVolume {
			return fieldErr("unit", "%s is counted in %q, not %q", r.Kind, UnitVolume, r.Unit)
		}
		if q < 0 {
			return fieldErr("quantity", "volume %v is negative", q)
		}
		if q > MaxVolumePerDay*float64(days) {
			return fieldErr("quantity", "%v m³ in %d days is more than %g m³ a day: a typo?", q, days, float64(MaxVolumePerDay))
		}
	}
	if len(r.Note) > MaxNote || !utf8.ValidString(r.Note) {
		return fieldErr("note", "must be valid UTF-8 of at most %d bytes", MaxNote)
	}
	return nil
}

// Normalize writes the product name as the plan does and the unit as the
// kind spells it ("kl" → "kL", "万元" → "10k CNY", "m³" → "m3").
func (r *Record) Normalize() {
	r.Product = strings.TrimSpace(r.Product)
	if p, ok := balance.LookupProduct(r.Product); ok {
		r.Product = p.Name
	}
	u := strings.TrimSpace(r.Unit)
	switch {
	case u == "万元" || strings.EqualFold(u, UnitValueAdded):
		u = UnitValueAdded
	case u == "m³" || strings.EqualFold(u, UnitVolume):
		u = UnitVolume
	default:
		for _, o := range balance.OutputUnits {
			if strings.EqualFold(u, o) {
				u = o
			}
		}
	}
	r.Unit = u
}

// days checks the period and returns its length in days.
func (r *Record) days() (int, error) {
	for _, f := range []struct {
		name string
		t    time.Time
	}{{"from", r.From}, {"to", r.To}} {
		if f.t.IsZero() {
			return 0, fieldErr(f.name, "no date")
		}
		if !IsMidnight(f.t) {
			return 0, fieldErr(f.name, "%s is not midnight in UTC+8: periods are whole days", f.t.Format(time.RFC3339))
		}
		if f.t.Before(MinTime) || f.t.After(MaxTime) {
			return 0, fieldErr(f.name, "%s is outside %d–%d", f.t.In(Zone).Format(time.DateOnly), MinTime.Year(), MaxTime.Year()-1)
		}
	}
	if !r.To.After(r.From) {
		return 0, fieldErr("to", "the period ends (%s, exclusive) before it starts (%s)", r.To.In(Zone).Format(time.DateOnly), r.From.In(Zone).Format(time.DateOnly))
	}
	days := Days(r.From, r.To)
	if days > MaxDays {
		return 0, fieldErr("to", "the period has %d days, more than %d: report a year at most per record", days, MaxDays)
	}
	return days, nil
}

// IsMidnight reports whether t is a midnight in Zone.
func IsMidnight(t time.Time) bool {
	l := t.In(Zone)
	return l.Hour() == 0 && l.Minute() == 0 && l.Second() == 0 && l.Nanosecond() == 0
}

// Days is the number of whole days in [from, to) (both midnights in Zone).
func Days(from, to time.Time) int {
	return int(math.Round(to.Sub(from).Hours() / 24))
}

// Overlap is the number of whole days [from, to) shares with the record's
// period.
func (r Record) Overlap(from, to time.Time) int {
	lo, hi := r.From, r.To
	if from.After(lo) {
		lo = from
	}
	if to.Before(hi) {
		hi = to
	}
	if !hi.After(lo) {
		return 0
	}
	return Days(lo, hi)
}

// Prorated is the record's quantity counted over [from, to): the whole
// quantity if the record lies within the period, else its share in
// proportion to time (a monthly output of 30 days counted for 10 of them
// contributes a third; for whole-day periods, the share of whole days).
// Output is assumed steady within a record's period: that is the rule, and
// the caller says so with the figure (share < 1).
func (r Record) Prorated(from, to time.Time) (quantity, share float64) {
	whole := r.To.Sub(r.From)
	if whole <= 0 {
		return 0, 0
	}
	lo, hi := maxTime(r.From, from), minTime(r.To, to)
	if !hi.After(lo) {
		return 0, 0
	}
	share = float64(hi.Sub(lo)) / float64(whole)
	return r.Quantity * share, share
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

// Covered is the part of [from, to) that records' periods cover, as a
// fraction of it (overlapping records count once).
func Covered(recs []Record, from, to time.Time) float64 {
	total := to.Sub(from)
	if total <= 0 {
		return 0
	}
	type span struct{ lo, hi time.Time }
	var spans []span
	for _, r := range recs {
		lo, hi := maxTime(r.From, from), minTime(r.To, to)
		if hi.After(lo) {
			spans = append(spans, span{lo, hi})
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].lo.Before(spans[j].lo) })
	var covered time.Duration
	var end time.Time
	for _, s := range spans {
		if s.lo.Before(end) {
			s.lo = end
		}
		if s.hi.After(s.lo) {
			covered += s.hi.Sub(s.lo)
			end = s.hi
		}
	}
	return float64(covered) / float64(total)
}

// ParseDay parses a date YYYY-MM-DD as midnight in Zone, or an RFC 3339
// time (which must then be a midnight in Zone, checked by Validate).
func ParseDay(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.ParseInLocation(time.DateOnly, s, Zone); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither YYYY-MM-DD nor an RFC 3339 time", s)
}

// ParsePeriod reads a period given as text: from and to are dates
// (YYYY-MM-DD) naming the first and the last day, both included, as people
// write periods ("2026-11-01" to "2026-11-30" is November); an RFC 3339 to
// is taken as the exclusive end. It returns [from, to).
func ParsePeriod(from, to string) (time.Time, time.Time, error) {
	f, err := ParseDay(from)
	if err != nil {
		return time.Time{}, time.Time{}, fieldErr("from", "%v", err)
	}
	t, err := ParseDay(to)
	if err != nil {
		return time.Time{}, time.Time{}, fieldErr("to", "%v", err)
	}
	if _, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(to), Zone); err == nil {
		t = t.AddDate(0, 0, 1)
	}
	return f, t, nil
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// ErrOverlap is returned (wrapped) when two records of the same enterprise,
// kind and product overlap in time: a balance would count the overlap twice.
var ErrOverlap = errors.New("overlapping records")

// SameSeries reports whether two records count the same thing (enterprise,
// kind and product), so that their periods must not overlap.
func SameSeries(a, b Record) bool {
	return a.Enterprise == b.Enterprise && a.Kind == b.Kind && a.Product == b.Product
}

// Overlaps reports whether a's and b's periods overlap.
func Overlaps(a, b Record) bool { return a.From.Before(b.To) && b.From.Before(a.To) }

// RecordError is an error about one record of a batch (Index from 0), so
// that the caller can name the row of the upload it came from.
type RecordError struct {
	Index int
	Err   error
}

func (e *RecordError) Error() string { return fmt.Sprintf("record %d: %v", e.Index+1, e.Err) }

// Unwrap returns the error about the record.
func (e *RecordError) Unwrap() error { return e.Err }
