package main

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/broker"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// TestBusCollector: points and meters registered in bulk (a batch with a
// bad item is refused whole, the item named, nothing stored); a data
// collector logs in to an edge node and forwards the meter-signed readings
// of the meter registered behind it, which the sequencer admits as
// meter-signed; the edge refuses, and records, a reading of a meter behind
// another collector, behind none, or not registered at all.
func TestBusCollector(t *testing.T) {
	nats := startEmbeddedNATS(t)
	dir := t.TempDir()
	s := openTestSequencer(t, dir, nats.URL())
	c := s.client(s.token)
	total, _ := meter.StandardChannel("total_m3")
	flow, _ := meter.StandardChannel("flow_m3h")
	must(t, c.post("/api/v1/parks", meter.Park{ID: "PK", Name: "园区", Region: "430300"}, nil))
	must(t, c.post("/api/v1/enterprises", meter.Enterprise{ID: "E", Name: "企业", Park: "PK", Region: "430300", Industry: "3120"}, nil))
	var pts []meter.Point
	for _, id := range []string{"PA", "PB", "PC"} {
		pts = append(pts, meter.Point{ID: id, Enterprise: "E", Name: "车间 " + id, Level: meter.Level3, Stage: meter.StageUse, Channels: []meter.Channel{total, flow}})
	}
	must(t, c.post("/api/v1/points/import", pts, nil))
	for _, g := range []string{"C1", "C2"} {
		_, vkey, _ := note.GenerateKey(rand.Reader, reading.GatewayKeyName(g))
		must(t, c.post("/api/v1/gateways", map[string]any{"id": g, "key": vkey, "enterprise": "E", "mqtt_password": "collector-" + g + "-pw"}, nil))
	}
	ma, mb, mc := newMeter(t, "MA", "PA"), newMeter(t, "MB", "PB"), newMeter(t, "MC", "PC")
	body := []map[string]any{
		{"id": ma.id, "point": ma.point, "key": ma.vkey, "collector": "C1"},
		{"id": mb.id, "point": mb.point, "key": mb.vkey, "collector": "C2"},
		{"id": mc.id, "point": mc.point, "key": mc.vkey, "collector": "C9"},
	}
	if err := c.post("/api/v1/meters/import", body, nil); err == nil || !strings.Contains(err.Error(), "item 2, field collector") {
		t.Fatalf("a batch with an unregistered collector: %v", err)
	}
	var one map[string]any
	if err := c.get("/api/v1/meters/MA", &one); err == nil {
		t.Fatal("a refused batch registered its first meter")
	}
	delete(body[2], "collector")
	must(t, c.post("/api/v1/meters/import", body, nil))

	e := startTestEdge(t, dir, "", nats.URL())
	col := mqtt5(t, e.broker.Addr(), &testMeter{id: "C1", password: "collector-C1-pw"})
	for i := range 3 {
		if pr := publish(t, col, &testMeter{id: "C1"}, ma.next(t, float64(10+i))); pr.ReasonCode != 0 {
			t.Fatalf("reading %d of MA through C1: %#x %+v", i, pr.ReasonCode, pr.Properties)
		}
	}
	stranger := newMeter(t, "MZ", "PA")
	for name, msg := range map[string][]byte{"behind C2": mb.next(t, 1), "behind none": mc.next(t, 1), "unregistered": stranger.next(t, 1)} {
		if pr := publish(t, col, &testMeter{id: "C1"}, msg); pr.ReasonCode != broker.CodeNotAuthorized {
			t.Errorf("a meter %s through C1: %#x, want %#x", name, pr.ReasonCode, broker.CodeNotAuthorized)
		}
	}
	var page struct {
		Items []struct {
			Seq   uint64 `json:"seq"`
			Trust string `json:"trust"`
		} `json:"items"`
	}
	for end := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		must(t, c.get("/api/v1/readings?meter=MA&order=asc", &page))
		if len(page.Items) == 3 || time.Now().After(end) {
			break
		}
	}
	if len(page.Items) != 3 || page.Items[2].Seq != 3 || page.Items[0].Trust != reading.TrustMeter {
		t.Fatalf("MA's readings through its collector: %+v", page.Items)
	}
	if got := ledgerReadings(t, s.ledger); len(got) != 3 {
		t.Fatalf("ledger holds %v", got)
	}
	var rej struct {
		Recent []struct{ Reason, Meter, Detail string } `json:"recent"`
	}
	for end := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		must(t, c.get("/api/v1/rejections", &rej))
		n := 0
		for _, r := range rej.Recent {
			if r.Reason == "wrong-device" && r.Meter == "C1" {
				n++
			}
		}
		if n >= 1 || time.Now().After(end) {
			if n == 0 {
				t.Fatalf("the refused readings were not recorded: %+v", rej.Recent)
			}
			break
		}
	}
}
