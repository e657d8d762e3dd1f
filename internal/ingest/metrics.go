package ingest

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"
)

// latencyBuckets run from 1 ms to 5.8 s in steps of √2, fine enough to read
// a 99th percentile off against a 250 ms target.
var latencyBuckets = prometheus.ExponentialBuckets(0.001, math.Sqrt2, 26)

// metrics are the pipeline's Prometheus instruments.
type metrics struct {
	admitted   prometheus.Counter
	duplicates prometheus.Counter
	// quarantined counts ledger entries set aside because the store
	// refused them (quarantine.Record).
	quarantined prometheus.Counter
	rejected    *prometheus.CounterVec
	batch       prometheus.Histogram
	appendDur   prometheus.Histogram
	commitDur   prometheus.Histogram
	queue       prometheus.GaugeFunc
	verifyQ     prometheus.GaugeFunc
	latency     prometheus.Histogram
	idle        prometheus.Counter
	answer      prometheus.Histogram
	held        prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, queueLen, verifyLen func() float64) *metrics {
	m := &metrics{
		admitted: prometheus.NewCounter(prometheus.CounterOpts{Name: "shuixiao_ingest_admitted_total",
			Help: "Readings admitted to the ledger and the store."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "shuixiao_ingest_duplicates_total",
			Help: "Exact resubmissions answered with their original index."}),
		quarantined: prometheus.NewCounter(prometheus.CounterOpts{Name: "shuixiao_ingest_quarantined_total",
			Help: "Ledger entries the store refused, set aside (quarantined) instead of retried; listed by GET /api/v1/quarantine."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shuixiao_ingest_rejected_total",
			Help: "Readings and messages refused, by reason."}, []string{"reason"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "shuixiao_ingest_batch_readings",
			Help: "Readings per ledger append and store commit.", Buckets: prometheus.ExponentialBuckets(1, 4, 8)}),
		appendDur: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "shuixiao_ingest_ledger_append_seconds",
			Help: "Time to append a batch durably to the ledger.", Buckets: latencyBuckets}),
		commitDur: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "shuixiao_ingest_store_commit_seconds",
			Help: "Time to commit a batch to the store.", Buckets: latencyBuckets}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "shuixiao_ingest_latency_seconds",
			Help: "Time from receiving a reading to answering it (durable or refused).", Buckets: latencyBuckets}),
		idle: prometheus.NewCounter(prometheus.CounterOpts{Name: "shuixiao_ingest_sequencer_idle_seconds_total",
			Help: "Time the sequencer waited for readings (an idle sequencer means the limit is elsewhere)."}),
		answer: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "shuixiao_ingest_answer_seconds",
			Help: "Time to hand a committed batch to live streams and alarms and answer its submitters.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14)}),
		held: prometheus.NewCounter(prometheus.CounterOpts{Name: "shuixiao_ingest_held_total",
			Help: "Readings answered unavailable because an earlier reading of their meter failed to reach the ledger and has not come again."}),
		queue: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shuixiao_ingest_queue_readings",
			Help: "Readings waiting for the sequencer."}, queueLen),
		verifyQ: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shuixiao_ingest_verify_queue_readings",
			Help: "Readings waiting for their signature check."}, verifyLen),
	}
	if reg != nil {
		reg.MustRegister(m.admitted, m.duplicates, m.quarantined, m.rejected, m.batch, m.appendDur, m.commitDur, m.queue, m.verifyQ, m.latency, m.idle, m.answer, m.held)
	}
	return m
}
