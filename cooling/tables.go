package cooling

import (
	"embed"
	"fmt"
	"strconv"
	"strings"

	"github.com/shuixiao/shuixiao/internal/table"
)

//go:embed data/*.csv
var dataFiles embed.FS

// readCSV returns the header index and rows of an embedded table (comment lines removed).
func readCSV(name string) (map[string]int, [][]string, error) {
	return table.Read(dataFiles, "data/"+name)
}

// optFloat parses s, returning ok=false for an empty field.
func optFloat(s string) (float64, bool, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil, err
}

// Evaporation holds the evaporation and drift coefficients of data/evaporation.csv.
type Evaporation struct {
	gbT, gbK   []float64 // GB/T 50050 k by ambient temperature, ascending
	usGPMF     float64
	usM3hC     float64
	driftByKey map[string]float64
}

// LoadEvaporation parses the embedded evaporation table.
func LoadEvaporation() (*Evaporation, error) {
	h, rows, err := readCSV("evaporation.csv")
	if err != nil {
		return nil, err
	}
	e := &Evaporation{driftByKey: map[string]float64{}}
	for i, r := range rows {
		v, ok, err := optFloat(r[h["value"]])
		if err != nil || !ok {
			return nil, fmt.Errorf("evaporation.csv row %d: bad value %q", i+1, r[h["value"]])
		}
		key := r[h["key"]]
		switch r[h["kind"]] {
		case "gb_k":
			t, err := strconv.ParseFloat(key, 64)
			if err != nil {
				return nil, fmt.Errorf("evaporation.csv row %d: %w", i+1, err)
			}
			if n := len(e.gbT); n > 0 && t <= e.gbT[n-1] {
				return nil, fmt.Errorf("evaporation.csv row %d: temperatures must ascend", i+1)
			}
			e.gbT, e.gbK = append(e.gbT, t), append(e.gbK, v)
		case "us_factor":
			switch key {
			case "gpm_F":
				e.usGPMF = v
			case "m3h_C":
				e.usM3hC = v
			}
		case "drift":
			e.driftByKey[key] = v
		}
	}
	if len(e.gbT) < 2 || e.usGPMF == 0 || e.usM3hC == 0 {
		return nil, fmt.Errorf("evaporation.csv: incomplete table")
	}
	return e, nil
}

// GBFactor returns the GB/T 50050 evaporation factor k (1/°C) at ambient air temperature
// ambientC, interpolating the table linearly; outside the table it is an error.
func (e *Evaporation) GBFactor(ambientC float64) (float64, error) {
	n := len(e.gbT)
	if !(ambientC >= e.gbT[0] && ambientC <= e.gbT[n-1]) {
		return 0, fmt.Errorf("ambient temperature %g °C outside the GB/T 50050 k table (%g to %g °C)", ambientC, e.gbT[0], e.gbT[n-1])
	}
	for i := 1; i < n; i++ {
		if ambientC <= e.gbT[i] {
			f := (ambientC - e.gbT[i-1]) / (e.gbT[i] - e.gbT[i-1])
			return e.gbK[i-1] + f*(e.gbK[i]-e.gbK[i-1]), nil
		}
	}
	return e.gbK[n-1], nil
}

// DriftFraction returns a tabulated drift fraction of circulation ("eliminators", "modern", "none").
func (e *Evaporation) DriftFraction(key string) (float64, error) {
	v, ok := e.driftByKey[key]
	if !ok {
		return 0, fmt.Errorf("no drift fraction %q in evaporation.csv", key)
	}
	return v, nil
}
