package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/bus"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// TestMeasureEdgeKeys measures what an edge spends keeping its keys in step
// with a registry of SHUIXIAO_MEASURE_METERS meters (default 100,000), for a
// minute each way: "before", every key reloaded every 10 s (the old
// --edge-refresh, no key changes); "after", the sequencer naming one changed
// meter a second on shuixiao.keys and the full reload 5 minutes apart;
// "idle", neither (the edge's CPU besides its keys). The figure is this
// process's CPU (the edge, an embedded NATS server and the publisher of key
// changes). It runs only with SHUIXIAO_MEASURE=1 (a store of that size
// takes a minute to write).
func TestMeasureEdgeKeys(t *testing.T) {
	if os.Getenv("SHUIXIAO_MEASURE") == "" {
		t.Skip("set SHUIXIAO_MEASURE=1 to measure")
	}
	n := 100_000
	if v := os.Getenv("SHUIXIAO_MEASURE_METERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("SHUIXIAO_MEASURE_METERS=%q", v)
		}
	}
	const window = time.Minute
	dir := t.TempDir()
	ids := writeKeyStore(t, filepath.Join(dir, "store.db"), n)
	nats := startEmbeddedNATS(t)
	seq, err := bus.Connect(context.Background(), bus.Config{URL: nats.URL(), Name: "measure-sequencer"})
	if err != nil {
		t.Fatal(err)
	}
	defer seq.Close()

	cpu := map[string]time.Duration{}
	for _, run := range []struct {
		name    string
		refresh time.Duration
		changes bool
	}{{"before", 10 * time.Second, false}, {"after", 5 * time.Minute, true}, {"idle", time.Hour, false}} {
		cfg := testEdgeConfig(dir, "", nats.URL())
		cfg.Bus.Refresh = run.refresh
		e, err := openBusEdge(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		load0, cpu0 := loadAvg(), processCPU(os.Getpid())
		tick := time.NewTicker(time.Second)
		for i, end := 0, time.Now().Add(window); time.Now().Before(end); i++ {
			<-tick.C
			if run.changes {
				if err := seq.PublishKeyChanges([]string{ids[i*7919%len(ids)]}); err != nil {
					t.Fatal(err)
				}
			}
		}
		tick.Stop()
		cpu[run.name] = processCPU(os.Getpid()) - cpu0
		t.Logf("%s (--edge-refresh %s, key changes %v), %d meters: %.2f CPU-s in %s; load average %s → %s",
			run.name, run.refresh, run.changes, n, cpu[run.name].Seconds(), window, load0, loadAvg())
		e.Close()
	}
	before, after := cpu["before"]-cpu["idle"], cpu["after"]-cpu["idle"]
	t.Logf("keeping the keys of %d meters: %.2f CPU-s a minute before, %.2f after", n, before.Seconds(), after.Seconds())
	if after >= before {
		t.Errorf("the edge spent %v a minute keeping its keys, against %v before", after, before)
	}
}

// writeKeyStore writes a SQLite store at path with n meters, each with a
// key and a point of its own, and returns their IDs.
func writeKeyStore(t *testing.T, path string, n int) []string {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	must(t, st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}))
	must(t, st.CreatePark(ctx, meter.Park{ID: "PK", Name: "园区", Region: "430000"}))
	must(t, st.CreateEnterprise(ctx, meter.Enterprise{ID: "EN", Name: "企业", Park: "PK", Region: "430000"}))
	total, _ := meter.StandardChannel("total_m3")
	ps := make([]meter.Point, n)
	ms := make([]meter.Meter, n)
	ids := make([]string, n)
	for i := range n {
		id := fmt.Sprintf("M-%06d", i)
		_, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName(id))
		if err != nil {
			t.Fatal(err)
		}
		ps[i] = meter.Point{ID: "P" + id, Enterprise: "EN", Name: "点", Level: meter.Level2, Stage: meter.StageUse, Channels: []meter.Channel{total}}
		ms[i] = meter.Meter{ID: id, Point: ps[i].ID, Key: vkey, Signed: meter.SignedByMeter, Registered: time.Now()}
		ids[i] = id
	}
	must(t, st.CreatePoints(ctx, ps))
	must(t, st.CreateMeters(ctx, ms, nil))
	return ids
}
