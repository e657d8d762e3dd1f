package bus

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shuixiao/shuixiao/internal/ingest"
)

// Pipeline is what the sequencer hands readings to (*ingest.Pipeline).
type Pipeline interface {
	SubmitChecked(raw []byte, key, source string, received time.Time, done func(ingest.Result))
}

// Sequencer feeds a pipeline from the stream, in stream order, and
// acknowledges a message once every reading in it has its final outcome:
// admitted (in the ledger and the store), an exact resubmission of one
// that is, or refused for good (the pipeline counts refusals in the
// store). A reading the pipeline answers unavailable (the ledger failed
// it, or it waits for an earlier reading of its meter that the ledger
// failed: ingest.Options.Hold) leaves its message unacknowledged and stops
// the consumer; after Retry the consumer starts again from the oldest
// unacknowledged message, so the failed readings come again in their order,
// before the readings of their meters behind them. It does so too after the
// connection to NATS was lost and is back.
type Sequencer struct {
	conn  *Conn
	p     Pipeline
	log   *slog.Logger
	retry time.Duration
	// receipt is the text of a reading's receipt (nil: none are sent).
	receipt func(ingest.Result) string

	mu    sync.Mutex
	round context.CancelFunc // ends the current Consume

	toLedger prometheus.Histogram
	redeliv  prometheus.Counter
	restarts prometheus.Counter
}

// SequencerOptions configures a Sequencer; the zero value works.
type SequencerOptions struct {
	// Retry is the pause before consuming again after a reading was
	// unavailable or the consumer stopped (default 1 s).
	Retry      time.Duration
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Receipt, if not nil, makes the text of a reading's receipt: once a
	// message is acknowledged, the edge that published it is sent the
	// receipts its devices asked for (Message.Receipt, SendReceipts).
	Receipt func(ingest.Result) string
}

// NewSequencer returns a sequencer of c's stream into p; Run starts it.
func NewSequencer(c *Conn, p Pipeline, o SequencerOptions) *Sequencer {
	if o.Retry <= 0 {
		o.Retry = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sequencer{conn: c, p: p, log: o.Logger, retry: o.Retry, receipt: o.Receipt,
		toLedger: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "shuixiao_bus_to_ledger_seconds",
			Help:    "Time from a reading's PubAck (stored in the stream, the edge's PUBACK) to its inclusion in the ledger and the store.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}),
		redeliv: prometheus.NewCounter(prometheus.CounterOpts{Name: "shuixiao_bus_redelivered_total",
			Help: "Readings the bus delivered to the sequencer more than once (a restart, or a retry after an unavailable ledger or store)."}),
		restarts: prometheus.NewCounter(prometheus.CounterOpts{Name: "shuixiao_bus_consumer_restarts_total",
			Help: "Times the sequencer stopped consuming (a reading unavailable, the connection lost) and started again from the oldest unacknowledged message."}),
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(s.toLedger, s.redeliv, s.restarts)
	}
	return s
}

// Run consumes until ctx ends.
func (s *Sequencer) Run(ctx context.Context) {
	for ctx.Err() == nil {
		round, cancel := context.WithCancel(ctx)
		s.mu.Lock()
		s.round = cancel
		s.mu.Unlock()
		err := s.conn.Consume(round, s.sequence)
		cancel()
		if ctx.Err() != nil {
			return
		}
		s.restarts.Inc()
		s.log.Error("总线消费中断，稍后从最早未确认的读数重新开始 / bus consumer stopped; restarting from the oldest unacknowledged reading",
			"in", s.retry, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(s.retry):
		}
	}
}

// stopRound ends the current Consume: nothing more is taken from the
// stream until the next round starts from the oldest unacknowledged
// message.
func (s *Sequencer) stopRound() {
	s.mu.Lock()
	if s.round != nil {
		s.round()
	}
	s.mu.Unlock()
}

// sequence submits the readings of a delivery in order and acknowledges it
// once every one has its final outcome; then the edge that published it is
// sent the receipts its devices asked for.
func (s *Sequencer) sequence(d *Delivery) {
	if d.Delivered > 1 {
		s.redeliv.Add(float64(len(d.Readings)))
	}
	var left atomic.Int32
	var unavailable atomic.Bool
	left.Store(int32(len(d.Readings)))
	var receiptsMu sync.Mutex
	var receipts []Receipt
	for _, r := range d.Readings {
		s.p.SubmitChecked(r.Raw, r.Key, r.Source, r.Received, func(res ingest.Result) {
			if r.Receipt && r.Device != "" && s.receipt != nil {
				receiptsMu.Lock()
				receipts = append(receipts, Receipt{Device: r.Device, Text: s.receipt(res)})
				receiptsMu.Unlock()
			}
			if res.Reject != nil && res.Reject.Reason == ingest.ReasonUnavailable {
				unavailable.Store(true)
				s.stopRound()
			} else if res.Reject == nil && !res.Duplicate {
				s.toLedger.Observe(time.Since(d.Stored).Seconds())
			}
			if left.Add(-1) > 0 || unavailable.Load() {
				return
			}
			if err := d.Ack(); err != nil {
				// Delivered again later, and then found in the ledger.
				s.log.Warn("bus ack failed", "stream_seq", d.StreamSeq, "error", err)
			}
			receiptsMu.Lock()
			rs := receipts
			receiptsMu.Unlock()
			if err := s.conn.SendReceipts(d, rs); err != nil {
				s.log.Debug("bus receipts not sent", "stream_seq", d.StreamSeq, "error", err)
			}
		})
	}
}
