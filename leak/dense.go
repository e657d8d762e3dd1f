package leak

import (
	"errors"
	"math"
)

// matrix is a small dense row-major matrix; the detector's systems are
// a few dozen rows, so plain loops are fast enough and keep the package
// free of dependencies.
type matrix struct {
	n, m int
	a    []float64
}

func newMatrix(n, m int) *matrix { return &matrix{n: n, m: m, a: make([]float64, n*m)} }

func (x *matrix) at(i, j int) float64     { return x.a[i*x.m+j] }
func (x *matrix) set(i, j int, v float64) { x.a[i*x.m+j] = v }
func (x *matrix) add(i, j int, v float64) { x.a[i*x.m+j] += v }

// cholesky factors a symmetric positive definite matrix in place into
// its lower triangle L (A = L·Lᵀ).
func cholesky(x *matrix) error {
	n := x.n
	for j := 0; j < n; j++ {
		d := x.at(j, j)
		for k := 0; k < j; k++ {
			d -= x.at(j, k) * x.at(j, k)
		}
		if !(d > 0) || math.IsInf(d, 0) {
			return errors.New("matrix is not positive definite")
		}
		d = math.Sqrt(d)
		x.set(j, j, d)
		for i := j + 1; i < n; i++ {
			s := x.at(i, j)
			for k := 0; k < j; k++ {
				s -= x.at(i, k) * x.at(j, k)
			}
			x.set(i, j, s/d)
		}
	}
	return nil
}

// choleskySolve solves L·Lᵀ·y = b in place (b becomes y).
func choleskySolve(l *matrix, b []float64) {
	n := l.n
	for i := 0; i < n; i++ {
		s := b[i]
		for k := 0; k < i; k++ {
			s -= l.at(i, k) * b[k]
		}
		b[i] = s / l.at(i, i)
	}
	for i := n - 1; i >= 0; i-- {
		s := b[i]
		for k := i + 1; k < n; k++ {
			s -= l.at(k, i) * b[k]
		}
		b[i] = s / l.at(i, i)
	}
}

// leastSquares fits y ≈ X·β over the rows of X by the normal equations
// with a tiny ridge (relative 1e-10) so that collinear regressors (a pump
// that never ran in the calibration data) do not break the fit.
func leastSquares(rows [][]float64, y []float64) ([]float64, error) {
	p := len(rows[0])
	a := newMatrix(p, p)
	b := make([]float64, p)
	for r, x := range rows {
		for i := 0; i < p; i++ {
			b[i] += x[i] * y[r]
			for j := 0; j <= i; j++ {
				a.add(i, j, x[i]*x[j])
			}
		}
	}
	for i := 0; i < p; i++ {
		for j := 0; j < i; j++ {
			a.set(j, i, a.at(i, j))
		}
		a.add(i, i, 1e-10*a.at(i, i)+1e-12)
	}
	if err := cholesky(a); err != nil {
		return nil, err
	}
	choleskySolve(a, b)
	return b, nil
}

// whitener holds the Cholesky factor of a covariance matrix; it computes
// quadratic forms xᵀ·Σ⁻¹·y.
type whitener struct {
	l   *matrix
	buf []float64
}

func newWhitener(cov *matrix) (*whitener, error) {
	l := &matrix{n: cov.n, m: cov.m, a: append([]float64(nil), cov.a...)}
	if err := cholesky(l); err != nil {
		return nil, err
	}
	return &whitener{l: l, buf: make([]float64, cov.n)}, nil
}

// whiten returns L⁻¹·x in dst, so that xᵀΣ⁻¹y = whiten(x)·whiten(y).
func (w *whitener) whiten(dst, x []float64) {
	n := w.l.n
	for i := 0; i < n; i++ {
		s := x[i]
		for k := 0; k < i; k++ {
			s -= w.l.at(i, k) * dst[k]
		}
		dst[i] = s / w.l.at(i, i)
	}
}

// quadratic returns xᵀ·Σ⁻¹·x.
func (w *whitener) quadratic(x []float64) float64 {
	w.whiten(w.buf, x)
	s := 0.0
	for _, v := range w.buf {
		s += v * v
	}
	return s
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// chiSquareQuantile returns the p-quantile of the χ² distribution with k
// degrees of freedom by the Wilson–Hilferty cube-root approximation
// (relative error below 1 % for k ≥ 3 in the upper tail).
func chiSquareQuantile(p float64, k int) float64 {
	z := math.Sqrt2 * math.Erfinv(2*p-1)
	c := 2 / (9 * float64(k))
	v := 1 - c + z*math.Sqrt(c)
	return float64(k) * v * v * v
}
