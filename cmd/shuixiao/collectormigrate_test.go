package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/store/postgres/pgtest"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// TestCollectorsMigrateOntoTheLedger starts a server, on either store
// driver, on a data directory made the old way: two meters behind a data
// collector in the store whose key entries name no collector. The first
// start re-states each meter's registration with its collector (the two
// sequenced together); a start without the marker (the scan runs again)
// and one with it add nothing; verify log passes after each.
func TestCollectorsMigrateOntoTheLedger(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			spec := ""
			if driver == "postgres" {
				url, schema := pgtest.Schema(t)
				spec = url + "&schema=" + schema
			}
			testCollectorsMigrate(t, spec)
		})
	}
}

func testCollectorsMigrate(t *testing.T, spec string) {
	ctx := context.Background()
	dir := t.TempDir()
	start := func() (*server, func()) {
		s, stop := startStoppable(t, dir, func(cfg *serverConfig) { cfg.Store = spec })
		t.Cleanup(stop)
		return s, stop
	}
	s, stop := start()
	c := s.client(s.token)
	total, _ := meter.StandardChannel("total_m3")
	must(t, c.post("/api/v1/parks", meter.Park{ID: "PK", Name: "园区", Region: "430300"}, nil))
	must(t, c.post("/api/v1/enterprises", meter.Enterprise{ID: "E", Name: "企业", Park: "PK", Region: "430300", Industry: "3120"}, nil))
	must(t, c.post("/api/v1/points", meter.Point{ID: "PA", Enterprise: "E", Name: "车间", Level: meter.Level3, Stage: meter.StageUse,
		Channels: []meter.Channel{total}}, nil))
	_, gkey, _ := note.GenerateKey(rand.Reader, reading.GatewayKeyName("C1"))
	must(t, c.post("/api/v1/gateways", map[string]any{"id": "C1", "key": gkey, "enterprise": "E"}, nil))
	ma, mb := newMeter(t, "MA", "PA"), newMeter(t, "MB", "PA")
	was := map[string]meter.Meter{}
	for _, tm := range []*testMeter{ma, mb} {
		must(t, c.post("/api/v1/meters", map[string]any{"id": tm.id, "point": tm.point, "key": tm.vkey, "serial": "SN-" + tm.id, "interval_s": 60}, nil))
		// The old way: the collector in the store alone.
		m, err := s.store.Meter(ctx, tm.id)
		must(t, err)
		m.Collector = "C1"
		must(t, s.store.UpdateMeter(ctx, m))
		was[tm.id] = m
	}
	stop()
	must(t, os.Remove(filepath.Join(dir, collectorsMigratedFile)))

	for restart := 1; restart <= 3; restart++ {
		s, stop = start()
		waitCheckpoint(t, s, filepath.Join(dir, "ledger"))
		for _, tm := range []*testMeter{ma, mb} {
			m := was[tm.id]
			got, err := s.store.Meter(ctx, tm.id)
			if err != nil || got.Collector != "C1" || got.Serial != m.Serial || !got.Registered.Equal(m.Registered) {
				t.Fatalf("start %d: %s %+v, %v; was %+v", restart, tm.id, got, err, m)
			}
			entries := meterKeyEntries(t, s, tm.id)
			if len(entries) != 2 || entries[0].Collector != "" || entries[1].Collector != "C1" || entries[1].Key != tm.vkey || !entries[1].Time.Equal(entries[0].Time) {
				t.Fatalf("start %d: %s's key entries %+v, want its registration and the same with collector C1", restart, tm.id, entries)
			}
		}
		stop()
		var out, errOut bytes.Buffer
		if code := verifyMain(ctx, []string{"log", filepath.Join(dir, "ledger", "log"), "--log-key", filepath.Join(dir, "ledger", "log.vkey")}, &out, &errOut); code != 0 {
			t.Fatalf("start %d: verify log: exit %d\n%s%s", restart, code, out.String(), errOut.String())
		}
		if restart == 1 {
			must(t, os.Remove(filepath.Join(dir, collectorsMigratedFile))) // the scan runs again and adds nothing
		} else if _, err := os.Stat(filepath.Join(dir, collectorsMigratedFile)); errors.Is(err, os.ErrNotExist) {
			t.Fatalf("start %d wrote no marker", restart)
		}
	}
}

// meterKeyEntries returns a meter's key entries in the server's ledger, in
// ledger order, each checked to be signed by the log key.
func meterKeyEntries(t *testing.T, s *server, meterID string) []*reading.KeyEntry {
	t.Helper()
	ctx := context.Background()
	size, err := s.ledger.Size(ctx)
	must(t, err)
	logKey, err := note.NewVerifier(s.ledger.VerifierKey())
	must(t, err)
	var out []*reading.KeyEntry
	must(t, s.ledger.Entries(ctx, 0, size, func(_ uint64, e []byte) error {
		if reading.Kind(e) != reading.KeyHeader {
			return nil
		}
		n, err := note.Open(e, note.VerifierList(logKey))
		if err != nil {
			return err
		}
		ke, err := reading.ParseKeyEntry([]byte(n.Text))
		if err == nil && ke.Meter == meterID {
			out = append(out, ke)
		}
		return err
	}))
	return out
}
