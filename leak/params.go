package leak

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
)

//go:embed data/parameters.csv
var parametersCSV string

// Parameter is one published number used by the package, with where it
// comes from.
type Parameter struct {
	Key      string
	Value    float64
	Unit     string
	Source   string
	Edition  string
	Verified bool
}

// Parameters returns the package's table of published parameters
// (data/parameters.csv), keyed by name.
func Parameters() (map[string]Parameter, error) {
	var lines []string
	for _, l := range strings.Split(parametersCSV, "\n") {
		if !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	rows, err := csv.NewReader(strings.NewReader(strings.Join(lines, "\n"))).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("leak parameters: %w", err)
	}
	out := map[string]Parameter{}
	for i, row := range rows[1:] {
		if len(row) != 6 {
			return nil, fmt.Errorf("leak parameters row %d: want 6 fields, got %d", i+2, len(row))
		}
		v, err := strconv.ParseFloat(row[1], 64)
		if err != nil {
			return nil, fmt.Errorf("leak parameters row %d (%s): %w", i+2, row[0], err)
		}
		out[row[0]] = Parameter{Key: row[0], Value: v, Unit: row[2], Source: row[3], Edition: row[4], Verified: row[5] == "yes"}
	}
	return out, nil
}

// parameter returns one value of the embedded table; the table is part of
// the binary and checked by tests, so a missing key is a programming error
// reported as an error rather than a panic.
func parameter(key string) (float64, error) {
	ps, err := Parameters()
	if err != nil {
		return 0, err
	}
	p, ok := ps[key]
	if !ok {
		return 0, fmt.Errorf("leak parameters: no %q", key)
	}
	return p.Value, nil
}
