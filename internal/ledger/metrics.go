package ledger

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Prometheus series of one Log. They are registered on the
// registerer given in Options, never on the global default registry.
type metrics struct {
	appendEntries   prometheus.Counter
	appendErrors    prometheus.Counter
	appendDuration  prometheus.Histogram
	groupEntries    prometheus.Histogram
	groupDuration   prometheus.Histogram
	integratedSize  prometheus.Gauge
	publishedSize   prometheus.Gauge
	publications    prometheus.Counter
	lastPublication prometheus.Gauge
	proofs          *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "shuixiao", "ledger"
	m := &metrics{
		appendEntries: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "append_entries_total",
			Help: "Entries durably sequenced by Append.",
		}),
		appendErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "append_errors_total",
			Help: "Entries that Append failed to sequence.",
		}),
		appendDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "append_duration_seconds",
			Help:    "Time from an Append call to its entries being durably sequenced.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		groupEntries: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "commit_group_entries",
			Help:    "Entries per group commit (one or more Append calls written together).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14),
		}),
		groupDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "commit_group_duration_seconds",
			Help:    "Time to write and sync one group commit.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		integratedSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "integrated_size",
			Help: "Entries in the integrated (durable, possibly unpublished) tree.",
		}),
		publishedSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "published_size",
			Help: "Tree size of the latest published (and, if configured, witnessed) checkpoint.",
		}),
		publications: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "checkpoints_published_total",
			Help: "Checkpoints published (observed by this process).",
		}),
		lastPublication: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "checkpoint_last_published_timestamp_seconds",
			Help: "Unix time the latest checkpoint was observed published; a stale value with a growing integrated_size means witnesses are not cosigning.",
		}),
		proofs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "proofs_total",
			Help: "Receipts requested, by result (ok, unpublished, error).",
		}, []string{"result"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{
		m.appendEntries, m.appendErrors, m.appendDuration, m.groupEntries, m.groupDuration,
		m.integratedSize, m.publishedSize, m.publications, m.lastPublication, m.proofs,
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) published(size uint64, at time.Time) {
	m.publishedSize.Set(float64(size))
	m.publications.Inc()
	m.lastPublication.Set(float64(at.UnixNano()) / 1e9)
}
