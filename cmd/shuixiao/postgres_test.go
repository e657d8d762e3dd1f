package main

import (
	"context"
	"io"
	"log/slog"
	"testing"

	paho5 "github.com/eclipse/paho.golang/paho"

	"github.com/shuixiao/shuixiao/internal/store/postgres/pgtest"
)

// TestServeOnPostgres runs the server on PostgreSQL: readings signed by a
// meter, acknowledged over MQTT, are served from PostgreSQL, survive a
// restart (the admission state resumes from the store, so the chain goes
// on), and the ledger and the store agree after it.
func TestServeOnPostgres(t *testing.T) {
	url, schema := pgtest.Schema(t)
	dir := t.TempDir()
	spec := url + "&schema=" + schema
	open := func() *server {
		s, err := openServer(context.Background(), serverConfig{Data: dir, Store: spec, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	admin := s.client(s.token)
	m1, _ := province(t, admin)
	c := mqtt5(t, s.broker.Addr(), m1)
	for i := 1; i <= 5; i++ {
		if pr := publish(t, c, m1, m1.next(t, float64(100+i))); pr.ReasonCode != 0 {
			t.Fatalf("reading %d refused: %#x %v", i, pr.ReasonCode, pr.Properties)
		}
	}
	c.Disconnect(&paho5.Disconnect{})
	s.Close(context.Background())

	s = open()
	defer s.Close(context.Background())
	admin = s.client(s.token)
	c = mqtt5(t, s.broker.Addr(), m1)
	if pr := publish(t, c, m1, m1.next(t, 106)); pr.ReasonCode != 0 {
		t.Fatalf("reading after the restart refused: %#x %v", pr.ReasonCode, pr.Properties)
	}
	var page struct {
		Items []struct {
			Seq   uint64             `json:"seq"`
			Flags []string           `json:"flags"`
			Vals  map[string]float64 `json:"values"`
		} `json:"items"`
	}
	must(t, admin.get("/api/v1/readings?meter=M1&order=asc", &page))
	if len(page.Items) != 6 || page.Items[5].Seq != 6 || page.Items[5].Vals["total_m3"] != 106 || len(page.Items[5].Flags) != 0 {
		t.Fatalf("readings from PostgreSQL: %+v", page.Items)
	}
	var st struct {
		Size uint64 `json:"size"`
	}
	must(t, admin.get("/api/v1/ledger/status", &st))
	if size, err := s.store.LedgerSize(context.Background()); err != nil || size == 0 || size > st.Size {
		t.Fatalf("store ledger size %d (%v) against the ledger's %d", size, err, st.Size)
	}
}
