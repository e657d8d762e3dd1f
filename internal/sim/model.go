package sim

import (
	"hash/fnv"
	"time"

	"github.com/shuixiao/shuixiao/meter"
)

// OfficeProfile is the occupancy pattern that drives domestic water use.
func OfficeProfile() Profile { return officeProfile }

func regionKey(code string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(code))
	return h.Sum64()
}

// ConditionsAt returns the enterprise's water-model inputs at model time t:
// production from its industry's pattern, the city's air temperature (the
// same weather for every enterprise of a city), office occupancy, and any
// extra leak.
func (e *Enterprise) ConditionsAt(t time.Time, params *Parameters, leak map[meter.Source]float64) Conditions {
	return Conditions{
		Production: e.Template.Production.At(t, e.Key),
		AirC:       params.AirTemperature(t, regionKey(e.Region)),
		Office:     officeProfile.At(t, e.Key^0x0ff1ce),
		Leak:       leak,
	}
}

// Volumes integrates the enterprise's stream flows (trapezoidal rule) from
// from to to with the given step, returning m³ per stream.
func (e *Enterprise) Volumes(params *Parameters, from, to time.Time, step time.Duration, leak map[meter.Source]float64) []float64 {
	p := e.System
	vol := make([]float64, len(p.Streams))
	prev := p.Flows(e.ConditionsAt(from, params, leak))
	cur := make([]float64, len(p.Streams))
	for t := from; t.Before(to); {
		next := t.Add(step)
		if next.After(to) {
			next = to
		}
		p.FlowsInto(cur, e.ConditionsAt(next, params, leak))
		h := next.Sub(t).Hours()
		for i := range vol {
			vol[i] += (prev[i] + cur[i]) / 2 * h
		}
		prev, cur = cur, prev
		t = next
	}
	return vol
}

// Output is the product output (in the archetype's unit) between from and
// to, integrating the production pattern.
func (e *Enterprise) Output(from, to time.Time, step time.Duration) float64 {
	total := 0.0
	perHour := e.System.Capacity / 24
	for t := from; t.Before(to); t = t.Add(step) {
		next := t.Add(step)
		if next.After(to) {
			next = to
		}
		a := e.Template.Production.At(t, e.Key)
		b := e.Template.Production.At(next, e.Key)
		total += (a + b) / 2 * perHour * next.Sub(t).Hours()
	}
	return total
}

// Sample is what one point's meter would show at an instant, before the
// meter's own error: the true flow through it and its quality channels.
type Sample struct {
	Flow    float64
	Quality map[string]float64
}

// Sample evaluates every point of the enterprise at model time t.
func (e *Enterprise) Sample(params *Parameters, t time.Time, leak map[meter.Source]float64) (Conditions, []Sample) {
	c := e.ConditionsAt(t, params, leak)
	flows := e.System.Flows(c)
	ctx := &qualityContext{plant: e.System, template: &e.Template, flows: flows, production: c.Production, key: e.Key, t: t}
	out := make([]Sample, len(e.Points))
	for i, pt := range e.Points {
		q := pt.Spec.Flow(flows)
		s := Sample{Flow: q}
		if len(pt.Spec.Channels) > 2 {
			s.Quality = map[string]float64{}
			ctx.key = e.Key ^ uint64(i+1)*0x9e3779b97f4a7c15
			pt.Spec.qualityValues(ctx, q, s.Quality)
		}
		out[i] = s
	}
	return c, out
}
