package consumption

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// exact is the sum of xs computed with enough bits to be exact, rounded
// to the nearest float64 (half to even).
func exact(xs []float64) float64 {
	acc := new(big.Float).SetPrec(4096)
	for _, x := range xs {
		acc.Add(acc, new(big.Float).SetPrec(4096).SetFloat64(x))
	}
	f, _ := acc.Float64()
	return f
}

func randomValues(r *rand.Rand, n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		switch r.IntN(4) {
		case 0: // meter-like increments
			xs[i] = float64(r.IntN(100000)) / 1000
		case 1:
			xs[i] = r.Float64() * math.Pow(10, float64(r.IntN(12)-4))
		case 2:
			xs[i] = -r.Float64() * math.Pow(10, float64(r.IntN(12)-4))
		default:
			xs[i] = r.NormFloat64() * 1e-9
		}
	}
	return xs
}

func TestSumExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 2000 {
		xs := randomValues(r, 1+r.IntN(800))
		var flat Sum
		for _, x := range xs {
			flat.Add(x)
		}
		want := exact(xs)
		if got := flat.Value(); got != want {
			t.Fatalf("trial %d: sum of %d values = %v, exact %v", trial, len(xs), got, want)
		}
		// Grouped as a store groups hours into days, days into months,
		// and stored and restored in between.
		var grouped Sum
		for i := 0; i < len(xs); {
			j := min(i+1+r.IntN(30), len(xs))
			var part Sum
			for _, x := range xs[i:j] {
				part.Add(x)
			}
			back, err := DecodeSum(part.AppendBinary(nil))
			if err != nil {
				t.Fatal(err)
			}
			grouped.AddSum(back)
			i = j
		}
		if got := grouped.Value(); got != want {
			t.Fatalf("trial %d: grouped sum %v, exact %v", trial, got, want)
		}
		// Taking one value out again is exact too.
		k := r.IntN(len(xs))
		grouped.Sub(xs[k])
		if got, want := grouped.Value(), exact(append(append([]float64(nil), xs[:k]...), xs[k+1:]...)); got != want {
			t.Fatalf("trial %d: sum less one %v, exact %v", trial, got, want)
		}
	}
}

func TestSumHalfEven(t *testing.T) {
	// 1 + 2^-53 is exactly half an ulp above 1: ties to even (1); a tiny
	// extra pushes it up.
	var s Sum
	s.Add(1)
	s.Add(math.Ldexp(1, -53))
	if s.Value() != 1 {
		t.Fatalf("tie: %v", s.Value())
	}
	s.Add(math.Ldexp(1, -80))
	if want := math.Nextafter(1, 2); s.Value() != want {
		t.Fatalf("above the tie: %v, want %v", s.Value(), want)
	}
	var zero Sum
	if zero.Value() != 0 {
		t.Fatal("zero Sum is not 0")
	}
	if _, err := DecodeSum([]byte{1, 2, 3}); err == nil {
		t.Fatal("7 bytes decoded")
	}
}
