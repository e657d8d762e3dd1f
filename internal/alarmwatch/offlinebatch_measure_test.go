package alarmwatch

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/postgres"
	"github.com/shuixiao/shuixiao/internal/store/postgres/pgtest"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
)

// offlineMeasureStore is what the offline measurement needs of a store.
type offlineMeasureStore interface {
	Store
	store.Registry
	store.BulkRegistry
}

// checkOfflineOneByOne is the offline check as it was before the batches:
// one store transaction per alarm raised (with, the first time, the
// meter's two registry reads) and per alarm cleared. For measurement only.
func (m *Monitor) checkOfflineOneByOne(ctx context.Context, latest map[string]time.Time, ms []meter.Meter) {
	now := m.opts.Now()
	for _, s := range m.offlineRound(now, latest, ms) {
		if !s.clear {
			a, ok := m.raise(ctx, event{kind: KindOffline, meter: s.meter, severity: alarm.SeverityMajor, at: now, message: s.message})
			if ok {
				m.mu.Lock()
				m.offline[s.meter] = offlineState{id: a.ID, lastSent: now}
				m.mu.Unlock()
			}
			continue
		}
		a, err := m.opts.Store.ClearAlarm(ctx, s.id, "system", now, "meter reporting again / 仪表恢复上报")
		if err != nil {
			m.opts.Logger.Warn("clear offline alarm", "meter", s.meter, "error", err)
		} else {
			m.opts.Notify(a)
		}
		m.mu.Lock()
		delete(m.offline, s.meter)
		m.mu.Unlock()
	}
}

// TestMeasureOfflineRound measures offline rounds one alarm at a time
// against rounds in batches, on two stores alike (SQLite files, or
// PostgreSQL schemas with SHUIXIAO_MEASURE=pg), in the same run: 10,000
// meters go silent in one round (their alarms raised; in the first cycle
// their subjects are not yet kept), then come back in the next (cleared),
// three cycles, the order of the two ways alternating. It runs only with
// SHUIXIAO_MEASURE=1 or =pg; the CPU time of the process, the wall time
// and the load average are logged.
func TestMeasureOfflineRound(t *testing.T) {
	if os.Getenv("SHUIXIAO_MEASURE") == "" {
		t.Skip("set SHUIXIAO_MEASURE=1 to measure")
	}
	const n, cycles = 10000, 3
	ctx := context.Background()
	open := func(name string) offlineMeasureStore {
		if os.Getenv("SHUIXIAO_MEASURE") == "pg" {
			url, schema := pgtest.Schema(t)
			pg, err := postgres.Open(ctx, url, postgres.Options{Schema: schema, MaxConns: 4})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pg.Close() })
			return pg
		}
		sq, err := sqlite.Open(filepath.Join(t.TempDir(), name+".db"), sqlite.Options{ManualCompaction: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sq.Close() })
		return sq
	}
	clk := &clock{t: time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)}
	type way struct {
		name  string
		st    offlineMeasureStore
		m     *Monitor
		ms    []meter.Meter
		check func(*Monitor, context.Context, map[string]time.Time, []meter.Meter)
		told  int
	}
	ways := []*way{{name: "old", check: (*Monitor).checkOfflineOneByOne}, {name: "new", check: (*Monitor).checkOffline}}
	for _, w := range ways {
		w.st = open(w.name)
		if err := w.st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}); err != nil {
			t.Fatal(err)
		}
		if err := w.st.CreateEnterprise(ctx, meter.Enterprise{ID: "E", Name: "企业", Region: "430000", Industry: "3120"}); err != nil {
			t.Fatal(err)
		}
		addMeters(t, w.st, "E", n, clk.now().Add(-time.Hour))
		ms, err := w.st.Meters(ctx, store.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		w.ms = ms
		w.m = New(Options{Store: w.st, Now: clk.now, Logger: slog.New(slog.DiscardHandler), Notify: func(alarm.Alarm) { w.told++ }})
	}
	reporting := make(map[string]time.Time, n)
	type figure struct{ cpu, wall time.Duration }
	sum := map[string]figure{}
	for c := range cycles {
		for _, round := range []string{"silent", "back"} {
			clk.add(10 * time.Minute)
			latest := map[string]time.Time{}
			if round == "back" {
				for _, mt := range ways[0].ms {
					reporting[mt.ID] = clk.now()
				}
				latest = reporting
			}
			order := ways
			if c%2 == 1 {
				order = []*way{ways[1], ways[0]}
			}
			got := map[string]figure{}
			for _, w := range order {
				w.told = 0
				c0, t0 := cpuNow(), time.Now()
				w.check(w.m, ctx, latest, w.ms)
				got[w.name] = figure{cpuNow() - c0, time.Since(t0)}
				if w.told != n {
					t.Fatalf("%s way, %s round: %d alarms told, want %d", w.name, round, w.told, n)
				}
			}
			la, _ := os.ReadFile("/proc/loadavg")
			t.Logf("cycle %d %-6s old cpu %6v wall %6v | new cpu %6v wall %6v | load %s", c, round,
				got["old"].cpu.Round(time.Millisecond), got["old"].wall.Round(time.Millisecond),
				got["new"].cpu.Round(time.Millisecond), got["new"].wall.Round(time.Millisecond), la[:14])
			for k, f := range got {
				key := k + " " + round
				sum[key] = figure{sum[key].cpu + f.cpu, sum[key].wall + f.wall}
			}
		}
	}
	for _, round := range []string{"silent", "back"} {
		o, w := sum["old "+round], sum["new "+round]
		t.Logf("mean of %d %-6s rounds: old cpu %v wall %v | new cpu %v wall %v | wall ratio %.1f×", cycles, round,
			(o.cpu / cycles).Round(time.Millisecond), (o.wall / cycles).Round(time.Millisecond),
			(w.cpu / cycles).Round(time.Millisecond), (w.wall / cycles).Round(time.Millisecond), float64(o.wall)/float64(w.wall))
	}
	for _, w := range ways {
		if open, err := w.st.Alarms(ctx, alarm.Filter{Kind: KindOffline, Open: true, Limit: 1}); err != nil || len(open) != 0 {
			t.Errorf("%s way: offline alarms left open %v, %v", w.name, open, err)
		}
	}
}
