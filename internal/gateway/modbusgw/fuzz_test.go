package modbusgw

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// FuzzParseConfig feeds arbitrary JSON to the register-map reader and arbitrary words to
// every register it accepts. Nothing may panic; an accepted map written back as JSON
// reads the same; a decoded value is finite. Seeds: testdata/fuzz/FuzzParseConfig.
func FuzzParseConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, words []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		again, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := ParseConfig(again)
		if err != nil || !reflect.DeepEqual(c2, c) {
			t.Fatalf("re-read %s: %+v %v, want %+v", again, c2, err, c)
		}
		for _, d := range c.Devices {
			for _, b := range plan(d.Registers) {
				if b.count == 0 || b.count > maxBlock || int(b.start)+int(b.count) > 0x10000 {
					t.Fatalf("block %+v", b)
				}
			}
			for _, r := range d.Registers {
				regs := make([]uint16, width[r.Type])
				for i := range regs {
					if 2*i+1 < len(words) {
						regs[i] = uint16(words[2*i])<<8 | uint16(words[2*i+1])
					}
				}
				if v, err := r.Decode(regs); err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
					t.Fatalf("%s decoded to %v", r.Name, v)
				}
			}
		}
	})
}
