package framesrv

import (
	"reflect"
	"strings"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
)

// NewCollector exposes a protocol server's Stats as Prometheus metrics:
// shuixiao_<protocol>_connections (the Open gauge) and
// shuixiao_<protocol>_events_total{event} for every other counter, the event named
// after the Stats field in snake case ("bad_crc", "stalled", …). stats returns the
// server's Stats struct (fields of type int64, embedded structs followed).
func NewCollector(protocol string, stats func() any) prometheus.Collector {
	return &collector{stats: stats,
		open:   prometheus.NewDesc("shuixiao_"+protocol+"_connections", protocol+" device connections open now.", nil, nil),
		events: prometheus.NewDesc("shuixiao_"+protocol+"_events_total", protocol+" gateway counters by event.", []string{"event"}, nil)}
}

type collector struct {
	stats        func() any
	open, events *prometheus.Desc
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.open
	ch <- c.events
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	walk(reflect.ValueOf(c.stats()), func(name string, v int64) {
		if name == "Open" {
			ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(v))
			return
		}
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.CounterValue, float64(v), snake(name))
	})
}

func walk(v reflect.Value, f func(string, int64)) {
	for i := range v.NumField() {
		field, sf := v.Field(i), v.Type().Field(i)
		switch {
		case sf.Anonymous && field.Kind() == reflect.Struct:
			walk(field, f)
		case field.Kind() == reflect.Int64:
			f(sf.Name, field.Int())
		}
	}
}

// snake turns "BadCRC" into "bad_crc" and "UnknownDevice" into "unknown_device".
func snake(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 && (unicode.IsLower(r[i-1]) || i+1 < len(r) && unicode.IsLower(r[i+1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}
