package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shuixiao/shuixiao/internal/store/postgres/pgtest"
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
