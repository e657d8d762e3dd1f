package chem

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// AnalysisRecord is one row of an analyses CSV: the parsed analysis, or the reason it could
// not be parsed.
type AnalysisRecord struct {
	Line     int // 1-based line of the record in the file
	ID       string
	Analysis Analysis
	// Conductivity is the specific conductance at 25 °C in µS/cm when the file has it.
	Conductivity    float64
	HasConductivity bool
	Err             error
}

// analysisColumns maps CSV header names (lower case) to analysis fields.
var analysisColumns = map[string]func(*Analysis) *float64{
	"t_c":       func(a *Analysis) *float64 { return &a.TempC },
	"ph":        func(a *Analysis) *float64 { return &a.PH },
	"ca":        analysisField("Ca"),
	"mg":        analysisField("Mg"),
	"na":        analysisField("Na"),
	"k":         analysisField("K"),
	"cl":        analysisField("Cl"),
	"so4":       analysisField("SO4"),
	"alk_caco3": analysisField("Alk_CaCO3"),
	"sio2":      analysisField("SiO2"),
	"po4":       analysisField("PO4"),
	"no3":       analysisField("NO3"),
	"ba":        analysisField("Ba"),
	"sr":        analysisField("Sr"),
}

// requiredColumns must be present in the header and filled in every row.
var requiredColumns = []string{"id", "t_c", "ph", "ca", "mg", "na", "k", "cl", "so4", "alk_caco3"}

// conductivityColumns are accepted names for a specific-conductance column (µS/cm at 25 °C).
var conductivityColumns = []string{"ec25_us_cm", "sc25_us_cm", "ec_us_cm", "conductivity_us_cm", "conductivity"}

// ErrNoHeader is returned for an input without a usable header line.
var ErrNoHeader = errors.New("no header line")

// ReadAnalysesCSV reads water analyses in the layout of testdata/chem/waters_input.csv:
// a header line naming the columns (any order, case-insensitive; extra columns ignored),
// concentrations in mg/L (alkalinity as CaCO3). Required: id, T_C, pH, Ca, Mg, Na, K, Cl, SO4,
// Alk_CaCO3; optional: SiO2, PO4, NO3, Ba, Sr and a conductivity column. A value may carry
// the unit "mg/L"; "<x" (below detection limit) reads as 0. A row that cannot be parsed gets
// its Err set and the rest of the file is still read; the returned error is only for a file
// that cannot be read at all (no header, a required column missing, broken CSV framing).
func ReadAnalysesCSV(r io.Reader) ([]AnalysisRecord, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err == io.EOF {
		return nil, ErrNoHeader
	}
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := col[h]; dup && h != "" {
			return nil, fmt.Errorf("header: column %q appears twice", h)
		}
		col[h] = i
	}
	for _, c := range requiredColumns {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("header: required column %q missing", c)
		}
	}
	ecCol := -1
	for _, c := range conductivityColumns {
		if i, ok := col[c]; ok {
			ecCol = i
			break
		}
	}
	var out []AnalysisRecord
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) || pe.Err != csv.ErrFieldCount {
				return out, fmt.Errorf("read analyses: %w", err)
			}
		}
		if len(rec) == 0 || isBlank(rec) {
			continue
		}
		line, _ := cr.FieldPos(0)
		ar := AnalysisRecord{Line: line}
		if i := col["id"]; i < len(rec) {
			ar.ID = strings.TrimSpace(rec[i])
		}
		ar.Err = parseAnalysisRow(rec, col, &ar.Analysis)
		if ar.Err == nil && ar.ID == "" {
			ar.Err = errors.New("id is empty")
		}
		if ecCol >= 0 && ecCol < len(rec) && strings.TrimSpace(rec[ecCol]) != "" && ar.Err == nil {
			v, err := parseValue(rec[ecCol], "µs/cm", "us/cm")
			if err != nil || v < 0 {
				ar.Err = fmt.Errorf("%s: %q is not a conductivity in µS/cm", header[ecCol], rec[ecCol])
			} else {
				ar.Conductivity, ar.HasConductivity = v, true
			}
		}
		out = append(out, ar)
	}
	return out, nil
}

func isBlank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func parseAnalysisRow(rec []string, col map[string]int, a *Analysis) error {
	for name, field := range analysisColumns {
		i, ok := col[name]
		if !ok {
			continue
		}
		required := false
		for _, r := range requiredColumns {
			required = required || r == name
		}
		s := ""
		if i < len(rec) {
			s = strings.TrimSpace(rec[i])
		}
		if s == "" {
			if required {
				return fmt.Errorf("%s is missing", name)
			}
			continue
		}
		units := []string{"mg/l"}
		switch name {
		case "t_c":
			units = []string{"°c", "c"}
		case "ph":
			units = nil
		case "alk_caco3":
			units = []string{"mg/l", "mg/l as caco3"}
		}
		v, err := parseValue(s, units...)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		*field(a) = v
	}
	return a.Validate()
}

// parseValue reads a number optionally followed by one of the accepted units; "<x" is 0.
func parseValue(s string, units ...string) (float64, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "<") {
		if _, err := parseValue(t[1:], units...); err != nil {
			return 0, err
		}
		return 0, nil
	}
	num := t
	if i := strings.IndexFunc(t, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r == '.' || r == '-' || r == '+' || r == 'e' || r == 'E')
	}); i >= 0 {
		num = strings.TrimSpace(t[:i])
		if num == "" {
			return 0, fmt.Errorf("%q is not a number", s)
		}
		unit := strings.ToLower(strings.TrimSpace(t[i:]))
		ok := false
		for _, u := range units {
			ok = ok || unit == u
		}
		if !ok {
			return 0, fmt.Errorf("%q: unit %q not understood", s, t[i:])
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a finite number", s)
	}
	return v, nil
}
