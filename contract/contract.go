// Package contract defines a contract-water-saving project (合同节水管理,
// the water counterpart of an energy performance contract): the enterprise
// and the service company, the measurement boundary (IPMVP Option B: the
// retrofit's metering points; Option C: the enterprise's whole intake), the
// baseline period and the reporting periods, the drivers of the baseline
// model (declared production output or value added, or other declared
// series such as cooling degree days), each party's share of the savings;
// and the measurement-and-verification statement a reporting period gets
// (Statement), with its canonical JSON and SHA-256 digest, which a water
// rights certificate points at.
//
// The package is pure: it validates records and says when two contracts
// would count one saving twice (Overlap). The figures come from package
// savings; internal/mv reads the ledger-backed data and stores the records.
package contract

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shuixiao/shuixiao/production"
)

// Option is the IPMVP option of the measurement boundary.
type Option string

// Options of a measurement boundary (IPMVP Core Concepts 2022 §7).
const (
	// RetrofitIsolation (Option B) meters the retrofit's own points.
	RetrofitIsolation Option = "B"
	// WholeFacility (Option C) meters the enterprise's whole intake.
	WholeFacility Option = "C"
)

// Granularity is the length of the model's periods.
type Granularity string

// Granularities of a contract's model periods, in production.Zone.
const (
	Monthly Granularity = "month"
	Daily   Granularity = "day"
)

// Status is a contract's state.
type Status string

// Statuses of a contract.
const (
	Active Status = "active"
	Closed Status = "closed"
)

// DriverKind says where a driver's values come from.
type DriverKind string

// Kinds of driver. All are declared data (not on the ledger).
const (
	// OutputDriver is a product's output from the enterprise's production
	// records (production.Output), prorated over each period.
	OutputDriver DriverKind = "output"
	// ValueAddedDriver is industrial value added (production.ValueAdded).
	ValueAddedDriver DriverKind = "value_added"
	// DeclaredDriver is a series declared on the contract itself
	// (Contract.Declared), e.g. cooling degree days from a weather station.
	DeclaredDriver DriverKind = "declared"
)

// Driver is an independent variable of the baseline model.
type Driver struct {
	Name    string     `json:"name"` // the model's coefficient name, e.g. production, cdd
	Kind    DriverKind `json:"kind"`
	Product string     `json:"product,omitempty"` // OutputDriver: the plan's product name
	Unit    string     `json:"unit,omitempty"`
}

// Span is a time interval [From, To).
type Span struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Overlaps reports whether two spans share an instant.
func (s Span) Overlaps(o Span) bool { return s.From.Before(o.To) && o.From.Before(s.To) }

// DeclaredValue is one value of a declared driver over a span (prorated in
// proportion to time when a model period covers part of it).
type DeclaredValue struct {
	Driver string    `json:"driver"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Value  float64   `json:"value"`
	Source string    `json:"source"` // where the figure comes from (station, publication)
	By     string    `json:"by,omitempty"`
	At     time.Time `json:"at,omitzero"`
}

// Contract is a contract-water-saving project.
type Contract struct {
	ID             string      `json:"id"`
	Name           string      `json:"name"`
	Enterprise     string      `json:"enterprise"`
	ServiceCompany string      `json:"service_company"`
	Option         Option      `json:"option"`
	Points         []string    `json:"points,omitempty"` // Option B: the retrofit's metering points
	Granularity    Granularity `json:"granularity"`
	Baseline       Span        `json:"baseline"`
	Reporting      []Span      `json:"reporting"` // one statement each, in time order
	Drivers        []Driver    `json:"drivers"`
	// ServiceCompanyShare is the service company's share of the verified
	// savings (0…1); the enterprise keeps the rest.
	ServiceCompanyShare float64         `json:"service_company_share"`
	Status              Status          `json:"status"`
	Declared            []DeclaredValue `json:"declared,omitempty"`
	CreatedBy           string          `json:"created_by,omitempty"`
	CreatedAt           time.Time       `json:"created_at,omitzero"`
}

// Limits of a contract.
const (
	MaxPoints    = 200
	MaxDrivers   = 10
	MaxReporting = 120
	MaxDeclared  = 20_000
	MaxText      = 200
	// MaxBaseline bounds the baseline period: three years of daily data is
	// what the M&V is sized for.
	MaxBaseline = 3*366*24*time.Hour + 24*time.Hour
	// MaxReportingSpan bounds one reporting period.
	MaxReportingSpan = 366 * 24 * time.Hour
)

var (
	idPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	driverPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
)

// FieldError is a validation error naming the field.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return "field " + e.Field + ": " + e.Msg }

func fieldErr(field, format string, a ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// Validate checks a contract: identifiers, parties, boundary, periods
// aligned to the granularity in production.Zone (reporting after the
// baseline, in order, not overlapping), drivers and declared values.
func (c Contract) Validate() error {
	if !idPattern.MatchString(c.ID) {
		return fieldErr("id", "%q: 1–64 letters, digits, '.', '_', '-'", c.ID)
	}
	for _, f := range []struct{ name, v string }{{"name", c.Name}, {"enterprise", c.Enterprise}, {"service_company", c.ServiceCompany}} {
		if strings.TrimSpace(f.v) == "" {
			return fieldErr(f.name, "required")
		}
		if len(f.v) > MaxText || !utf8.ValidString(f.v) {
			return fieldErr(f.name, "at most %d bytes of UTF-8", MaxText)
		}
	}
	switch c.Option {
	case RetrofitIsolation:
		if len(c.Points) == 0 {
			return fieldErr("points", "option B (retrofit isolation) names the retrofit's metering points")
		}
	case WholeFacility:
		if len(c.Points) > 0 {
			return fieldErr("points", "option C (whole facility) meters the enterprise's whole intake: give no points")
		}
	default:
		return fieldErr("option", "%q: B (retrofit isolation) or C (whole facility)", c.Option)
	}
	if len(c.Points) > MaxPoints {
		return fieldErr("points", "%d points, at most %d", len(c.Points), MaxPoints)
	}
	seen := map[string]bool{}
	for i, p := range c.Points {
		if p == "" || seen[p] {
			return fieldErr(fmt.Sprintf("points[%d]", i), "empty or repeated point %q", p)
		}
		seen[p] = true
	}
	if c.Granularity != Monthly && c.Granularity != Daily {
		return fieldErr("granularity", "%q: month or day", c.Granularity)
	}
	if err := c.checkSpan("baseline", c.Baseline, MaxBaseline); err != nil {
		return err
	}
	if len(c.Reporting) == 0 || len(c.Reporting) > MaxReporting {
		return fieldErr("reporting", "1 to %d reporting periods", MaxReporting)
	}
	prev := c.Baseline.To
	for i, r := range c.Reporting {
		field := fmt.Sprintf("reporting[%d]", i)
		if err := c.checkSpan(field, r, MaxReportingSpan); err != nil {
			return err
		}
		if r.From.Before(prev) {
			return fieldErr(field, "starts %s, before the end of the baseline or of the reporting period before it (%s)", day(r.From), day(prev))
		}
		prev = r.To
	}
	if len(c.Drivers) == 0 || len(c.Drivers) > MaxDrivers {
		return fieldErr("drivers", "1 to %d drivers", MaxDrivers)
	}
	names := map[string]bool{}
	for i, d := range c.Drivers {
		field := fmt.Sprintf("drivers[%d]", i)
		if !driverPattern.MatchString(d.Name) || d.Name == "intercept" || names[d.Name] {
			return fieldErr(field+".name", "%q: a new lower-case name (a–z, 0–9, _), not intercept", d.Name)
		}
		names[d.Name] = true
		switch d.Kind {
		case OutputDriver:
			if d.Product == "" {
				return fieldErr(field+".product", "an output driver names its product")
			}
		case ValueAddedDriver, DeclaredDriver:
			if d.Product != "" {
				return fieldErr(field+".product", "only an output driver names a product")
			}
		default:
			return fieldErr(field+".kind", "%q: output, value_added or declared", d.Kind)
		}
	}
	if !(c.ServiceCompanyShare >= 0 && c.ServiceCompanyShare <= 1) {
		return fieldErr("service_company_share", "%g: a share from 0 to 1", c.ServiceCompanyShare)
	}
	if c.Status != Active && c.Status != Closed {
		return fieldErr("status", "%q: active or closed", c.Status)
	}
	return CheckDeclared(c.Drivers, c.Declared)
}

// CheckDeclared checks declared driver values: each names a declared
// driver, has a source, a finite value, a span of whole days, and values of
// one driver do not overlap.
func CheckDeclared(drivers []Driver, vals []DeclaredValue) error {
	if len(vals) > MaxDeclared {
		return fieldErr("declared", "%d values, at most %d", len(vals), MaxDeclared)
	}
	kind := map[string]DriverKind{}
	for _, d := range drivers {
		kind[d.Name] = d.Kind
	}
	byDriver := map[string][]Span{}
	for i, v := range vals {
		field := fmt.Sprintf("declared[%d]", i)
		if kind[v.Driver] != DeclaredDriver {
			return fieldErr(field+".driver", "%q is not a declared driver of the contract", v.Driver)
		}
		if strings.TrimSpace(v.Source) == "" || len(v.Source) > MaxText {
			return fieldErr(field+".source", "say where the figure comes from (at most %d bytes)", MaxText)
		}
		if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) || math.Abs(v.Value) > 1e12 {
			return fieldErr(field+".value", "%g is not a usable value", v.Value)
		}
		if !v.To.After(v.From) || !midnight(v.From) || !midnight(v.To) {
			return fieldErr(field, "from %s to %s: a non-empty span of whole days (UTC+8)", v.From, v.To)
		}
		s := Span{v.From, v.To}
		for _, o := range byDriver[v.Driver] {
			if s.Overlaps(o) {
				return fieldErr(field, "driver %s: %s … %s overlaps another value %s … %s", v.Driver, day(s.From), day(s.To), day(o.From), day(o.To))
			}
		}
		byDriver[v.Driver] = append(byDriver[v.Driver], s)
	}
	return nil
}

func (c Contract) checkSpan(field string, s Span, max time.Duration) error {
	if !s.To.After(s.From) {
		return fieldErr(field, "the period ends before it starts")
	}
	if s.From.Before(production.MinTime) || s.To.After(production.MaxTime) {
		return fieldErr(field, "outside %d–%d", production.MinTime.Year(), production.MaxTime.Year())
	}
	if s.To.Sub(s.From) > max {
		return fieldErr(field, "%.0f days, at most %.0f", s.To.Sub(s.From).Hours()/24, max.Hours()/24)
	}
	if !aligned(s.From, c.Granularity) || !aligned(s.To, c.Granularity) {
		return fieldErr(field, "%s … %s: starts and ends on a %s boundary (UTC+8)", s.From, s.To, c.Granularity)
	}
	return nil
}

func midnight(t time.Time) bool {
	l := t.In(production.Zone)
	return l.Hour() == 0 && l.Minute() == 0 && l.Second() == 0 && l.Nanosecond() == 0
}

func aligned(t time.Time, g Granularity) bool {
	return midnight(t) && (g == Daily || t.In(production.Zone).Day() == 1)
}

func day(t time.Time) string { return t.In(production.Zone).Format(time.DateOnly) }

// Periods splits a span into the model periods of the granularity, in
// production.Zone; the span must be aligned (Validate).
func Periods(s Span, g Granularity) []Span {
	var out []Span
	for t := s.From.In(production.Zone); t.Before(s.To); {
		next := t.AddDate(0, 0, 1)
		if g == Monthly {
			next = t.AddDate(0, 1, 0)
		}
		out = append(out, Span{t, next})
		t = next
	}
	return out
}

// Label names a model period: YYYY-MM for a month, YYYY-MM-DD for a day
// (the period labels of package savings).
func Label(t time.Time, g Granularity) string {
	if g == Monthly {
		return t.In(production.Zone).Format("2006-01")
	}
	return t.In(production.Zone).Format(time.DateOnly)
}

// Covered is the time the contract's M&V reads: from the baseline's start
// to the last reporting period's end.
func (c Contract) Covered() Span {
	s := Span{c.Baseline.From, c.Baseline.To}
	if n := len(c.Reporting); n > 0 {
		s.To = c.Reporting[n-1].To
	}
	return s
}

// ErrOverlap is returned (wrapped) when two contracts of one enterprise
// measure the same boundary over overlapping time: one saving would be
// claimed twice.
var ErrOverlap = errors.New("overlapping contracts")

// Overlap returns an error wrapping ErrOverlap, with the reason, when a and
// b would measure one saving twice: the same enterprise, time covered in
// common (Covered), and boundaries that share water — a whole-facility
// contract contains every point of the enterprise; two retrofit contracts
// overlap when they share a point.
func Overlap(a, b Contract) error {
	if a.Enterprise != b.Enterprise || a.ID == b.ID {
		return nil
	}
	ca, cb := a.Covered(), b.Covered()
	if !ca.Overlaps(cb) {
		return nil
	}
	when := fmt.Sprintf("%s … %s overlaps %s … %s", day(ca.From), day(ca.To), day(cb.From), day(cb.To))
	if a.Option == WholeFacility || b.Option == WholeFacility {
		return fmt.Errorf("%w: contract %s and contract %s both measure enterprise %s's intake (option C covers every point): %s",
			ErrOverlap, a.ID, b.ID, a.Enterprise, when)
	}
	in := map[string]bool{}
	for _, p := range a.Points {
		in[p] = true
	}
	var shared []string
	for _, p := range b.Points {
		if in[p] {
			shared = append(shared, p)
		}
	}
	if len(shared) == 0 {
		return nil
	}
	sort.Strings(shared)
	return fmt.Errorf("%w: contract %s and contract %s both measure point(s) %s: %s", ErrOverlap, a.ID, b.ID, strings.Join(shared, ", "), when)
}
