package alarmwatch

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/internal/periodvol"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

// KindBalance is an enterprise whose level-1 intake and level-2 meters
// disagree beyond the balance tolerance: a hidden leak or unmetered use.
const KindBalance = "balance"

// BalanceStore is what the balance check reads.
type BalanceStore interface {
	Enterprises(ctx context.Context, f store.Filter) ([]meter.Enterprise, error)
	Points(ctx context.Context, f store.Filter) ([]meter.Point, error)
	Meters(ctx context.Context, f store.Filter) ([]meter.Meter, error)
	Consumption(ctx context.Context, q store.ConsumptionQuery) ([]store.SeriesBuckets, error)
}

// BalanceCheck configures the periodic water-balance check.
type BalanceCheck struct {
	Store BalanceStore
	// Window is the trailing period whose volumes are balanced; default 6 h.
	Window time.Duration
	// Every is how often the check runs; default 5 min.
	Every time.Duration
	// MinIntake is the least level-1 intake (m³) in the window worth judging;
	// default 1 m³.
	MinIntake float64
	// MinCoverage is the least fraction of the window's buckets every
	// compared point must have valid; default 1 (see compared).
	MinCoverage float64
	Settings    balance.Settings
}

func (c *BalanceCheck) fill() {
	if c.Window <= 0 {
		c.Window = 6 * time.Hour
	}
	if c.Every <= 0 {
		c.Every = 5 * time.Minute
	}
	if c.MinIntake <= 0 {
		c.MinIntake = 1
	}
	if c.MinCoverage <= 0 || c.MinCoverage > 1 {
		c.MinCoverage = 1
	}
	if c.Settings == (balance.Settings{}) {
		c.Settings = balance.DefaultSettings()
	}
}

// checkBalances balances every enterprise over the trailing window (ending
// on a whole quarter hour) and raises or clears its balance alarm. An
// enterprise whose compared points lack data is not judged: its alarm is
// neither raised nor cleared until they have it again.
func (m *Monitor) checkBalances(ctx context.Context) {
	c := m.opts.Balance
	now := m.opts.Now()
	to := now.Truncate(15 * time.Minute)
	from := to.Add(-c.Window)
	dirty := m.dirtyPoints(ctx) // taken before the store is read: a later commit marks the next round
	ents, err := c.Store.Enterprises(ctx, store.Filter{})
	if err != nil {
		clear(m.windows) // this round took the commits' marks: the next reads every window
		m.opts.Logger.Error("balance check", "error", err)
		return
	}
	for _, e := range ents {
		pts, err := c.Store.Points(ctx, store.Filter{Enterprise: e.ID})
		if err != nil {
			delete(m.windows, e.ID) // as above, for this enterprise
			m.opts.Logger.Error("balance check", "enterprise", e.ID, "error", err)
			continue
		}
		w, ok := m.windows[e.ID]
		if !ok || !w.still(from, to, pts, dirty) {
			vol, cov, err := periodvol.Volumes(ctx, c.Store, pts, from, to, nil)
			if err != nil {
				delete(m.windows, e.ID)
				m.opts.Logger.Error("balance check", "enterprise", e.ID, "error", err)
				continue
			}
			w = windowVolumes{from: from, to: to, pts: pts, vol: vol}
			w.compared, w.why = c.compared(pts, vol, cov)
			if !m.fullBalance {
				m.windows[e.ID] = w
			}
		}
		vol, compared, why := w.vol, w.compared, w.why
		if why == "" {
			why, err = c.unreported(ctx, pts, compared, to, now)
		}
		if err != nil {
			m.opts.Logger.Error("balance check", "enterprise", e.ID, "error", err)
			continue
		}
		if why != "" {
			m.opts.Logger.Debug("balance check skipped", "enterprise", e.ID, "reason", why)
			continue
		}
		in := balance.Compute(pts, vol, c.Settings)
		m.judgeBalance(ctx, e, in, from, to)
	}
}

// compared returns the points the check compares, or why the volumes cannot
// judge the balance. The check compares the level-1 intake with the level-2 units, so
// every one of those points must have a volume (balance.PeriodVolumes leaves
// out a point with no valid bucket) covering at least MinCoverage of the
// window: a silent meter, or one that stopped or started within the window,
// would otherwise count short and look like a leak. Invalid buckets are
// only the window's edges — the store estimates consumption across a gap
// between two readings — so by default every bucket must be valid.
func (c *BalanceCheck) compared(pts []meter.Point, vol balance.Volumes, cov map[string]float64) ([]string, string) {
	f := balance.Evaluate(pts, vol, balance.Options{Settings: c.Settings}).Leakage
	if !f.OK {
		return nil, f.Note
	}
	for _, id := range f.Points {
		if cov[id] < c.MinCoverage {
			return nil, fmt.Sprintf("%s: %.0f %% of the window metered, want %.0f %%", id, 100*cov[id], 100*c.MinCoverage)
		}
	}
	return f.Points, ""
}

// unreported says which compared point has not reported since the window
// ended at to, or "" when all have. Coverage counts whole buckets, and a
// meter that stopped part-way through the last one still gives it a short
// volume; once a point has a reading after to, the store spreads the
// consumption up to it over the window's last bucket, which is then whole.
func (c *BalanceCheck) unreported(ctx context.Context, pts []meter.Point, compared []string, to, now time.Time) (string, error) {
	if !now.After(to) {
		return "no reading after the window can exist yet", nil
	}
	after, _, err := periodvol.Volumes(ctx, c.Store, pts, to, now, nil)
	if err != nil {
		return "", err
	}
	for _, id := range compared {
		if _, ok := after[id]; !ok {
			return fmt.Sprintf("%s: no reading since %s", id, to.Format(time.RFC3339)), nil
		}
	}
	return "", nil
}

func (m *Monitor) judgeBalance(ctx context.Context, e meter.Enterprise, in balance.Indicators, from, to time.Time) {
	if in.Intake < m.opts.Balance.MinIntake || math.IsNaN(in.BalanceError) || in.Level2 == 0 {
		return // too little water, or no level-2 meters to compare with
	}
	m.mu.Lock()
	id, open := m.balance[e.ID]
	m.mu.Unlock()
	if !in.Within {
		a, _, err := m.opts.Store.RaiseAlarm(ctx, alarm.Alarm{Kind: KindBalance, Severity: alarm.SeverityMajor, Enterprise: e.ID,
			Raised: m.opts.Now(),
			Message: fmt.Sprintf("水平衡异常 / Water balance off: %s level-1 intake %.1f m³ vs level-2 %.1f m³ (%.1f %% unaccounted, tolerance %.0f %%) from %s to %s",
				e.Name, in.Intake, in.Level2, 100*in.BalanceError, 100*m.opts.Balance.Settings.Tolerance,
				from.In(store.DefaultLocation()).Format("15:04"), to.In(store.DefaultLocation()).Format("15:04"))})
		if err != nil {
			m.opts.Logger.Error("raise balance alarm", "enterprise", e.ID, "error", err)
			return
		}
		m.mu.Lock()
		m.balance[e.ID] = a.ID
		m.mu.Unlock()
		m.opts.Notify(a)
		return
	}
	if open {
		a, err := m.opts.Store.ClearAlarm(ctx, id, "system", m.opts.Now(), "balance within tolerance again / 水平衡恢复正常")
		if err == nil {
			m.opts.Notify(a)
		}
		m.mu.Lock()
		delete(m.balance, e.ID)
		m.mu.Unlock()
	}
}
