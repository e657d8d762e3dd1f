package leak

import "fmt"

// features turns one step of readings into the regressors of the
// pressure baseline: a constant, every flow and level reading, the
// squares and products of the flows (head losses grow about with the
// square of the flow), and an on/off indicator for every flow that was
// seen switching off during calibration (a pump).
type features struct {
	flows, levels []int
	switching     []int
	onThreshold   []float64
}

func newFeatures(flows, levels []int, rows [][]float64) *features {
	f := &features{flows: flows, levels: levels}
	for _, k := range flows {
		lo, hi := rows[0][k], rows[0][k]
		for _, r := range rows {
			lo, hi = min(lo, r[k]), max(hi, r[k])
		}
		// A flow that drops below a tenth of its maximum is taken as a
		// switching pump or valve.
		if hi > 0 && lo < 0.1*hi {
			f.switching = append(f.switching, k)
			f.onThreshold = append(f.onThreshold, 0.1*hi)
		}
	}
	return f
}

func (f *features) size() int {
	nf := len(f.flows)
	return 1 + nf + nf*(nf+1)/2 + len(f.levels) + len(f.switching)
}

func (f *features) fill(dst, r []float64) {
	dst[0] = 1
	i := 1
	for a, ka := range f.flows {
		dst[i] = r[ka]
		i++
		for _, kb := range f.flows[:a+1] {
			// Scaled so that the normal equations stay well conditioned
			// for flows of tens to hundreds of m³/h.
			dst[i] = r[ka] * r[kb] / 100
			i++
		}
	}
	for _, k := range f.levels {
		dst[i] = r[k]
		i++
	}
	for s, k := range f.switching {
		dst[i] = 0
		if r[k] > f.onThreshold[s] {
			dst[i] = 1
		}
		i++
	}
}

// baseline predicts every pressure sensor from the features of a step.
type baseline struct {
	feat     *features
	pressure []int
	beta     [][]float64
	buf      []float64
}

func fitBaseline(feat *features, pressure []int, rows [][]float64) (*baseline, error) {
	x := make([][]float64, len(rows))
	for i, r := range rows {
		x[i] = make([]float64, feat.size())
		feat.fill(x[i], r)
	}
	b := &baseline{feat: feat, pressure: pressure, buf: make([]float64, feat.size())}
	y := make([]float64, len(rows))
	for _, k := range pressure {
		for i, r := range rows {
			y[i] = r[k]
		}
		beta, err := leastSquares(x, y)
		if err != nil {
			return nil, fmt.Errorf("baseline of sensor %d: %w", k, err)
		}
		b.beta = append(b.beta, beta)
	}
	return b, nil
}

func (b *baseline) predict(r, dst []float64) {
	b.feat.fill(b.buf, r)
	for i, beta := range b.beta {
		dst[i] = dot(beta, b.buf)
	}
}

// residual writes measured − predicted pressure for every pressure sensor.
func (b *baseline) residual(r, dst []float64) {
	b.predict(r, dst)
	for i, k := range b.pressure {
		dst[i] = r[k] - dst[i]
	}
}
