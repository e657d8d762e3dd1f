package waterplan

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// MaxCSVRows bounds the plans one CSV file may hold.
const MaxCSVRows = 100000

// RowError is a refused CSV row: its line and field.
type RowError struct {
	Line  int
	Field string
	Err   error
}

func (e *RowError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("line %d, field %s: %v", e.Line, e.Field, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }

// ParsePlansCSV reads plans from CSV with a header naming the columns
// enterprise, year, annual_m3 and optionally m01…m12 (all twelve or none;
// without them the plan is split by days, SplitEvenly). Each row must
// validate and its months sum to annual_m3 (CheckAnnual); an enterprise and
// year given twice is refused. Every refused row is reported (errors.Join
// of *RowError), and then no plan is returned.
func ParsePlansCSV(r io.Reader) ([]Plan, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("plans CSV: header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("plans CSV: header: column %q twice", h)
		}
		col[h] = i
	}
	for _, need := range []string{"enterprise", "year", "annual_m3"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("plans CSV: header: no column %q (columns: enterprise, year, annual_m3, optionally m01…m12)", need)
		}
	}
	months := 0
	for m := 1; m <= 12; m++ {
		if _, ok := col[fmt.Sprintf("m%02d", m)]; ok {
			months++
		}
	}
	if months != 0 && months != 12 {
		return nil, fmt.Errorf("plans CSV: header: %d of the month columns m01…m12: give all twelve or none", months)
	}
	var out []Plan
	var errs []error
	seen := map[string]int{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, &RowError{Line: line, Err: err})
			break
		}
		if len(out)+len(errs) >= MaxCSVRows {
			errs = append(errs, &RowError{Line: line, Err: fmt.Errorf("more than %d rows", MaxCSVRows)})
			break
		}
		get := func(name string) string {
			if i := col[name]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		num := func(name string) (float64, error) {
			v, err := strconv.ParseFloat(get(name), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, &RowError{Line: line, Field: name, Err: fmt.Errorf("%q is not a number", get(name))}
			}
			return v, nil
		}
		ent := get("enterprise")
		if ent == "" || len(ent) > 128 {
			errs = append(errs, &RowError{Line: line, Field: "enterprise", Err: errors.New("an enterprise ID of 1–128 bytes is needed")})
			continue
		}
		year, err := strconv.Atoi(get("year"))
		if err != nil {
			errs = append(errs, &RowError{Line: line, Field: "year", Err: fmt.Errorf("%q is not a year", get("year"))})
			continue
		}
		annual, err := num("annual_m3")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p := SplitEvenly(ent, year, annual)
		bad := false
		if months == 12 {
			for m := 1; m <= 12; m++ {
				name := fmt.Sprintf("m%02d", m)
				if p.Monthly[m-1], err = num(name); err != nil {
					errs, bad = append(errs, err), true
					break
				}
			}
		}
		if bad {
			continue
		}
		if err := p.CheckAnnual(annual); err != nil {
			errs = append(errs, &RowError{Line: line, Field: "annual_m3", Err: err})
			continue
		}
		if err := p.Validate(); err != nil {
			errs = append(errs, &RowError{Line: line, Err: err})
			continue
		}
		key := fmt.Sprintf("%s\x00%d", ent, year)
		if first, dup := seen[key]; dup {
			errs = append(errs, &RowError{Line: line, Err: fmt.Errorf("plan of %s %d already on line %d", ent, year, first)})
			continue
		}
		seen[key] = line
		out = append(out, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
