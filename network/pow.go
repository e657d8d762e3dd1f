package network

import (
	"math"
	"math/big"
	"sync"
)

// pow computes x**y for x > 0 with table-driven logarithm and exponential
// carried in double-double precision (the classic Tang / Gal scheme), so
// the result is nearly always the correctly rounded one. It is both
// faster than math.Pow and closer to what C libraries return, which keeps
// this solver's rounding close to EPANET's: GGA trials amplify one-ulp
// differences in head loss gradients (see the package tests).
//
//	log x = k·ln2 − log(invc) + log1p(r),  x = 2ᵏ·m, r = m·invc − 1
//	e^z   = 2^(n/N)·e^r,                   z = n·ln2/N + r
const (
	powTableBits = 7
	powN         = 1 << powTableBits
)

var (
	powOnce sync.Once
	// logInvC[i] ≈ 1/c for c the centre of mantissa interval i;
	// logTable[i] = −log(logInvC[i]) in double-double.
	logInvC        [powN]float64
	logTableHi     [powN]float64
	logTableLo     [powN]float64
	expTableHi     [powN]float64 // 2^(j/N) in double-double
	expTableLo     [powN]float64
	ln2Hi, ln2Lo   float64 // ln 2 split so that k·ln2Hi is exact
	ln2NHi, ln2NLo float64 // ln2/N split likewise
	invLn2N        float64 // N/ln 2
	powTablesOK    bool
)

// powTablePrecision is the working precision (bits) of the table set-up.
const powTablePrecision = 200

// initPowTables computes the tables with math/big (once per process).
func initPowTables() {
	prec := uint(powTablePrecision)
	one := new(big.Float).SetPrec(prec).SetInt64(1)
	two := new(big.Float).SetPrec(prec).SetInt64(2)
	ln2 := bigLn2(prec)
	split := func(v *big.Float) (hi, lo float64) {
		hi, _ = v.Float64()
		rest := new(big.Float).SetPrec(prec).Sub(v, new(big.Float).SetPrec(prec).SetFloat64(hi))
		lo, _ = rest.Float64()
		return hi, lo
	}
	// ln2Hi keeps 32 significant bits so k·ln2Hi is exact for |k| < 2^21.
	l2, _ := ln2.Float64()
	ln2Hi = math.Float64frombits(math.Float64bits(l2) &^ (1<<21 - 1))
	ln2Lo, _ = new(big.Float).SetPrec(prec).Sub(ln2, new(big.Float).SetPrec(prec).SetFloat64(ln2Hi)).Float64()
	ln2N := new(big.Float).SetPrec(prec).Quo(ln2, new(big.Float).SetPrec(prec).SetInt64(powN))
	l2n, _ := ln2N.Float64()
	ln2NHi = math.Float64frombits(math.Float64bits(l2n) &^ (1<<21 - 1))
	ln2NLo, _ = new(big.Float).SetPrec(prec).Sub(ln2N, new(big.Float).SetPrec(prec).SetFloat64(ln2NHi)).Float64()
	invLn2N, _ = new(big.Float).SetPrec(prec).Quo(new(big.Float).SetPrec(prec).SetInt64(powN), ln2).Float64()

	for i := range powN {
		// 1/c rounded to 8 significant bits, so that m·invc − 1 is exact
		// in one FMA for every mantissa m of the interval.
		c := 1 + (float64(i)+0.5)/powN
		inv := math.Ldexp(math.Round(math.Ldexp(1/c, 8)), -8)
		logInvC[i] = inv
		lg := bigLog(new(big.Float).SetPrec(prec).SetFloat64(inv), prec, ln2)
		lg.Neg(lg)
		// Keep hi a multiple of 2^-43 so that k·ln2Hi + hi is exact.
		hi, _ := lg.Float64()
		hi = math.Ldexp(math.Round(math.Ldexp(hi, 43)), -43)
		logTableHi[i] = hi
		logTableLo[i], _ = new(big.Float).SetPrec(prec).Sub(lg, new(big.Float).SetPrec(prec).SetFloat64(hi)).Float64()
	}
	// 2^(1/N) by repeated square roots, then its powers.
	root := new(big.Float).SetPrec(prec).Set(two)
	for range powTableBits {
		root.Sqrt(root)
	}
	p := new(big.Float).SetPrec(prec).Set(one)
	for j := range powN {
		expTableHi[j], expTableLo[j] = split(p)
		p.Mul(p, root)
	}
	powTablesOK = true
}

// bigLog computes log(a) for a > 0 by 2·atanh((a−1)/(a+1)) after scaling a
// into [1/√2, √2].
func bigLog(a *big.Float, prec uint, ln2 *big.Float) *big.Float {
	a = new(big.Float).SetPrec(prec).Set(a)
	k := a.MantExp(a) // a now in [0.5, 1)
	if a.Cmp(big.NewFloat(math.Sqrt2/2)) < 0 {
		a.SetMantExp(a, 1)
		k--
	}
	one := new(big.Float).SetPrec(prec).SetInt64(1)
	num := new(big.Float).SetPrec(prec).Sub(a, one)
	den := new(big.Float).SetPrec(prec).Add(a, one)
	sum := bigTwoAtanh(new(big.Float).SetPrec(prec).Quo(num, den), prec)
	if k != 0 {
		sum.Add(sum, new(big.Float).SetPrec(prec).Mul(ln2, new(big.Float).SetPrec(prec).SetInt64(int64(k))))
	}
	return sum
}

// bigLn2 computes log 2 = 2·atanh(1/3).
func bigLn2(prec uint) *big.Float {
	third := new(big.Float).SetPrec(prec).Quo(new(big.Float).SetPrec(prec).SetInt64(1), new(big.Float).SetPrec(prec).SetInt64(3))
	return bigTwoAtanh(third, prec)
}

// bigTwoAtanh sums 2·(s + s³/3 + s⁵/5 + …) for |s| < 1/2 to prec bits.
func bigTwoAtanh(s *big.Float, prec uint) *big.Float {
	one := new(big.Float).SetPrec(prec).SetInt64(1)
	s2 := new(big.Float).SetPrec(prec).Mul(s, s)
	sum := new(big.Float).SetPrec(prec).Set(s)
	term := new(big.Float).SetPrec(prec).Set(s)
	eps := new(big.Float).SetPrec(prec).SetMantExp(one, -int(prec))
	for n := int64(3); ; n += 2 {
		term.Mul(term, s2)
		t := new(big.Float).SetPrec(prec).Quo(term, new(big.Float).SetPrec(prec).SetInt64(n))
		sum.Add(sum, t)
		if t.Sign() == 0 || new(big.Float).Abs(t).Cmp(eps) < 0 {
			break
		}
	}
	return sum.Mul(sum, new(big.Float).SetPrec(prec).SetInt64(2))
}

// twoSum returns s = a+b rounded and the exact error.
func twoSum(a, b float64) (s, e float64) {
	s = a + b
	bb := s - a
	e = (a - (s - bb)) + (b - bb)
	return s, e
}

// logDD returns log(x) as hi + lo (not normalised: |lo| may exceed half
// an ulp of hi) for finite x > 0 in the normal range.
func logDD(x float64) (hi, lo float64) {
	bits := math.Float64bits(x)
	k := int((bits>>52)&0x7ff) - 1023
	i := (bits >> (52 - powTableBits)) & (powN - 1)
	m := math.Float64frombits(bits&(1<<52-1) | 1023<<52) // mantissa in [1, 2)
	r := math.FMA(m, logInvC[i], -1)                     // exact, |r| < 0.008
	// log1p(r) − r = −r²/2 + r³/3 − … (the r¹⁰ term is below 2^-75).
	r2 := r * r
	p := r2 * (-0.5 + r*(1.0/3+r*(-0.25+r*(0.2+r*(-1.0/6+r*(1.0/7+r*(-0.125+r*(1.0/9))))))))
	fk := float64(k)
	t := fk*ln2Hi + logTableHi[i] // exact: both are multiples of 2^-43 below 2^10
	hi, e := twoSum(t, r)
	lo = e + (fk*ln2Lo + logTableLo[i]) + p
	return hi, lo
}

// expDD returns e^(zhi+zlo) for |zhi| < 700, carrying the reduced
// argument and the leading product in double-double so that only the final
// addition rounds.
func expDD(zhi, zlo float64) float64 {
	const shifter = 0x1.8p52 // adding and removing it rounds to an integer
	nf := zhi*invLn2N + shifter
	nf -= shifter
	n := int64(nf)
	rhi := zhi - nf*ln2NHi // exact (Sterbenz)
	rlo := zlo - nf*ln2NLo
	r := rhi + rlo // |r| ≤ ln2/(2N) ≈ 0.0027
	// e^r − 1 − r to degree 6 (error < r⁷/5040 ≈ 2^-72).
	tail := r * r * (0.5 + r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720)))))
	j := n & (powN - 1)
	th, tl := expTableHi[j], expTableLo[j]
	// 2^(j/N)·e^r = th + th·rhi + th·(rlo + tail) + tl·e^r
	p := th * rhi
	pe := math.FMA(th, rhi, -p)
	s := th + p // |p| < th/256: Dekker's fast two-sum is exact
	e := p - (s - th)
	v := s + (e + pe + th*(rlo+tail) + tl*(1+r+tail))
	return scaleByPow2(v, n>>powTableBits)
}

// scaleByPow2 returns v·2^e.
func scaleByPow2(v float64, e int64) float64 {
	if e > -1000 && e < 1000 {
		return v * math.Float64frombits(uint64(e+1023)<<52)
	}
	return math.Ldexp(v, int(e))
}

// pow returns x**y for x ≥ 0 (see the comment at the top of the file).
func pow(x, y float64) float64 {
	if y == 1 {
		return x
	}
	if !(x > 0) || x > math.MaxFloat64 || x < 0x1p-1021 || !powTablesOK {
		return math.Pow(x, y)
	}
	lhi, llo := logDD(x)
	zhi := y * lhi
	if math.Abs(zhi) > 700 {
		return math.Pow(x, y)
	}
	zlo := math.FMA(y, lhi, -zhi) + y*llo
	return expDD(zhi, zlo)
}

// logAccurate returns log(x) rounded from its double-double value.
func logAccurate(x float64) float64 {
	if !(x > 0) || x > math.MaxFloat64 || x < 0x1p-1021 || !powTablesOK {
		return math.Log(x)
	}
	hi, lo := logDD(x)
	return hi + lo
}

func ensurePowTables() { powOnce.Do(initPowTables) }
