package network

import "testing"

// BenchmarkFactorSolveNet6 times one numerical factorisation and solve of
// Net6's network matrix (3323 junctions), as done in every GGA trial.
func BenchmarkFactorSolveNet6(b *testing.B) {
	s := benchSolver(b, "Net6.inp")
	s.reset()
	s.demands()
	s.headlossCoeffs()
	s.matrixCoeffs()
	ch := s.chol
	diag := append([]float64(nil), ch.Diag...)
	lower := append([]float64(nil), ch.Lower...)
	rhs := append([]float64(nil), ch.RHS...)
	b.ReportAllocs()
	for b.Loop() {
		copy(ch.Diag, diag)
		copy(ch.Lower, lower)
		copy(ch.RHS, rhs)
		if err := ch.Factorize(); err != nil {
			b.Fatal(err)
		}
		ch.Solve()
	}
}

// BenchmarkHeadlossNet6 times the head loss coefficients of all of Net6's
// links (the pow-heavy part of a trial).
func BenchmarkHeadlossNet6(b *testing.B) {
	s := benchSolver(b, "Net6.inp")
	s.reset()
	s.demands()
	b.ReportAllocs()
	for b.Loop() {
		clear(s.coeffFlow) // defeat the cache: every pipe recomputed
		for k := range s.coeffStatus {
			s.coeffStatus[k] = invalidCoeffStatus
		}
		s.headlossCoeffs()
	}
}
