package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"

	"github.com/shuixiao/shuixiao/internal/broker"
	"github.com/shuixiao/shuixiao/internal/bus"
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
