package cjt188

import (
	"bytes"
	"testing"
)

// FuzzParse: Parse, Split and DecodeMeterData never panic; a frame Parse
// accepts builds back to the same bytes (without the preamble), and payload
// DecodeMeterData accepts encodes back to the same bytes.
func FuzzParse(f *testing.F) {
	f.Add(mustHex(f, verifiedRequest))
	f.Add(mustHex(f, verifiedReply))
	f.Add([]byte{0xFE, 0x68})
	f.Fuzz(func(t *testing.T, b []byte) {
		Split(b)
		fr, err := Parse(b)
		if err != nil {
			if len(b) >= MinFrame+1 && b[0] == Start {
				DecodeMeterData(b[11:])
			}
			return
		}
		out, err := fr.Build(0)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, bytes.TrimLeft(b, "\xfe")) {
			t.Fatalf("rebuilt % X from % X", out, b)
		}
		if sp, n, ok := Split(b); !ok || n != len(b) || !bytes.Equal(sp, out) {
			t.Fatalf("split %v %d % X", ok, n, sp)
		}
		d, err := DecodeMeterData(fr.Data)
		if err != nil {
			return
		}
		enc, err := d.Encode()
		if err != nil || !bytes.Equal(enc, fr.Data) {
			t.Fatalf("payload % X encodes to % X (%v)", fr.Data, enc, err)
		}
	})
}
