package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shuixiao/shuixiao/internal/store/postgres/pgtest"
)

// TestPostgresRestart: PostgreSQL, the store, is stopped under load and
// started again, once with a fast shutdown and once with an immediate one
// (no checkpoint: crash recovery from the WAL on start) — in `all` and in
// bus mode (the sequencer on PostgreSQL, the edge reading its keys there).
// The cluster is private to the test (pgtest.NewCluster): the machine's
// shared server is never touched. Afterwards every acknowledged reading is
// in the store and the ledger exactly once, verify log --strict passes,
// and the store has caught up: it holds as many readings as the ledger.
func TestPostgresRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("about 30 s: PostgreSQL stopped and started twice under load, in two modes")
	}
	// One cluster for both modes (initdb is most of a mode's set-up), each
	// mode in a schema of its own.
	pg := pgtest.NewCluster(t)
	for _, mode := range []string{roleAll, "bus"} {
		t.Run(mode, func(t *testing.T) { testPostgresRestart(t, pg, mode) })
	}
}

func testPostgresRestart(t *testing.T, pg *pgtest.Cluster, mode string) {
	schema := "restart_" + mode
	storeSpec := pg.URL() + "&schema=" + schema
	dir := t.TempDir()
	cfg := serverConfig{Data: dir, Store: storeSpec, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var natsURL string
	if mode == "bus" {
		natsURL = startEmbeddedNATS(t).URL()
		cfg.Bus = busConfig{Role: roleSequencer, NATS: natsURL}
	}
	s, err := openServer(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	meters := registerMeters(t, s.client(s.token), "Q", 6)
	addr := s.broker.Addr()
	if mode == "bus" {
		addr = startTestEdge(t, dir, storeSpec, natsURL).broker.Addr()
	}

	load := startFaultLoad(t, addr, meters)
	type fault struct {
		Mode        string `json:"shutdown"`
		AckedBefore int    `json:"acked_before"`
		AckedDuring int    `json:"acked_while_down"`
		AckedAfter  int    `json:"acked_after_start"` // until every meter had one
	}
	var faults []fault
	load.WaitAcked(t, 50, 30*time.Second)
	for _, m := range []string{"fast", "immediate"} {
		f := fault{Mode: m, AckedBefore: load.Acked()}
		pg.Stop(m)
		time.Sleep(time.Second)
		f.AckedDuring = load.Acked() - f.AckedBefore
		pg.Start()
		load.WaitEachAckedAfter(t, load.Acked(), meters, 60*time.Second)
		f.AckedAfter = load.Acked() - f.AckedBefore - f.AckedDuring
		faults = append(faults, f)
	}
	acked, resent := load.Stop()
	if natsURL != "" {
		waitStreamEmpty(t, natsURL)
	}

	// The store catches up: as many readings as the ledger holds.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Both are read again until they agree: the sequencer may still be
	// draining the stream, appending to the ledger and then to the store.
	var inLedger, inStore int
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		inLedger = len(ledgerReadings(t, s.ledger))
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+schema+`.readings`).Scan(&inStore); err != nil {
			t.Fatal(err)
		}
		if inStore == inLedger {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the store holds %d readings, the ledger %d", inStore, inLedger)
		}
	}
	checkNoLoss(t, s.store, s.ledger, filepath.Join(dir, "ledger"), acked, true)
	for _, f := range faults {
		if f.AckedBefore < 50 || f.AckedAfter == 0 {
			t.Fatalf("load: %+v (the load did not hold, or did not resume)", faults)
		}
	}
	faultReport(t, map[string]any{"fault": "PostgreSQL (store) stopped 1 s and started, fast then immediate", "mode": mode,
		"meters": len(meters), "faults": faults, "acked": len(acked), "resent": resent,
		"ledger_readings": inLedger, "store_readings": inStore})
}
