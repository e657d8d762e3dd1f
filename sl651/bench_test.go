package sl651

import "testing"

// BenchmarkParseDecode parses and decodes the published timed report (frame 5: four
// elements), the work the gateway does per report.
func BenchmarkParseDecode(b *testing.B) {
	raw := samples(b)[4].raw
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Decode(f); err != nil {
			b.Fatal(err)
		}
	}
}
