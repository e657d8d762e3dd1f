package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/shuixiao/shuixiao/internal/efficiency"
)

// demoQuotaWindow is the most model days the demo's quota review looks back.
const demoQuotaWindow = 7

// demoQuotaReview runs the quota review (retrofit cases) over the demo's
// latest whole model days every two minutes, so that the quota board and a
// case show content within the first half hour instead of after the first
// month. A whole number of model days (a real 24 minutes at speed 60) keeps
// the shifts of a day from weighing on the figure; the simulated
// enterprises report their output per real day (sim.Config.ReportOutput),
// counted in proportion to time. The server's own daily review of the last
// complete month runs as well.
func demoQuotaReview(ctx context.Context, cases *efficiency.Cases, start time.Time, speed float64, log *slog.Logger) {
	modelDay := time.Duration(float64(24*time.Hour) / max(speed, 1))
	const warmup = 3 * time.Minute // registration and the first readings
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Minute):
		}
		now := time.Now()
		k := int((now.Sub(start) - warmup) / modelDay)
		if k < 1 {
			continue
		}
		k = min(k, demoQuotaWindow)
		from := now.Add(-time.Duration(k) * modelDay)
		res, err := cases.Review(ctx, from, now)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("demo quota review", "error", err)
			}
			continue
		}
		if len(res.Opened)+len(res.Overdue)+len(res.Closed) > 0 || res.Board.Over > 0 {
			log.Info("demo quota review", "model_days", k, "over_quota", res.Board.Over, "opened", res.Opened, "rows", len(res.Board.Rows))
		}
	}
}
