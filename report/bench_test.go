package report

import (
	"bytes"
	"testing"
)

// The steel works of testdata/balance: 19 points, 33 flows in the diagram.

func BenchmarkBalanceXLSX(b *testing.B) {
	d := steelDoc(b, nil, nil)
	var n int
	for b.Loop() {
		var buf bytes.Buffer
		if err := BalanceXLSX(&buf, d); err != nil {
			b.Fatal(err)
		}
		n = buf.Len()
	}
	b.ReportMetric(float64(n), "bytes/report")
}

func BenchmarkBalancePDF(b *testing.B) {
	font, err := FindFont()
	if err != nil {
		b.Skip(err)
	}
	d := steelDoc(b, nil, nil)
	var n int
	for b.Loop() {
		var buf bytes.Buffer
		if err := BalancePDF(&buf, d, WithFont(font)); err != nil {
			b.Fatal(err)
		}
		n = buf.Len()
	}
	b.ReportMetric(float64(n), "bytes/report")
}
