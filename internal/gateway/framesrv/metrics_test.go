package framesrv

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestCollector(t *testing.T) {
	type protoStats struct {
		Stats
		BadCRC        int64
		UnknownDevice int64
	}
	st := protoStats{Stats: Stats{Open: 3, Stalled: 2}, BadCRC: 5, UnknownDevice: 1}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector("sl651", func() any { return st }))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() == "shuixiao_sl651_connections" {
			if g := mf.GetMetric()[0].GetGauge().GetValue(); g != 3 {
				t.Errorf("connections %v", g)
			}
			continue
		}
		if !strings.HasPrefix(mf.GetName(), "shuixiao_sl651_events_total") {
			t.Errorf("metric %s", mf.GetName())
		}
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) == 1 {
				got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	if got["bad_crc"] != 5 || got["unknown_device"] != 1 || got["stalled"] != 2 || len(got) != 14 {
		t.Errorf("events %v", got)
	}
}
