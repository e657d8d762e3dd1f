package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"

	paho5 "github.com/eclipse/paho.golang/paho"
	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/broker"
	"github.com/shuixiao/shuixiao/internal/store/postgres/pgtest"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// TestStoreMigrate fills a data directory through a running server
// (registry, signed readings, a forged one and its rejection and alarm,
// tokens, the audit log), migrates its SQLite store into PostgreSQL with
// every count and digest agreeing, runs the server on the copy with the
// same ledger, and fails the check once a migrated reading is altered.
func TestStoreMigrate(t *testing.T) {
	url, schema := pgtest.Schema(t)
	dir := t.TempDir()
	s, err := openServer(context.Background(), serverConfig{Data: dir, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	admin := s.client(s.token)
	m1, m2 := province(t, admin)
	c1, c2 := mqtt5(t, s.broker.Addr(), m1), mqtt5(t, s.broker.Addr(), m2)
	for i := 1; i <= 20; i++ {
		publish(t, c1, m1, m1.next(t, float64(100+i)))
		publish(t, c2, m2, m2.next(t, float64(500+2*i)))
	}
	forged := []byte(strings.Replace(string(m1.next(t, 300)), "total_m3 300", "total_m3 301", 1))
	publish(t, c1, m1, forged)
	s.Close(context.Background())

	spec := url + "&schema=" + schema
	var out bytes.Buffer
	if code := runStoreMigrate([]string{"--from", dir, "--to", spec}, &out); code != 0 {
		t.Fatalf("migrate: exit %d\n%s", code, out.String())
	}
	for _, want := range []string{"readings", "rejection_counts", "alarms", "audit", "tokens", "一致 / all counts and digests agree"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	// Into a schema that is no longer empty: refused.
	if code := runStoreMigrate([]string{"--from", dir, "--to", spec}, &bytes.Buffer{}); code != 1 {
		t.Errorf("second migration into a full schema: exit %d, want 1", code)
	}

	// --check agrees now, and names an altered reading.
	if code := runStoreMigrate([]string{"--from", dir, "--to", spec, "--check"}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("check right after migrating: exit %d", code)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tamper := func(delta int) {
		if _, err := conn.Exec(ctx, `UPDATE `+schema+`.readings SET vals[1] = vals[1] + $1 WHERE seq = 3`, delta); err != nil {
			t.Fatal(err)
		}
	}
	tamper(1)
	if code := runStoreMigrate([]string{"--from", dir, "--to", spec, "--check"}, &bytes.Buffer{}); code != 1 {
		t.Fatalf("check after tampering: exit %d, want 1", code)
	}
	tamper(-1)

	// The server runs on the copy, with the same ledger: the chain goes on.
	srv, err := openServer(ctx, serverConfig{Data: dir, Store: spec, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(ctx)
	c := mqtt5(t, srv.broker.Addr(), m1)
	m1.seq-- // the forged reading was refused: its seq is free again
	if pr := publish(t, c, m1, m1.next(t, 121)); pr.ReasonCode != 0 {
		t.Fatalf("reading on the migrated store refused: %#x %v", pr.ReasonCode, pr.Properties)
	}
}

// TestStoreMigrateCollectors: a meter registered behind a data collector
// keeps it through the migration (SQLite meter_collectors → PostgreSQL
// meters.collector), counted and digested on both sides; the server on the
// copy admits the readings the collector forwards; a collector altered or
// lost after the migration fails the check.
func TestStoreMigrateCollectors(t *testing.T) {
	url, schema := pgtest.Schema(t)
	dir := t.TempDir()
	s, stop := startStoppable(t, dir, func(*serverConfig) {})
	t.Cleanup(stop)
	c := s.client(s.token)
	total, _ := meter.StandardChannel("total_m3")
	flow, _ := meter.StandardChannel("flow_m3h")
	must(t, c.post("/api/v1/parks", meter.Park{ID: "PK", Name: "园区", Region: "430300"}, nil))
	must(t, c.post("/api/v1/enterprises", meter.Enterprise{ID: "E", Name: "企业", Park: "PK", Region: "430300", Industry: "3120"}, nil))
	for _, id := range []string{"PA", "PB"} {
		must(t, c.post("/api/v1/points", meter.Point{ID: id, Enterprise: "E", Name: "车间 " + id, Level: meter.Level3, Stage: meter.StageUse,
			Channels: []meter.Channel{total, flow}}, nil))
	}
	for _, g := range []string{"C1", "C2"} {
		_, vkey, _ := note.GenerateKey(rand.Reader, reading.GatewayKeyName(g))
		must(t, c.post("/api/v1/gateways", map[string]any{"id": g, "key": vkey, "enterprise": "E", "mqtt_password": "collector-" + g + "-pw"}, nil))
	}
	ma, mb := newMeter(t, "MA", "PA"), newMeter(t, "MB", "PB")
	must(t, c.post("/api/v1/meters/import", []map[string]any{
		{"id": ma.id, "point": ma.point, "key": ma.vkey, "collector": "C1"},
		{"id": mb.id, "point": mb.point, "key": mb.vkey, "mqtt_password": mb.password},
	}, nil))
	c1 := &testMeter{id: "C1", password: "collector-C1-pw"}
	col := mqtt5(t, s.broker.Addr(), c1)
	if pr := publish(t, col, c1, ma.next(t, 10)); pr.ReasonCode != 0 {
		t.Fatalf("MA through C1 before the migration: %#x %+v", pr.ReasonCode, pr.Properties)
	}
	col.Disconnect(&paho5.Disconnect{})
	stop()

	spec := url + "&schema=" + schema
	var out bytes.Buffer
	if code := runStoreMigrate([]string{"--from", dir, "--to", spec}, &out); code != 0 {
		t.Fatalf("migrate: exit %d\n%s", code, out.String())
	}
	if !regexp.MustCompile(`(?m)^meter_collectors\s+1\s+1$`).MatchString(out.String()) ||
		!regexp.MustCompile(`(?m)^meter_collectors\s+1\s+[0-9a-f]{16}\s+[0-9a-f]{16}$`).MatchString(out.String()) {
		t.Errorf("report lacks the collectors' count and digest:\n%s", out.String())
	}

	ctx := context.Background()
	srv, stopSrv := startStoppable(t, dir, func(cfg *serverConfig) { cfg.Store = spec })
	t.Cleanup(stopSrv)
	col = mqtt5(t, srv.broker.Addr(), c1)
	if pr := publish(t, col, c1, ma.next(t, 11)); pr.ReasonCode != 0 {
		t.Fatalf("MA through C1 on the migrated store: %#x %+v", pr.ReasonCode, pr.Properties)
	}
	if pr := publish(t, col, c1, mb.next(t, 1)); pr.ReasonCode != broker.CodeNotAuthorized {
		t.Fatalf("MB (behind no collector) through C1 on the migrated store: %#x", pr.ReasonCode)
	}
	col.Disconnect(&paho5.Disconnect{})
	stopSrv()

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, tc := range []struct{ collector, want string }{
		{"C2", "meter_collectors: 1 records"}, // another collector: the digests differ
		{"", "meter_collectors: 1 rows in SQLite, 0 in PostgreSQL"},
	} {
		if _, err := conn.Exec(ctx, `UPDATE `+schema+`.meters SET collector = $1 WHERE id = 'MA'`, tc.collector); err != nil {
			t.Fatal(err)
		}
		stderr := captureStderr(t, func() {
			if code := runStoreMigrate([]string{"--from", dir, "--to", spec, "--check"}, &bytes.Buffer{}); code != 1 {
				t.Errorf("check with MA behind %q: exit %d, want 1", tc.collector, code)
			}
		})
		if !strings.Contains(stderr, tc.want) {
			t.Errorf("check with MA behind %q: stderr lacks %q:\n%s", tc.collector, tc.want, stderr)
		}
	}
}

// captureStderr runs fn and returns what it wrote to standard error.
func captureStderr(t *testing.T, fn func()) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stderr
	os.Stderr = f
	fn()
	os.Stderr = old
	b, _ := os.ReadFile(f.Name())
	return string(b)
}
