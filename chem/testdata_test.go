package chem

import (
	"encoding/csv"
	"os"
	"strconv"
	"testing"

	"github.com/shuixiao/shuixiao/internal/testfiles"
)

// refData returns a path to the file elem under the repository's testdata
// directory (testdata/chem holds the shared reference waters). It fails the
// test if the file is missing.
func refData(t testing.TB, elem ...string) string {
	t.Helper()
	return testfiles.Path(t, elem...)
}

// csvRecords reads a CSV file into maps keyed by header name.
func csvRecords(t testing.TB, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = rec[i]
		}
		out = append(out, m)
	}
	return out
}

// num parses a numeric field; an empty field gives NaN-free 0 and ok=false.
func num(t testing.TB, m map[string]string, key string) (float64, bool) {
	t.Helper()
	s, present := m[key]
	if !present {
		t.Fatalf("column %q missing", key)
	}
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("column %q: %v", key, err)
	}
	return v, true
}

// mustNum is num for fields that must be present.
func mustNum(t testing.TB, m map[string]string, key string) float64 {
	t.Helper()
	v, ok := num(t, m, key)
	if !ok {
		t.Fatalf("column %q empty", key)
	}
	return v
}

// analysisFromRecord builds an Analysis from a waters_input.csv-style record.
func analysisFromRecord(t testing.TB, m map[string]string) Analysis {
	t.Helper()
	opt := func(k string) float64 {
		if _, ok := m[k]; !ok {
			return 0
		}
		v, _ := num(t, m, k)
		return v
	}
	return Analysis{TempC: mustNum(t, m, "T_C"), PH: mustNum(t, m, "pH"), Ca: mustNum(t, m, "Ca"), Mg: mustNum(t, m, "Mg"),
		Na: mustNum(t, m, "Na"), K: mustNum(t, m, "K"), Cl: mustNum(t, m, "Cl"), SO4: mustNum(t, m, "SO4"),
		Alk: mustNum(t, m, "Alk_CaCO3"), SiO2: opt("SiO2"), PO4: opt("PO4"), NO3: opt("NO3"), Ba: opt("Ba"), Sr: opt("Sr")}
}
