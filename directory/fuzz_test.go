package directory

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzRecords: any JSON body a client sends decodes into a record whose
// validation either accepts it or refuses it with ErrInvalid, never
// panicking; an accepted record survives a JSON round trip still valid.
func FuzzRecords(f *testing.F) {
	f.Add(`{"id":"SP-1","name":"湘水","region":"430100","services":["diagnosis"],"served":[{"enterprise":"E1","service":"diagnosis","year":2025}],"updated_by":"t","updated_at":"2026-12-07T00:00:00Z"}`)
	f.Add(`{"enterprise":"E1","name":"张","email":"a@b.cn","phone":"0731-1","appointed":"2026-01-01T00:00:00+08:00","updated_by":"t","updated_at":"2026-12-07T00:00:00Z"}`)
	f.Add(`{"case":1,"provider":"SP-1","technology":"T001","linked_by":"t","linked_at":"2026-12-07T00:00:00Z"}`)
	f.Add(`{"services":["x","x"],"region":"4301001"}`)
	f.Fuzz(func(t *testing.T, body string) {
		check := func(v interface{ Validate() error }, round func() (interface{ Validate() error }, error)) {
			err := v.Validate()
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("refusal without ErrInvalid: %v", err)
				}
				return
			}
			w, err := round()
			if err != nil {
				t.Fatalf("round trip: %v", err)
			}
			if err := w.Validate(); err != nil {
				t.Fatalf("valid record invalid after a round trip: %v", err)
			}
		}
		var p Provider
		if json.Unmarshal([]byte(body), &p) == nil {
			check(p, func() (interface{ Validate() error }, error) {
				var q Provider
				b, _ := json.Marshal(p)
				err := json.Unmarshal(b, &q)
				return q, err
			})
		}
		var m Manager
		if json.Unmarshal([]byte(body), &m) == nil {
			check(m, func() (interface{ Validate() error }, error) {
				var q Manager
				b, _ := json.Marshal(m)
				err := json.Unmarshal(b, &q)
				return q, err
			})
		}
		var l CaseLink
		if json.Unmarshal([]byte(body), &l) == nil {
			check(l, func() (interface{ Validate() error }, error) {
				var q CaseLink
				b, _ := json.Marshal(l)
				err := json.Unmarshal(b, &q)
				return q, err
			})
		}
	})
}
