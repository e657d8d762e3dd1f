package network

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// ulpErr returns |got − exact| in units in the last place of exact,
// with exact = x**y computed by math/big.
func powULPErr(x, y, got float64) float64 {
	const prec = 200
	ln2 := bigLn2(prec)
	lx := bigLog(new(big.Float).SetPrec(prec).SetFloat64(x), prec, ln2)
	z := new(big.Float).SetPrec(prec).Mul(lx, new(big.Float).SetPrec(prec).SetFloat64(y))
	exact := bigExp(z, prec)
	ex, _ := exact.Float64()
	ulp := math.Nextafter(ex, math.Inf(1)) - ex
	diff := new(big.Float).SetPrec(prec).Sub(new(big.Float).SetPrec(prec).SetFloat64(got), exact)
	d, _ := diff.Float64()
	return math.Abs(d) / ulp
}

// bigExp computes e^z by argument halving and a Taylor series.
func bigExp(z *big.Float, prec uint) *big.Float {
	one := new(big.Float).SetPrec(prec).SetInt64(1)
	r := new(big.Float).SetPrec(prec).Set(z)
	halvings := 0
	for r.MantExp(nil) > -20 {
		r.SetMantExp(r, -1)
		halvings++
	}
	sum := new(big.Float).SetPrec(prec).Set(one)
	term := new(big.Float).SetPrec(prec).Set(one)
	for n := int64(1); n < 40; n++ {
		term.Mul(term, r)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(n))
		sum.Add(sum, term)
	}
	for range halvings {
		sum.Mul(sum, sum)
	}
	return sum
}

func TestPowAccuracy(t *testing.T) {
	ensurePowTables()
	rng := rand.New(rand.NewPCG(7, 11))
	exps := []float64{0.852, -0.148, 1.852, 0.5, 2.0 / 3, -1.0 / 3, 1.5, 0.9, 4.871, -1.333, 2.5}
	const trials = 20000
	worst, over := 0.0, 0
	for i := range trials {
		x := math.Exp(rng.Float64()*40 - 25) // 1e-11 .. 3e4
		y := exps[i%len(exps)]
		got := pow(x, y)
		e := powULPErr(x, y, got)
		worst = math.Max(worst, e)
		if e > 0.5 {
			over++
		}
	}
	t.Logf("worst %.3f ulp, %d of %d not correctly rounded", worst, over, trials)
	if worst > 0.51 {
		t.Errorf("worst error %.3f ulp, want ≤ 0.51", worst)
	}
	if over > trials/200 {
		t.Errorf("%d of %d results not correctly rounded", over, trials)
	}
	for _, tc := range [][2]float64{{1, 0.852}, {0, 0.852}, {4, 0.5}, {2, 1}} {
		if got, want := pow(tc[0], tc[1]), math.Pow(tc[0], tc[1]); got != want {
			t.Errorf("pow(%v, %v) = %v, want %v", tc[0], tc[1], got, want)
		}
	}
}

func BenchmarkPow(b *testing.B) {
	ensurePowTables()
	x := 0.123
	s := 0.0
	for b.Loop() {
		s += pow(x, 0.852)
		x += 1e-9
	}
	_ = s
}

func BenchmarkMathPow(b *testing.B) {
	x := 0.123
	s := 0.0
	for b.Loop() {
		s += math.Pow(x, 0.852)
		x += 1e-9
	}
	_ = s
}

func BenchmarkExpLog(b *testing.B) {
	x := 0.123
	s := 0.0
	for b.Loop() {
		s += math.Exp(0.852 * math.Log(x))
		x += 1e-9
	}
	_ = s
}
