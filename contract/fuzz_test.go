package contract

import (
	"encoding/json"
	"os"
	"testing"
)

// FuzzContract: a contract as the API decodes it is untrusted input;
// Validate never panics, and for a valid one the period split, the
// overlap rule and the driver proration are total.
func FuzzContract(f *testing.F) {
	seed, err := os.ReadFile("testdata/contract.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"id":"x","option":"C","granularity":"day"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Contract
		if json.Unmarshal(b, &c) != nil {
			return
		}
		if c.Validate() != nil {
			return
		}
		n := len(Periods(c.Baseline, c.Granularity))
		if n == 0 || n > 3*366+1 {
			t.Fatalf("a valid contract's baseline has %d periods", n)
		}
		_ = Overlap(c, c)
		o := c
		o.ID += "x"
		if Overlap(c, o) == nil {
			t.Fatal("a contract does not overlap its copy")
		}
		if _, err := Figures(c, c.Reporting[0], nil); err == nil && len(c.Drivers) > 0 && c.Drivers[0].Kind != DeclaredDriver {
			t.Fatal("drivers without records were accepted")
		}
	})
}
