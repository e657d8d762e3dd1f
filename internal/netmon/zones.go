package netmon

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

// The night window (network time of day, hours [start, end)) in which the
// minimum night flow is taken: the 02:00–04:00 hours of the UK Managing
// Leakage reports, widened by an hour for parks whose shifts end late.
const (
	NightStartHour = 2
	NightEndHour   = 5
)

// ZoneBalance is the water balance of a network's district metered areas
// over a period, in buckets of network time: what the boundary meters let
// in, what the customers' meters took, and the difference (leakage plus
// unmetered use), as mean flows per bucket.
type ZoneBalance struct {
	Network string `json:"network"`
	From    string `json:"from"`
	To      string `json:"to"`
	// BucketS is the bucket width in network seconds; T the real start of
	// each bucket.
	BucketS int64        `json:"bucket_s"`
	T       []time.Time  `json:"t"`
	Zones   []ZoneSeries `json:"zones"`
}

// ZoneSeries is one zone's balance.
type ZoneSeries struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	NameEN string `json:"name_en,omitempty"`
	// Mean flows per bucket (m³/h); nil where a meter had no reading.
	Inflow      []*float64 `json:"inflow_m3h"`
	Consumption []*float64 `json:"consumption_m3h"`
	Loss        []*float64 `json:"loss_m3h"`
	// Volumes over the buckets that have all three (m³, network time).
	InflowM3      float64 `json:"inflow_m3"`
	ConsumptionM3 float64 `json:"consumption_m3"`
	LossM3        float64 `json:"loss_m3"`
	// LossShare is LossM3 / InflowM3 (NaN-free: 0 without inflow).
	LossShare float64 `json:"loss_share"`
	// MNF is the minimum night flow of each network day in the period.
	MNF []NightFlow `json:"mnf"`
	// Missing lists the zone's meters without any reading in the period.
	Missing []string `json:"missing,omitempty"`
}

// NightFlow is a day's minimum night inflow of a zone.
type NightFlow struct {
	T         time.Time `json:"t"`
	InflowM3H float64   `json:"inflow_m3h"`
	// LossM3H is inflow minus metered consumption in the same bucket.
	LossM3H *float64 `json:"loss_m3h"`
}

// FlowSample is one flow reading of a metering point.
type FlowSample struct {
	Time time.Time
	M3H  float64
}

// BalanceZones computes the zone balance from the points' flow readings
// (keyed by point) between from and to, in buckets of bucketS network
// seconds.
func BalanceZones(id string, cfg Config, flows map[string][]FlowSample, from, to time.Time, bucketS int64) (*ZoneBalance, error) {
	if bucketS < 60 {
		return nil, fmt.Errorf("zone balance: bucket of %d s is too short", bucketS)
	}
	clock := cfg.Clock
	t0 := clock.Seconds(from) / bucketS * bucketS
	t1 := clock.Seconds(to)
	n := int((t1 - t0 + bucketS - 1) / bucketS)
	if n <= 0 {
		return nil, fmt.Errorf("zone balance: empty period %s – %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if n > 2000 {
		return nil, fmt.Errorf("zone balance: %d buckets; ask for a shorter period or a wider bucket", n)
	}
	zb := &ZoneBalance{Network: id, From: from.Format(time.RFC3339), To: to.Format(time.RFC3339), BucketS: bucketS}
	for i := range n {
		zb.T = append(zb.T, clock.Instant(t0+int64(i)*bucketS))
	}
	// Mean flow of each point per bucket.
	means := map[string][]*float64{}
	mean := func(p string) []*float64 {
		if m, ok := means[p]; ok {
			return m
		}
		sum, count := make([]float64, n), make([]int, n)
		for _, s := range flows[p] {
			if s.Time.Before(from) || !s.Time.Before(to) || math.IsNaN(s.M3H) || math.IsInf(s.M3H, 0) {
				continue
			}
			b := int((clock.Seconds(s.Time) - t0) / bucketS)
			if b >= 0 && b < n {
				sum[b] += s.M3H
				count[b]++
			}
		}
		out := make([]*float64, n)
		for b := range out {
			if count[b] > 0 {
				v := sum[b] / float64(count[b])
				out[b] = &v
			}
		}
		means[p] = out
		return out
	}
	for _, z := range cfg.Zones {
		zs := ZoneSeries{ID: z.ID, Name: z.Name, NameEN: z.NameEN,
			Inflow: make([]*float64, n), Consumption: make([]*float64, n), Loss: make([]*float64, n)}
		for _, m := range z.Inflows {
			if len(flows[m.Point]) == 0 {
				zs.Missing = append(zs.Missing, m.Point)
			}
		}
		for _, p := range z.Consumers {
			if len(flows[p]) == 0 {
				zs.Missing = append(zs.Missing, p)
			}
		}
		for b := range n {
			in, ok := 0.0, true
			for _, m := range z.Inflows {
				v := mean(m.Point)[b]
				if v == nil {
					ok = false
					break
				}
				in += m.Sign * *v
			}
			if !ok {
				continue
			}
			zs.Inflow[b] = ptr(in)
			use, ok := 0.0, true
			for _, p := range z.Consumers {
				v := mean(p)[b]
				if v == nil {
					ok = false
					break
				}
				use += *v
			}
			if !ok {
				continue
			}
			zs.Consumption[b] = ptr(use)
			zs.Loss[b] = ptr(in - use)
			// Volumes in network time: what the network's days used.
			h := float64(bucketS) / 3600
			zs.InflowM3 += in * h
			zs.ConsumptionM3 += use * h
			zs.LossM3 += (in - use) * h
		}
		if zs.InflowM3 > 0 {
			zs.LossShare = zs.LossM3 / zs.InflowM3
		}
		zs.MNF = nightFlows(zb.T, t0, bucketS, zs.Inflow, zs.Loss)
		zb.Zones = append(zb.Zones, zs)
	}
	return zb, nil
}

func ptr(v float64) *float64 { return &v }

// nightFlows takes, for each network day, the bucket of least inflow
// whose start lies in the night window.
func nightFlows(ts []time.Time, t0, bucketS int64, inflow, loss []*float64) []NightFlow {
	out := []NightFlow{}
	day := int64(-1)
	for b, v := range inflow {
		start := t0 + int64(b)*bucketS
		hour := int(start % 86400 / 3600)
		if v == nil || hour < NightStartHour || hour >= NightEndHour {
			continue
		}
		if d := start / 86400; d != day {
			day = d
			out = append(out, NightFlow{T: ts[b], InflowM3H: *v, LossM3H: loss[b]})
			continue
		}
		if last := &out[len(out)-1]; *v < last.InflowM3H {
			*last = NightFlow{T: ts[b], InflowM3H: *v, LossM3H: loss[b]}
		}
	}
	return out
}

// ReadingStore is what reading a network's meters needs of the store.
type ReadingStore interface {
	Meters(ctx context.Context, f store.Filter) ([]meter.Meter, error)
	ScanReadings(ctx context.Context, q store.ReadingQuery, fn func(*store.Reading) error) error
}

// ReadFlows returns the flow readings (channel flow_m3h) of the given
// points between from and to, from all the meters that served them.
func ReadFlows(ctx context.Context, st ReadingStore, points []string, from, to time.Time) (map[string][]FlowSample, error) {
	out := map[string][]FlowSample{}
	for _, p := range points {
		if _, done := out[p]; done {
			continue
		}
		ms, err := st.Meters(ctx, store.Filter{Point: p})
		if err != nil {
			return nil, fmt.Errorf("meters of %s: %w", p, err)
		}
		samples := []FlowSample{}
		for _, m := range ms {
			err := st.ScanReadings(ctx, store.ReadingQuery{Meter: m.ID, From: from, To: to}, func(r *store.Reading) error {
				if r.Flags&untrusted != 0 {
					return nil
				}
				if v, ok := r.Value(ZoneChannel); ok {
					samples = append(samples, FlowSample{Time: r.Time, M3H: v})
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("readings of %s: %w", m.ID, err)
			}
		}
		out[p] = samples
	}
	return out, nil
}

// ZonePoints lists the points the zone balance reads.
func (c Config) ZonePoints() []string {
	var out []string
	for _, z := range c.Zones {
		for _, m := range z.Inflows {
			out = append(out, m.Point)
		}
		out = append(out, z.Consumers...)
	}
	return out
}
