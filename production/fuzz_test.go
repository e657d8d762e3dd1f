package production

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadCSV: any input gives rows that validate or an error, never a panic.
func FuzzReadCSV(f *testing.F) {
	f.Add([]byte(goodCSV))
	f.Add([]byte("enterprise,kind,product,quantity,unit,from,to\nE-1,output,粗钢,1,t,2026-11-01,2026-11-30\n"))
	f.Add([]byte("enterprise,kind,product,quantity,unit,from,to\nE-1,output,粗钢,1,t,2026-11-01,2026-11-30\nE-1,output,粗钢,1,t,2026-11-02,2026-11-03\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := ReadCSV(bytes.NewReader(b), "f")
		checkRows(t, rows, err)
	})
}

// FuzzReadXLSX: any bytes give rows that validate or an error.
func FuzzReadXLSX(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.xlsx")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := ReadXLSX(bytes.NewReader(b), "f")
		checkRows(t, rows, err)
	})
}

func checkRows(t *testing.T, rows []Row, err error) {
	if err != nil {
		if rows != nil {
			t.Fatal("rows with an error")
		}
		return
	}
	for _, r := range rows {
		rec := r.Record
		if err := rec.Validate(); err != nil {
			t.Fatalf("%s: accepted record does not validate: %v", r.At, err)
		}
	}
	if errs := overlapErrors(rows); len(errs) > 0 {
		t.Fatalf("accepted overlapping rows: %v", errs)
	}
}
