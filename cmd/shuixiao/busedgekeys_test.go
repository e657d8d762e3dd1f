package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"

	"github.com/shuixiao/shuixiao/internal/broker"
	"github.com/shuixiao/shuixiao/internal/bus"
	"github.com/shuixiao/shuixiao/internal/devicecred"
	"github.com/shuixiao/shuixiao/meter"
)

// TestEdgeKeyChanges: an edge whose full reload of keys is an hour away
// follows the sequencer's registry within a second or two — a meter revoked
// at the sequencer is disconnected and refused at the edge, a meter
// registered after the edge started, alone or with 19 others, logs in and
// is taken — and, when the
// change was published while NATS was down, once the edge is reconnected.
func TestEdgeKeyChanges(t *testing.T) {
	natsDir := t.TempDir()
	nats, err := bus.StartEmbedded(natsDir, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(nats.URL(), "nats://")
	t.Cleanup(func() { nats.Close() }) // after the sequencer's (cleanups run last first)
	dir := t.TempDir()
	s := openTestSequencer(t, dir, nats.URL())
	admin := s.client(s.token)
	m1, m2 := province(t, admin)
	cfg := testEdgeConfig(dir, "", nats.URL())
	cfg.Bus.Refresh = time.Hour
	cfg.MQTT.FailedLogins = broker.Limit{Rate: -1} // the test logs in until it may
	e := startEdgeWith(t, cfg)
	mqttAddr := e.broker.Addr()

	c1 := mqtt5(t, mqttAddr, m1)
	if pr := publish(t, c1, m1, m1.next(t, 100)); pr.ReasonCode != 0 {
		t.Fatalf("M1's reading refused before its revocation: %#x", pr.ReasonCode)
	}
	c2, err := dialMQTT5(mqttAddr, m2)
	if err != nil {
		t.Fatalf("M2 before its revocation: %v", err)
	}
	c2.Disconnect(&paho5.Disconnect{})

	must(t, admin.post("/api/v1/meters/M1/revoke", map[string]any{"reason": "meter stolen"}, nil))
	took := waitLogin(t, mqttAddr, m1, false, 2*time.Second)
	t.Logf("M1 revoked at the sequencer: refused at the edge after %v", took)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	pr, err := c1.Publish(ctx, &paho5.Publish{Topic: broker.ReadingsPrefix + m1.id, QoS: 1, Payload: m1.next(t, 101)})
	cancel()
	if err == nil && pr.ReasonCode == 0 {
		t.Fatal("the session of a meter revoked at the sequencer still publishes at the edge")
	}

	m3 := newMeter(t, "M3", m1.point)
	must(t, admin.post("/api/v1/meters", map[string]any{"id": m3.id, "point": m3.point, "key": m3.vkey, "mqtt_password": m3.password}, nil))
	took = waitLogin(t, mqttAddr, m3, true, 2*time.Second)
	t.Logf("M3 registered at the sequencer: logged in at the edge after %v", took)
	if pr := publish(t, mqtt5(t, mqttAddr, m3), m3, m3.next(t, 5)); pr.ReasonCode != 0 {
		t.Fatalf("reading of a meter registered after the edge started: %#x %v", pr.ReasonCode, pr.Properties)
	}

	// A bulk registration of more than 16 meters: the edge reloads every
	// key at once rather than each (loadKeys).
	var bulk []map[string]any
	var last *testMeter
	for i := range 20 {
		last = newMeter(t, fmt.Sprintf("MB%02d", i), m1.point)
		bulk = append(bulk, map[string]any{"id": last.id, "point": last.point, "key": last.vkey, "mqtt_password": last.password})
	}
	must(t, admin.post("/api/v1/meters/import", bulk, nil))
	took = waitLogin(t, mqttAddr, last, true, 2*time.Second)
	t.Logf("20 meters imported at the sequencer: the last logged in at the edge after %v", took)

	// NATS down: the sequencer's word of M2's revocation is lost; the
	// edge reloads every key once it is connected again.
	nats.Close()
	must(t, admin.post("/api/v1/meters/M2/revoke", map[string]any{"reason": "meter stolen"}, nil))
	if nats, err = bus.StartEmbedded(natsDir, addr); err != nil {
		t.Fatal(err)
	}
	took = waitLogin(t, mqttAddr, m2, false, 10*time.Second)
	t.Logf("M2 revoked while NATS was down: refused at the edge %v after NATS restarted", took)
}

// waitLogin tries to log in as m until the edge lets it in (want true) or
// refuses it (want false), and returns how long that took; it fails the
// test after within.
func waitLogin(t *testing.T, addr string, m *testMeter, want bool, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		c, err := dialMQTT5(addr, m)
		if c != nil {
			c.Disconnect(&paho5.Disconnect{})
		}
		if (err == nil) == want {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s: login after %v: %v, want accepted %v", m.id, within, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// flakyKeys is a registry whose next failures reads of a meter fail.
type flakyKeys struct {
	devicecred.Store
	failures atomic.Int32
}

func (f *flakyKeys) Meter(ctx context.Context, id string) (meter.Meter, error) {
	if f.failures.Add(-1) >= 0 {
		return meter.Meter{}, errors.New("store unavailable (test)")
	}
	return f.Store.Meter(ctx, id)
}

// TestEdgeKeyReloadRetried: an edge whose reload of a changed device fails
// (the store unavailable for a moment) tries it again within a second or
// two instead of waiting for its next full reload.
func TestEdgeKeyReloadRetried(t *testing.T) {
	nats := startEmbeddedNATS(t)
	dir := t.TempDir()
	s := openTestSequencer(t, dir, nats.URL())
	admin := s.client(s.token)
	m1, _ := province(t, admin)
	e := startKeysEdge(t, dir, nats.URL())
	waitLogin(t, e.broker.Addr(), m1, true, 2*time.Second)

	// The edge's reads of the registry fail twice, then pass.
	flaky := &flakyKeys{Store: e.store}
	flaky.failures.Store(2)
	creds := devicecred.New(flaky, e.dir)
	creds.OnRevoke = e.disconnect
	e.creds.Store(creds)
	must(t, admin.post("/api/v1/meters/M1/revoke", map[string]any{"reason": "meter stolen"}, nil))
	took := waitLogin(t, e.broker.Addr(), m1, false, 5*time.Second)
	if n := flaky.failures.Load(); n >= 0 {
		t.Fatalf("the edge read the registry %d times fewer than the test meant to fail", n+1)
	}
	t.Logf("M1 revoked while the edge's store failed twice: refused at the edge after %v", took)
}

// TestEdgeKeyChangesOfCatchUp: a revocation on the sequencer's ledger that
// its store did not hold when it stopped is applied as the sequencer
// catches up at start, and reaches an edge that stayed connected to NATS
// (and so does no full reload) once the sequencer's bus is open.
func TestEdgeKeyChangesOfCatchUp(t *testing.T) {
	nats := startEmbeddedNATS(t)
	dir := t.TempDir()
	open := func() *server {
		s, err := openServer(context.Background(), serverConfig{Data: dir, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Bus: busConfig{Role: roleSequencer, NATS: nats.URL()}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	m1, _ := province(t, s.client(s.token))
	s.Close(context.Background())
	snapshot := t.TempDir()
	copyStore(t, dir, snapshot)
	// The revocation goes on the ledger and into the store; the store is
	// then put back as it was before it, as a store that lost its last
	// transaction would be.
	s = open()
	must(t, s.client(s.token).post("/api/v1/meters/M1/revoke", map[string]any{"reason": "meter stolen"}, nil))
	s.Close(context.Background())
	copyStore(t, snapshot, dir)

	e := startKeysEdge(t, dir, nats.URL())
	waitLogin(t, e.broker.Addr(), m1, true, 2*time.Second) // the edge read the store without the revocation
	s = openTestSequencer(t, dir, nats.URL())
	if m, err := s.store.Meter(context.Background(), "M1"); err != nil || !m.Revoked {
		t.Fatalf("the sequencer's catch-up did not apply the revocation: %+v %v", m, err)
	}
	took := waitLogin(t, e.broker.Addr(), m1, false, 5*time.Second)
	t.Logf("M1's revocation applied by the sequencer's catch-up: refused at the edge after %v", took)
}

// startKeysEdge runs an edge whose full reload of keys is an hour away,
// that lets a device try to log in as often as it likes.
func startKeysEdge(t *testing.T, dir, natsURL string) *busEdge {
	t.Helper()
	cfg := testEdgeConfig(dir, "", natsURL)
	cfg.Bus.Refresh = time.Hour
	cfg.MQTT.FailedLogins = broker.Limit{Rate: -1}
	return startEdgeWith(t, cfg)
}

// copyStore replaces the SQLite store files (store.db and its journal) in
// to with those in from.
func copyStore(t *testing.T, from, to string) {
	t.Helper()
	old, _ := filepath.Glob(filepath.Join(to, "store.db*"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(from, "store.db*"))
	if len(files) == 0 {
		t.Fatalf("no store in %s", from)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, filepath.Base(f)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKeyRetryDelay: a failed key load is retried after 250 ms, twice as
// long each time up to 30 s, keyRetries times in a row and no more.
func TestKeyRetryDelay(t *testing.T) {
	var total time.Duration
	for attempt, want := range []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
		4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second, 0} {
		d, again := keyRetryDelay(attempt)
		if d != want || again != (want > 0) {
			t.Errorf("attempt %d: %v %v, want %v", attempt, d, again, want)
		}
		total += d
	}
	if total > 3*time.Minute {
		t.Errorf("retries span %v", total)
	}
}
