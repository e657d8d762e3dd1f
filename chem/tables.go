package chem

import (
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

//go:embed data/*.csv
var dataFiles embed.FS

// table is one embedded CSV file: a header and rows, comment lines (#) removed.
type table struct {
	name   string
	header map[string]int
	rows   [][]string
}

func readTable(name string) (*table, error) {
	b, err := dataFiles.ReadFile("data/" + name)
	if err != nil {
		return nil, fmt.Errorf("read table %s: %w", name, err)
	}
	r := csv.NewReader(strings.NewReader(string(b)))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	t := &table{name: name, header: map[string]int{}}
	first := true
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read table %s: %w", name, err)
		}
		if first {
			for i, h := range rec {
				t.header[strings.TrimSpace(h)] = i
			}
			first = false
			continue
		}
		if len(rec) != len(t.header) {
			return nil, fmt.Errorf("table %s record %d: %d fields, want %d", name, line, len(rec), len(t.header))
		}
		t.rows = append(t.rows, rec)
	}
	return t, nil
}

// get returns the trimmed field col of row i.
func (t *table) get(i int, col string) string {
	j, ok := t.header[col]
	if !ok {
		return ""
	}
	return strings.TrimSpace(t.rows[i][j])
}

// float parses field col of row i; an empty field gives def.
func (t *table) float(i int, col string, def float64) (float64, error) {
	s := t.get(i, col)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("table %s row %d column %s: %w", t.name, i+1, col, err)
	}
	return v, nil
}

// Coefficient is one named number from a standard or paper, with its provenance.
type Coefficient struct {
	Key      string
	Value    float64
	Unit     string
	Source   string
	Edition  string
	Verified bool
}

// Coefficients is the embedded table data/coefficients.csv keyed by name.
type Coefficients map[string]Coefficient

// LoadCoefficients parses the embedded coefficient table.
func LoadCoefficients() (Coefficients, error) {
	t, err := readTable("coefficients.csv")
	if err != nil {
		return nil, err
	}
	c := Coefficients{}
	for i := range t.rows {
		v, err := t.float(i, "value", 0)
		if err != nil {
			return nil, err
		}
		k := t.get(i, "key")
		c[k] = Coefficient{Key: k, Value: v, Unit: t.get(i, "unit"), Source: t.get(i, "source"),
			Edition: t.get(i, "edition"), Verified: t.get(i, "verified") == "yes"}
	}
	return c, nil
}

// lookup returns the values of keys in order, or an error naming the first missing key.
func (c Coefficients) lookup(keys ...string) ([]float64, error) {
	out := make([]float64, len(keys))
	for i, k := range keys {
		v, ok := c[k]
		if !ok {
			return nil, fmt.Errorf("coefficient %q missing from data/coefficients.csv", k)
		}
		out[i] = v.Value
	}
	return out, nil
}
