package cjt188

import "testing"

// BenchmarkParseDecode parses the verified sample reply and decodes its
// metering data into values, the work the push endpoint does per frame.
func BenchmarkParseDecode(b *testing.B) {
	raw := mustHex(b, verifiedReply)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		d, err := DecodeMeterData(f.Data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.Values(); err != nil {
			b.Fatal(err)
		}
	}
}
