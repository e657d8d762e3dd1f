package consumption

import (
	"encoding/binary"
	"errors"
	"math"
)

// Sum is the exact sum of float64 values, kept as non-overlapping partials
// (Shewchuk, "Adaptive precision floating-point arithmetic", 1997; the
// algorithm of Python's math.fsum). Its Value is the exact sum rounded
// once, so it does not depend on the order or grouping of the additions: a
// period summed hour by hour and one summed from day totals that are
// themselves Sums give the same float64 to the last bit. The zero Sum is 0.
// Values must be finite.
type Sum struct {
	p []float64
}

// Add adds x exactly.
func (s *Sum) Add(x float64) {
	i := 0
	for _, y := range s.p {
		if math.Abs(x) < math.Abs(y) {
			x, y = y, x
		}
		hi := x + y
		lo := y - (hi - x)
		if lo != 0 {
			s.p[i] = lo
			i++
		}
		x = hi
	}
	s.p = append(s.p[:i], x)
}

// AddSum adds another sum exactly.
func (s *Sum) AddSum(o Sum) {
	for _, x := range o.p {
		s.Add(x)
	}
}

// Sub subtracts x exactly.
func (s *Sum) Sub(x float64) { s.Add(-x) }

// Clone returns a copy that shares nothing with s.
func (s Sum) Clone() Sum {
	if len(s.p) == 0 {
		return Sum{}
	}
	return Sum{p: append([]float64(nil), s.p...)}
}

// Value returns the exact sum correctly rounded to a float64 (round half
// to even).
func (s Sum) Value() float64 {
	p := s.p
	n := len(p)
	if n == 0 {
		return 0
	}
	n--
	hi := p[n]
	var lo float64
	for n > 0 {
		x := hi
		n--
		y := p[n]
		hi = x + y
		lo = y - (hi - x)
		if lo != 0 {
			break
		}
	}
	// Round half to even across the remaining partials: when lo is exactly
	// half an ulp of hi and the next partial has lo's sign, the true sum is
	// beyond the half-way point.
	if n > 0 && (lo < 0 && p[n-1] < 0 || lo > 0 && p[n-1] > 0) {
		y := lo * 2
		x := hi + y
		if y == x-hi {
			hi = x
		}
	}
	return hi
}

// Partials returns the non-overlapping partials, smallest first (for
// storing a Sum; MakeSum restores it).
func (s Sum) Partials() []float64 { return s.p }

// ErrSum is returned by DecodeSum for bytes that are not a Sum.
var ErrSum = errors.New("malformed sum")

// MakeSum returns the Sum of stored partials (Partials); they are re-added,
// so any finite values make a valid Sum.
func MakeSum(partials []float64) Sum {
	var s Sum
	for _, x := range partials {
		s.Add(x)
	}
	return s
}

// AppendBinary appends the partials as little-endian IEEE 754 bits.
func (s Sum) AppendBinary(dst []byte) []byte {
	for _, x := range s.p {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(x))
	}
	return dst
}

// DecodeSum reads a Sum written by AppendBinary.
func DecodeSum(b []byte) (Sum, error) {
	if len(b)%8 != 0 {
		return Sum{}, ErrSum
	}
	ps := make([]float64, 0, len(b)/8)
	for i := 0; i < len(b); i += 8 {
		x := math.Float64frombits(binary.LittleEndian.Uint64(b[i:]))
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return Sum{}, ErrSum
		}
		ps = append(ps, x)
	}
	return MakeSum(ps), nil
}
