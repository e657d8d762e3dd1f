package reuse

import (
	"embed"
	"fmt"
	"strconv"
	"strings"

	"github.com/shuixiao/shuixiao/internal/table"
)

//go:embed data/*.csv
var dataFiles embed.FS

func readCSV(name string) (map[string]int, [][]string, error) {
	return table.Read(dataFiles, "data/"+name)
}

// keyValues reads a key,value table into a map.
func keyValues(name string) (map[string]float64, error) {
	h, rows, err := readCSV(name)
	if err != nil {
		return nil, err
	}
	m := map[string]float64{}
	for i, r := range rows {
		v, err := strconv.ParseFloat(strings.TrimSpace(r[h["value"]]), 64)
		if err != nil {
			return nil, fmt.Errorf("%s row %d: %w", name, i+1, err)
		}
		m[r[h["key"]]] = v
	}
	return m, nil
}

func need(m map[string]float64, table string, keys ...string) ([]float64, error) {
	out := make([]float64, len(keys))
	for i, k := range keys {
		v, ok := m[k]
		if !ok {
			return nil, fmt.Errorf("%s: key %q missing", table, k)
		}
		out[i] = v
	}
	return out, nil
}

// Membranes holds the normalisation and viscosity coefficients of data/coefficients.csv.
type Membranes struct {
	tcfAbove, tcfBelow, tcfRef, tcfOffset float64
	osmotic, nacl, dpExp                  float64
	viscA, viscB, viscC                   float64
}

// LoadMembranes parses the embedded coefficients.
func LoadMembranes() (*Membranes, error) {
	m, err := keyValues("coefficients.csv")
	if err != nil {
		return nil, err
	}
	v, err := need(m, "coefficients.csv", "tcf_e_above_25", "tcf_e_below_25", "tcf_ref_k", "tcf_offset_k",
		"osmotic_psi_per_k_molal", "nacl_molar_mass", "dp_flow_exponent", "visc_a", "visc_b", "visc_c")
	if err != nil {
		return nil, err
	}
	return &Membranes{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]}, nil
}

// Thresholds are the trigger defaults of data/thresholds.csv keyed by name.
type Thresholds map[string]float64

// LoadThresholds parses the embedded trigger defaults.
func LoadThresholds() (Thresholds, error) {
	m, err := keyValues("thresholds.csv")
	return Thresholds(m), err
}
