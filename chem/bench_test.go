package chem

import "testing"

// BenchmarkSpeciate speciates the twelve reference waters in turn (different temperatures,
// so log K are re-evaluated whenever the temperature changes) and reports analyses/s.
func BenchmarkSpeciate(b *testing.B) {
	s := newTestSpeciator(b)
	var waters []Analysis
	for _, rec := range csvRecords(b, refData(b, "chem", "waters_input.csv")) {
		waters = append(waters, analysisFromRecord(b, rec))
	}
	r := s.NewResult()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a := &waters[i%len(waters)]
		if err := s.SpeciateInto(a, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "analyses/s")
}

// BenchmarkSpeciateSameTemperature is the online case: one site's samples at one temperature.
func BenchmarkSpeciateSameTemperature(b *testing.B) {
	s := newTestSpeciator(b)
	rec := csvRecords(b, refData(b, "chem", "waters_input.csv"))[8]
	a := analysisFromRecord(b, rec)
	r := s.NewResult()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.PH = 7.9 + 0.01*float64(i%20)
		if err := s.SpeciateInto(&a, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "analyses/s")
}
