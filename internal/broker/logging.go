package broker

import (
	"context"
	"log/slog"
	"sync/atomic"

	xrate "golang.org/x/time/rate"
)

// quietHandler passes mochi's log records within a budget. mochi logs a
// line for every refused or timed-out connection, so without one a stranger
// could fill the disk with our logs; the records left out are counted on
// the next one that passes (suppressed_before).
type quietHandler struct {
	slog.Handler
	lim     *xrate.Limiter
	dropped *atomic.Uint64
}

// logBudget is the rate and burst of mochi's log lines.
const (
	logPerS  = 1
	logBurst = 20
)

func newQuietHandler(h slog.Handler) *quietHandler {
	return &quietHandler{Handler: h, lim: xrate.NewLimiter(logPerS, logBurst), dropped: new(atomic.Uint64)}
}

func (h *quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if !h.lim.Allow() {
		h.dropped.Add(1)
		return nil
	}
	if n := h.dropped.Swap(0); n > 0 {
		r.AddAttrs(slog.Uint64("suppressed_before", n))
	}
	return h.Handler.Handle(ctx, r)
}

func (h *quietHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &quietHandler{Handler: h.Handler.WithAttrs(as), lim: h.lim, dropped: h.dropped}
}

func (h *quietHandler) WithGroup(name string) slog.Handler {
	return &quietHandler{Handler: h.Handler.WithGroup(name), lim: h.lim, dropped: h.dropped}
}
