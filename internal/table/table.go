// Package table reads the embedded CSV tables in which packages keep the
// numbers they take from standards and references (each table with its
// source, edition and a verified flag in its comment lines).
package table

import (
	"encoding/csv"
	"fmt"
	"io/fs"
)

// Read returns the header (column name → index) and the rows of the CSV
// table at name in fsys. Lines starting with '#' are comments.
func Read(fsys fs.FS, name string) (map[string]int, [][]string, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("read table %s: %w", name, err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("read table %s: %w", name, err)
	}
	if len(recs) < 2 {
		return nil, nil, fmt.Errorf("table %s is empty", name)
	}
	h := make(map[string]int, len(recs[0]))
	for i, c := range recs[0] {
		h[c] = i
	}
	return h, recs[1:], nil
}
