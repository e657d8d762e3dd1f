package api

import (
	"bytes"
	"net/http/httptest"
	"testing"
)

// FuzzProductionUpload reads random bodies as each upload content type:
// whatever is accepted validates, nothing panics.
func FuzzProductionUpload(f *testing.F) {
	f.Add([]byte(`[{"enterprise":"E","kind":"output","product":"机织印染布","quantity":1200,"unit":"100m","from":"2026-11-01","to":"2026-11-30"}]`), uint8(0))
	f.Add([]byte("enterprise,kind,product,quantity,unit,from,to\nE,value_added,,12.5,万元,2026-11-01,2026-11-30\n"), uint8(1))
	f.Add([]byte("PK\x03\x04"), uint8(2))
	types := []string{ctJSON, ctCSV, XLSXContentType}
	f.Fuzz(func(t *testing.T, body []byte, kind uint8) {
		r := httptest.NewRequest("POST", "/api/v1/production", bytes.NewReader(body))
		r.Header.Set("Content-Type", types[int(kind)%len(types)])
		rows, err := readUpload(r)
		if err != nil {
			if rows != nil {
				t.Fatal("rows with an error")
			}
			return
		}
		if len(rows) == 0 {
			t.Fatal("no rows and no error")
		}
		for _, row := range rows {
			rec := row.Record
			if err := rec.Validate(); err != nil {
				t.Fatalf("%s accepted but invalid: %v", row.At, err)
			}
		}
	})
}
