package szy206

import "testing"

// BenchmarkParseDecode parses the published self-report (flow and cumulative volume)
// and decodes its data, the work the gateway does per report.
func BenchmarkParseDecode(b *testing.B) {
	raw := mustHex(b, jetlinksFlowVolume)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DecodeReport(f, Options{}, now); err != nil {
			b.Fatal(err)
		}
	}
}
