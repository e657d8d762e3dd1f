package savings

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Granularity is the length of a table's periods; it sets the ASHRAE
// Guideline 14 acceptance limits and is read from the period labels.
type Granularity string

// The granularities a period label can have.
const (
	Hourly  Granularity = "hourly"  // 2024-01-15T03
	Daily   Granularity = "daily"   // 2024-01-15
	Monthly Granularity = "monthly" // 2024-01
)

// Input limits: a larger file is refused rather than half read.
const (
	maxInputBytes = 32 << 20
	maxPeriods    = 200_000
	maxDrivers    = 20
	// MaxIntake bounds one period's intake (m³): Hunan's whole industry takes
	// about 5·10⁹ m³ a year.
	MaxIntake = 1e10
	// maxDriverValue bounds a driver's magnitude; beyond it the design matrix
	// loses the precision the fit statistics need.
	maxDriverValue = 1e12
)

// Period is one row of a table: a period's metered intake and the value of
// each driver over it (in the table's driver order).
type Period struct {
	Label   string
	Start   time.Time // the period's first instant, in the label's calendar (UTC)
	Intake  float64   // m³
	Drivers []float64
	Line    int // the line of the CSV file it came from (0 when not read from a file)
}

// Table is a baseline or reporting data set: periods in time order, all of
// one granularity, each with the same drivers.
type Table struct {
	Name        string
	Drivers     []string
	Granularity Granularity
	Periods     []Period
}

// Intake is the table's total intake (m³).
func (t Table) Intake() float64 {
	s := 0.0
	for _, p := range t.Periods {
		s += p.Intake
	}
	return s
}

// where names a period of the table for a message.
func (t Table) where(p Period) string {
	if p.Line > 0 {
		return fmt.Sprintf("%s line %d (period %s)", t.Name, p.Line, p.Label)
	}
	return fmt.Sprintf("%s period %s", t.Name, p.Label)
}

// ReadCSV reads a table from CSV: a header `period,intake_m3` followed by one
// column per driver (e.g. `production`, `cdd`), then one row per period.
// Lines starting with '#' are comments; cells are trimmed. Every error names
// the file, the line and the field.
func ReadCSV(r io.Reader, name string) (Table, error) {
	lr := &io.LimitedReader{R: r, N: maxInputBytes + 1}
	br := bufio.NewReader(lr)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comment = '#'
	t := Table{Name: name}
	header, err := cr.Read()
	if err == io.EOF {
		return t, fmt.Errorf("%s: empty file (want header period,intake_m3[,driver…])", name)
	}
	if err != nil {
		return t, fmt.Errorf("%s: %w", name, err)
	}
	if err := t.readHeader(header); err != nil {
		return t, err
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return t, fmt.Errorf("%s: %w", name, err)
		}
		if len(t.Periods) == maxPeriods {
			return t, fmt.Errorf("%s: more than %d periods", name, maxPeriods)
		}
		line, _ := cr.FieldPos(0)
		p, err := t.readRow(rec, line)
		if err != nil {
			return t, err
		}
		t.Periods = append(t.Periods, p)
	}
	if lr.N <= 0 {
		return t, fmt.Errorf("%s: larger than %d bytes", name, maxInputBytes)
	}
	if err := t.order(); err != nil {
		return t, err
	}
	return t, nil
}

// readHeader checks the header and records the driver columns.
func (t *Table) readHeader(h []string) error {
	for i := range h {
		h[i] = strings.TrimSpace(h[i])
	}
	if len(h) < 2 || strings.ToLower(h[0]) != "period" || strings.ToLower(h[1]) != "intake_m3" {
		return fmt.Errorf("%s line 1: header must start with period,intake_m3 (got %s)", t.Name, strings.Join(h, ","))
	}
	seen := map[string]bool{"period": true, "intake_m3": true}
	for _, d := range h[2:] {
		switch {
		case d == "":
			return fmt.Errorf("%s line 1: a driver column has no name", t.Name)
		case seen[strings.ToLower(d)]:
			return fmt.Errorf("%s line 1: column %q twice", t.Name, d)
		case d == "intercept":
			return fmt.Errorf("%s line 1: %q is the model's constant, not a driver", t.Name, d)
		}
		seen[strings.ToLower(d)] = true
		t.Drivers = append(t.Drivers, d)
	}
	if len(t.Drivers) > maxDrivers {
		return fmt.Errorf("%s line 1: %d drivers (at most %d)", t.Name, len(t.Drivers), maxDrivers)
	}
	return nil
}

// readRow parses one data row.
func (t *Table) readRow(rec []string, line int) (Period, error) {
	at := func(field string) string { return fmt.Sprintf("%s line %d, field %s", t.Name, line, field) }
	if len(rec) != len(t.Drivers)+2 {
		return Period{}, fmt.Errorf("%s line %d: %d fields, the header has %d", t.Name, line, len(rec), len(t.Drivers)+2)
	}
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
	}
	p := Period{Label: rec[0], Line: line}
	start, g, err := ParsePeriod(rec[0])
	if err != nil {
		return p, fmt.Errorf("%s: %w", at("period"), err)
	}
	p.Start = start
	if t.Granularity == "" {
		t.Granularity = g
	} else if g != t.Granularity {
		return p, fmt.Errorf("%s: %s period %q in a table of %s periods", at("period"), g, rec[0], t.Granularity)
	}
	if p.Intake, err = number(rec[1], 0, MaxIntake); err != nil {
		return p, fmt.Errorf("%s: %w", at("intake_m3"), err)
	}
	p.Drivers = make([]float64, len(t.Drivers))
	for j, d := range t.Drivers {
		if p.Drivers[j], err = number(rec[j+2], -maxDriverValue, maxDriverValue); err != nil {
			return p, fmt.Errorf("%s: %w", at(d), err)
		}
	}
	return p, nil
}

// order sorts the periods by time and refuses a period given twice.
func (t *Table) order() error {
	sort.SliceStable(t.Periods, func(i, j int) bool { return t.Periods[i].Start.Before(t.Periods[j].Start) })
	for i := 1; i < len(t.Periods); i++ {
		if t.Periods[i].Start.Equal(t.Periods[i-1].Start) {
			return fmt.Errorf("%s: period %s twice (lines %d and %d)", t.Name, t.Periods[i].Label, t.Periods[i-1].Line, t.Periods[i].Line)
		}
	}
	return nil
}

// number parses a finite decimal number in [lo, hi].
func number(s string, lo, hi float64) (float64, error) {
	if s == "" {
		return 0, errors.New("empty (a value is required)")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || strings.ContainsAny(s, "xXpP_") {
		return 0, fmt.Errorf("%q is not a decimal number", s)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a finite number", s)
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("%s is outside [%g, %g]", s, lo, hi)
	}
	return v, nil
}

// ParsePeriod reads a period label: YYYY-MM (a month), YYYY-MM-DD (a day) or
// YYYY-MM-DDTHH (an hour), and returns its first instant and granularity.
func ParsePeriod(s string) (time.Time, Granularity, error) {
	for _, f := range []struct {
		layout string
		g      Granularity
	}{{"2006-01", Monthly}, {"2006-01-02", Daily}, {"2006-01-02T15", Hourly}} {
		if len(s) != len(f.layout) {
			continue
		}
		if t, err := time.Parse(f.layout, s); err == nil {
			if t.Year() < 1900 || t.Year() > 2200 {
				return time.Time{}, "", fmt.Errorf("period %q: year out of range", s)
			}
			return t, f.g, nil
		}
	}
	return time.Time{}, "", fmt.Errorf("period %q: want YYYY-MM (month), YYYY-MM-DD (day) or YYYY-MM-DDTHH (hour)", s)
}

// ReadAdjustments reads non-routine adjustments from CSV with the header
// `period,m3,reason`; every row needs its reason.
func ReadAdjustments(r io.Reader, name string) ([]Adjustment, error) {
	cr := csv.NewReader(bufio.NewReader(&io.LimitedReader{R: r, N: maxInputBytes}))
	cr.Comment = '#'
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file (want header period,m3,reason)", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(header) != 3 || strings.TrimSpace(strings.TrimPrefix(header[0], "\uFEFF")) != "period" ||
		strings.TrimSpace(header[1]) != "m3" || strings.TrimSpace(header[2]) != "reason" {
		return nil, fmt.Errorf("%s line 1: header must be period,m3,reason", name)
	}
	var out []Adjustment
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(out) == maxPeriods {
			return nil, fmt.Errorf("%s: more than %d adjustments", name, maxPeriods)
		}
		v, err := number(strings.TrimSpace(rec[1]), -MaxIntake, MaxIntake)
		if err != nil {
			return nil, fmt.Errorf("%s line %d, field m3: %w", name, line, err)
		}
		out = append(out, Adjustment{Period: strings.TrimSpace(rec[0]), M3: v, Reason: strings.TrimSpace(rec[2])})
	}
}
