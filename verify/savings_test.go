package verify

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/shuixiao/shuixiao/contract"
)

// FuzzParseServedStatement: a served statement record is untrusted input;
// the parser never panics, and what it accepts re-encodes to a record it
// accepts again with the same statement.
func FuzzParseServedStatement(f *testing.F) {
	seed, err := os.ReadFile("testdata/statement.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"statement":{"id":"mvs-1"},"baseline":[{}],"reporting":[{}],"drivers":[{}]}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseServedStatement(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(r)
		if err != nil {
			return // a value encoding/json cannot write back (NaN is not JSON): fine
		}
		r2, err := ParseServedStatement(again)
		if err != nil || r2.Statement != r.Statement {
			t.Fatalf("re-encoded record: %v, statement %+v, want %+v", err, r2.Statement, r.Statement)
		}
	})
}

func TestParseServedStatement(t *testing.T) {
	b, err := os.ReadFile("testdata/statement.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseServedStatement(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Statement.CheckSeal(); err != nil || r.Option != contract.WholeFacility || len(r.Baseline) != 20 {
		t.Fatalf("seed statement: %v %+v", err, r.Statement)
	}
	if _, err := ParseServedStatement([]byte(`{"statement":{"id":"x"}}`)); err == nil {
		t.Fatal("a record without periods was accepted")
	}
}
