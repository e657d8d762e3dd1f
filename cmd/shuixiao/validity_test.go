package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/broker"
	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/reading"
)

// The tests below reproduce issue 13's findings 1, 5 and 6 through MQTT,
// the pipeline, the Tessera ledger and the SQLite store.

type readingsPage struct {
	Items []struct {
		Seq   uint64   `json:"seq"`
		Index uint64   `json:"index"`
		Flags []string `json:"flags"`
	} `json:"items"`
}

// publishRefused publishes msg and checks that it is refused with code and
// a reason string that names reason.
func publishRefused(t *testing.T, c *paho5.Client, m *testMeter, msg []byte, code byte, reason string) {
	t.Helper()
	pr := publish(t, c, m, msg)
	if pr.ReasonCode != code || pr.Properties == nil || !strings.HasPrefix(pr.Properties.ReasonString, reason+":") {
		t.Fatalf("want refusal %#x %s, got %#x %+v", code, reason, pr.ReasonCode, pr.Properties)
	}
}

func publishAccepted(t *testing.T, c *paho5.Client, m *testMeter, msg []byte) {
	t.Helper()
	if pr := publish(t, c, m, msg); pr.ReasonCode != 0 {
		t.Fatalf("reading refused: %#x %+v", pr.ReasonCode, pr.Properties)
	}
}

// meterConnected starts a server with the province's meters, connects M1
// over MQTT 5 and has it publish its first reading.
func meterConnected(t *testing.T) (*server, *apiClient, *testMeter, *paho5.Client) {
	t.Helper()
	s := startTestServer(t, t.TempDir())
	admin := s.client(s.token)
	m1, _ := province(t, admin)
	c := mqtt5(t, s.broker.Addr(), m1)
	publishAccepted(t, c, m1, m1.next(t, 100))
	return s, admin, m1, c
}

// ledgerSize is the number of entries the ledger has sequenced.
func ledgerSize(t *testing.T, s *server) uint64 {
	t.Helper()
	n, err := s.ledger.Size(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Finding 1: a reading dated 0001-01-01 was admitted to the ledger, refused
// by the store, and retried forever while ingest stopped. It is now refused
// before the ledger, and the meter's next reading goes in.
func TestFinding1ZeroTimeRefusedBeforeTheLedger(t *testing.T) {
	s, admin, m1, c := meterConnected(t)
	before := ledgerSize(t, s)
	chain := *m1
	zero := m1.nextWith(t, 101, func(r *reading.Reading) { r.Time = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC) })
	publishRefused(t, c, m1, zero, broker.CodePayloadFormatError, "invalid")
	if n := ledgerSize(t, s); n != before {
		t.Fatalf("the refused reading reached the ledger: size %d → %d", before, n)
	}
	// The meter resends seq 2 with a set clock: admitted, in chain.
	*m1 = chain
	done := make(chan struct{})
	go func() { defer close(done); publishAccepted(t, c, m1, m1.next(t, 101)) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("no PUBACK after the refused reading: ingest is stuck")
	}
	var page readingsPage
	must(t, admin.get("/api/v1/readings?meter=M1&order=asc", &page))
	if len(page.Items) != 2 || page.Items[1].Seq != 2 || len(page.Items[1].Flags) != 0 {
		t.Fatalf("readings %+v", page.Items)
	}
}

// Finding 5: the meter's reading with an extra signature line from an
// unknown key was admitted under a hash of its own, so the meter's genuine
// bytes became a replay and its next reading a gap. It is now refused.
func TestFinding5ForeignSignatureLineRefused(t *testing.T) {
	s, admin, m1, c := meterConnected(t)
	genuine := m1.next(t, 101)

	skey, _, err := note.GenerateKey(rand.Reader, "mallory")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	text, _, _ := reading.SplitNote(genuine)
	foreign, err := note.Sign(&note.Note{Text: string(text)}, signer)
	if err != nil {
		t.Fatal(err)
	}
	_, line, _ := reading.SplitNote(foreign)
	altered := append(append([]byte(nil), genuine...), line...)
	publishRefused(t, c, m1, altered, broker.CodeNotAuthorized, "bad-signature")

	publishAccepted(t, c, m1, genuine)
	publishAccepted(t, c, m1, m1.next(t, 102))
	var page readingsPage
	must(t, admin.get("/api/v1/readings?meter=M1&order=asc", &page))
	if len(page.Items) != 3 {
		t.Fatalf("readings %+v", page.Items)
	}
	for _, it := range page.Items {
		if len(it.Flags) != 0 {
			t.Errorf("seq %d flagged %v: the genuine chain was broken", it.Seq, it.Flags)
		}
	}
	// The ledger holds the meter's bytes exactly.
	entry := getEntry(t, s, page.Items[1].Index)
	if string(entry) != string(genuine) {
		t.Fatalf("ledger entry differs from the signed reading:\n%s\n---\n%s", entry, genuine)
	}
}

// getEntry reads a ledger entry through the API; it fails the test unless
// the answer is 200.
func getEntry(t *testing.T, s *server, index uint64) []byte {
	t.Helper()
	code, body := getRaw(t, s, fmt.Sprintf("/api/v1/ledger/entry?index=%d", index))
	if code != http.StatusOK {
		t.Fatalf("entry %d: %d %s", index, code, body)
	}
	return body
}

func getRaw(t *testing.T, s *server, path string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// Finding 6: year 9999 passed without the skew flag (a saturated duration),
// seq 2^64−1 made every later reading of the meter a replay, and the ledger
// entry at index 2^64−1 answered 200 with an empty body.
func TestFinding6Overflows(t *testing.T) {
	s, admin, m1, c := meterConnected(t)
	chain := *m1
	publishRefused(t, c, m1, m1.nextWith(t, 101, func(r *reading.Reading) {
		r.Time = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	}), broker.CodePayloadFormatError, "invalid")
	*m1 = chain
	publishRefused(t, c, m1, m1.nextWith(t, 101, func(r *reading.Reading) { r.Seq = math.MaxUint64 }), broker.CodePayloadFormatError, "invalid")
	publishRefused(t, c, m1, m1.nextWith(t, 101, func(r *reading.Reading) { r.Seq = 1_000_002 }), broker.CodeNotAuthorized, "seq-jump")
	// Neither poisoned the meter: its next reading is in chain.
	*m1 = chain
	publishAccepted(t, c, m1, m1.next(t, 101))
	var page readingsPage
	must(t, admin.get("/api/v1/readings?meter=M1&order=asc", &page))
	if len(page.Items) != 2 || page.Items[1].Seq != 2 || len(page.Items[1].Flags) != 0 {
		t.Fatalf("readings %+v", page.Items)
	}
	// A reading an hour ahead is admitted and flagged.
	publishAccepted(t, c, m1, m1.nextWith(t, 102, func(r *reading.Reading) { r.Time = time.Now().Add(time.Hour) }))
	must(t, admin.get("/api/v1/readings?meter=M1&order=asc", &page))
	if len(page.Items) != 3 || len(page.Items[2].Flags) != 1 || page.Items[2].Flags[0] != "skew" {
		t.Fatalf("reading an hour ahead: %+v", page.Items)
	}
	for _, idx := range []uint64{math.MaxUint64, math.MaxUint64 - 1, ledgerSize(t, s)} {
		if code, body := getRaw(t, s, fmt.Sprintf("/api/v1/ledger/entry?index=%d", idx)); code != http.StatusNotFound {
			t.Errorf("entry %d beyond the log: %d %q", idx, code, body)
		}
	}
}

// A data directory whose ledger holds readings the store refuses — written
// before the validity rule existed — starts, lists them in quarantine,
// raises an alarm for each and takes the meter's readings after them.
func TestRestartQuarantinesEntriesTheStoreRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := openServer(ctx, serverConfig{Data: dir, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	admin := s.client(s.token)
	m1, _ := province(t, admin)
	c := mqtt5(t, s.broker.Addr(), m1)
	publishAccepted(t, c, m1, m1.next(t, 100))
	c.Disconnect(&paho5.Disconnect{})
	s.Close(ctx)

	// What an older server admitted: the ledger has it, the store never will.
	zero := m1.nextWith(t, 101, func(r *reading.Reading) { r.Time = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC) })
	poison := m1.nextWith(t, 102, func(r *reading.Reading) { r.Seq = math.MaxUint64 })
	lg, err := ledger.Open(ctx, ledger.Options{Dir: filepath.Join(dir, "ledger")})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := lg.Append(ctx, [][]byte{zero, poison})
	if err != nil {
		t.Fatal(err)
	}
	if err := lg.Close(ctx); err != nil {
		t.Fatal(err)
	}

	s = startTestServer(t, dir)
	admin = s.client(s.token)
	var q struct {
		Items []struct {
			Index  uint64 `json:"index"`
			Meter  string `json:"meter"`
			Seq    uint64 `json:"seq"`
			Reason string `json:"reason"`
			Detail string `json:"detail"`
		} `json:"items"`
	}
	must(t, admin.get("/api/v1/quarantine", &q))
	if len(q.Items) != 2 || q.Items[0].Index != idx[1] || q.Items[1].Index != idx[0] {
		t.Fatalf("quarantine %+v, want ledger indices %v", q.Items, idx)
	}
	if it := q.Items[1]; it.Meter != "M1" || it.Seq != 2 || it.Reason != "invalid" || !strings.Contains(it.Detail, "0001-01-01") {
		t.Errorf("zero-time entry: %+v", it)
	}
	if it := q.Items[0]; it.Meter != "M1" || it.Seq != math.MaxUint64 || it.Reason != "invalid" {
		t.Errorf("seq 2^64-1 entry: %+v", it)
	}
	if m := s.client(s.token).metrics(); m["shuixiao_ingest_quarantined_total"] != 2 {
		t.Errorf("shuixiao_ingest_quarantined_total %v, want 2", m["shuixiao_ingest_quarantined_total"])
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var alarms []struct {
			Kind  string `json:"kind"`
			Meter string `json:"meter"`
		}
		must(t, admin.get("/api/v1/alarms?state=all&kind=quarantined", &alarms))
		if len(alarms) == 1 && alarms[0].Meter == "M1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("quarantine alarms %+v", alarms)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// An enterprise token may not list the quarantine.
	var tok struct {
		Secret string `json:"secret"`
	}
	must(t, admin.post("/api/v1/tokens", map[string]string{"id": "ent-1", "name": "E1", "role": "enterprise", "scope": "E1"}, &tok))
	if code, err := s.client(tok.Secret).do("GET", "/api/v1/quarantine", nil, nil); code != http.StatusForbidden {
		t.Errorf("enterprise token: %d %v", code, err)
	}

	// The meter goes on from its last stored reading, with a gap flag:
	// the ledger's chain runs through the quarantined entries.
	m1.seq = 2
	c = mqtt5(t, s.broker.Addr(), m1)
	publishAccepted(t, c, m1, m1.next(t, 103))
	var page readingsPage
	must(t, admin.get("/api/v1/readings?meter=M1&order=asc", &page))
	if len(page.Items) != 2 || page.Items[1].Seq != 3 || len(page.Items[1].Flags) != 1 || page.Items[1].Flags[0] != "gap" {
		t.Fatalf("readings after restart %+v", page.Items)
	}
}
