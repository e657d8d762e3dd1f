package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/broker"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/verify"
	"github.com/shuixiao/shuixiao/web"
)

func startTestServer(t *testing.T, dir string) *server {
	t.Helper()
	return startTestServerWith(t, dir, func(*serverConfig) {})
}

// startTestServerWith starts a test server whose configuration set has changed.
func startTestServerWith(t *testing.T, dir string, set func(*serverConfig)) *server {
	t.Helper()
	cfg := serverConfig{Data: dir, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	set(&cfg)
	s, err := openServer(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func (s *server) client(token string) *apiClient {
	return &apiClient{base: s.URL(), token: token, hc: &http.Client{Timeout: 20 * time.Second}}
}

// testMeter is a device with its key, chain and MQTT password.
type testMeter struct {
	id, point, password, vkey string
	signer                    note.Signer
	seq                       uint64
	prev                      reading.Hash
}

func newMeter(t *testing.T, id, point string) *testMeter {
	skey, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName(id))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	return &testMeter{id: id, point: point, password: "secret-" + id + "-0123456789", vkey: vkey, signer: s}
}

func (m *testMeter) next(t *testing.T, total float64) []byte {
	t.Helper()
	return m.nextWith(t, total, nil)
}

// nextWith signs the meter's next reading after change, if not nil, has
// altered it.
func (m *testMeter) nextWith(t *testing.T, total float64, change func(r *reading.Reading)) []byte {
	t.Helper()
	m.seq++
	r := &reading.Reading{Meter: m.id, Seq: m.seq, Time: time.Now(), Prev: m.prev, Point: m.point,
		Values: []reading.Value{{Channel: "total_m3", Value: total}, {Channel: "flow_m3h", Value: 4.5}}}
	if change != nil {
		change(r)
		m.seq = r.Seq
	}
	msg, err := reading.Sign(r, m.signer)
	if err != nil {
		t.Fatal(err)
	}
	m.prev = reading.HashOf(msg)
	return msg
}

// province registers two parks with one enterprise each, a point and a
// meter per enterprise, and returns the meters.
func province(t *testing.T, c *apiClient) (m1, m2 *testMeter) {
	t.Helper()
	total, _ := meter.StandardChannel("total_m3")
	flow, _ := meter.StandardChannel("flow_m3h")
	for i, p := range []struct{ park, ent, region string }{{"PK1", "E1", "430300"}, {"PK2", "E2", "430600"}} {
		must(t, c.post("/api/v1/parks", meter.Park{ID: p.park, Name: "园区" + p.park, Region: p.region}, nil))
		must(t, c.post("/api/v1/enterprises", meter.Enterprise{ID: p.ent, Name: "企业" + p.ent, Park: p.park, Region: p.region, Industry: "3120"}, nil))
		pt := meter.Point{ID: "P" + p.ent, Enterprise: p.ent, Name: "总取水", Level: meter.Level1, Stage: meter.StageIntake,
			Source: meter.SourceGround, Channels: []meter.Channel{total, flow}}
		must(t, c.post("/api/v1/points", pt, nil))
		m := newMeter(t, fmt.Sprintf("M%d", i+1), pt.ID)
		must(t, c.post("/api/v1/meters", map[string]any{"id": m.id, "point": m.point, "key": m.vkey, "interval_s": 60, "mqtt_password": m.password}, nil))
		if i == 0 {
			m1 = m
		} else {
			m2 = m
		}
	}
	return m1, m2
}

// registerMeters registers park PK, enterprise E and n meters PREFIX00…
// on points PPREFIX00…, each with a totaliser and a flow channel.
func registerMeters(t *testing.T, c *apiClient, prefix string, n int) []*testMeter {
	t.Helper()
	total, _ := meter.StandardChannel("total_m3")
	flow, _ := meter.StandardChannel("flow_m3h")
	must(t, c.post("/api/v1/parks", meter.Park{ID: "PK", Name: "园区", Region: "430300"}, nil))
	must(t, c.post("/api/v1/enterprises", meter.Enterprise{ID: "E", Name: "企业", Park: "PK", Region: "430300", Industry: "3120"}, nil))
	var meters []*testMeter
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s%02d", prefix, i)
		m := newMeter(t, id, "P"+id)
		must(t, c.post("/api/v1/points", meter.Point{ID: m.point, Enterprise: "E", Name: "点", Level: meter.Level2,
			Stage: meter.StageUse, Channels: []meter.Channel{total, flow}}, nil))
		must(t, c.post("/api/v1/meters", map[string]any{"id": m.id, "point": m.point, "key": m.vkey, "mqtt_password": m.password}, nil))
		meters = append(meters, m)
	}
	return meters
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mqtt5(t *testing.T, addr string, m *testMeter) *paho5.Client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := paho5.NewClient(paho5.ClientConfig{Conn: conn})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ca, err := c.Connect(ctx, &paho5.Connect{KeepAlive: 30, ClientID: m.id, CleanStart: true,
		Username: m.id, UsernameFlag: true, Password: []byte(m.password), PasswordFlag: true})
	if err != nil || ca.ReasonCode != 0 {
		t.Fatalf("connect %s: %v %+v", m.id, err, ca)
	}
	t.Cleanup(func() { c.Disconnect(&paho5.Disconnect{}) })
	return c
}

func publish(t *testing.T, c *paho5.Client, m *testMeter, msg []byte) *paho5.PublishResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pr, err := c.Publish(ctx, &paho5.Publish{Topic: broker.ReadingsPrefix + m.id, QoS: 1, Payload: msg})
	if pr == nil {
		t.Fatalf("publish: %v", err)
	}
	return pr
}

func TestServerEndToEnd(t *testing.T) {
	dir := t.TempDir()
	s := startTestServer(t, dir)
	admin := s.client(s.token)
	m1, _ := province(t, admin)
	c := mqtt5(t, s.broker.Addr(), m1)

	for i := 1; i <= 5; i++ {
		if pr := publish(t, c, m1, m1.next(t, float64(100+i))); pr.ReasonCode != 0 {
			t.Fatalf("reading %d refused: %#x %v", i, pr.ReasonCode, pr.Properties)
		}
	}
	// A forged reading (value changed after signing) is refused with a reason.
	good := m1.next(t, 200)
	forged := []byte(strings.Replace(string(good), "total_m3 200", "total_m3 201", 1))
	if pr := publish(t, c, m1, forged); pr.ReasonCode != broker.CodeNotAuthorized || !strings.Contains(pr.Properties.ReasonString, "bad-signature") {
		t.Fatalf("forged reading: %#x %+v", pr.ReasonCode, pr.Properties)
	}
	// The genuine one still goes in.
	if pr := publish(t, c, m1, good); pr.ReasonCode != 0 {
		t.Fatalf("genuine reading refused: %#x", pr.ReasonCode)
	}
	// An exact resubmission is acknowledged (idempotent); another reading
	// with an old seq is a replay.
	replayer := *m1
	replayer.seq, replayer.prev = 1, reading.Hash{}
	if pr := publish(t, c, m1, replayer.next(t, 999)); pr.ReasonCode != broker.CodeNotAuthorized || !strings.Contains(pr.Properties.ReasonString, "replay") {
		t.Fatalf("replayed seq: %#x %+v", pr.ReasonCode, pr.Properties)
	}
	// A reading lost on the way (seq 7) makes seq 8 a flagged gap, still stored.
	m1.next(t, 210)
	if pr := publish(t, c, m1, m1.next(t, 220)); pr.ReasonCode != 0 {
		t.Fatalf("reading after a gap refused: %#x", pr.ReasonCode)
	}

	var page struct {
		Items []struct {
			Seq   uint64             `json:"seq"`
			Index uint64             `json:"index"`
			Flags []string           `json:"flags"`
			Vals  map[string]float64 `json:"values"`
		} `json:"items"`
	}
	must(t, admin.get("/api/v1/readings?meter=M1&order=asc", &page))
	if len(page.Items) != 7 || page.Items[0].Seq != 1 || page.Items[5].Seq != 6 || page.Items[5].Vals["total_m3"] != 200 || page.Items[6].Seq != 8 {
		t.Fatalf("readings: %+v", page.Items)
	}
	if fl := page.Items[6].Flags; len(fl) != 1 || fl[0] != "gap" {
		t.Fatalf("reading after a lost one should be flagged as a gap: %v", fl)
	}
	if fl := page.Items[5].Flags; len(fl) != 0 {
		t.Fatalf("in-chain reading flagged: %v", fl)
	}
	var rej struct {
		Total    uint64            `json:"total"`
		ByReason map[string]uint64 `json:"by_reason"`
	}
	must(t, admin.get("/api/v1/rejections", &rej))
	if rej.ByReason["bad-signature"] != 1 || rej.ByReason["replay"] != 1 {
		t.Fatalf("rejections: %+v", rej)
	}

	// A receipt for the last reading verifies offline with public keys only.
	idx := page.Items[5].Index
	var receipt []byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/proof?index=%d", s.URL(), idx), nil)
		req.Header.Set("Authorization", "Bearer "+s.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		receipt, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no receipt: %d %s", resp.StatusCode, receipt)
		}
		time.Sleep(200 * time.Millisecond)
	}
	logKey, _ := note.NewVerifier(s.ledger.VerifierKey())
	meterKey, _ := note.NewVerifier(m1.vkey)
	rc, err := verify.VerifyReceipt(receipt, verify.ReceiptKeys{Log: logKey, Meter: meterKey})
	if err != nil {
		t.Fatalf("receipt does not verify: %v\n%s", err, receipt)
	}
	if rc.Index != idx {
		t.Fatalf("receipt index %d, want %d", rc.Index, idx)
	}

	// Health, OpenAPI, the checkpoint and the console answer without a
	// token; the API and metrics need one. A checkout whose console is not
	// built (go test without make: the Go build and tests need no Node.js)
	// serves the "not built" page at / with 503.
	for _, path := range []string{"/api/v1/health", "/api/v1/openapi.json", "/ledger/checkpoint", "/"} {
		want := http.StatusOK
		if path == "/" && !web.Built() {
			want = http.StatusServiceUnavailable
		}
		resp, err := http.Get(s.URL() + path)
		if err != nil || resp.StatusCode != want {
			t.Fatalf("GET %s: %v %v, want %d (console built: %v)", path, err, resp, want, web.Built())
		}
		resp.Body.Close()
	}
	req, _ := http.NewRequest("GET", s.URL()+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"shuixiao_ingest_admitted_total 7", `shuixiao_ingest_rejected_total{reason="bad-signature"} 1`, "shuixiao_mqtt_clients 1", "shuixiao_ledger_"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// The bench reads the ledger's share of the time from these series.
	m := s.client(s.token).metrics()
	if m["shuixiao_ingest_admitted_total"] != 7 || m["shuixiao_ingest_batch_readings_sum"] < 7 || m["shuixiao_ingest_ledger_append_seconds_sum"] <= 0 {
		t.Errorf("metrics as the bench reads them: admitted %v, batch readings %v, append seconds %v",
			m["shuixiao_ingest_admitted_total"], m["shuixiao_ingest_batch_readings_sum"], m["shuixiao_ingest_ledger_append_seconds_sum"])
	}
	if _, labelled := m[`shuixiao_ingest_rejected_total{reason="bad-signature"}`]; labelled {
		t.Error("the bench's metrics reader kept a labelled series")
	}
	if resp, _ := http.Get(s.URL() + "/api/v1/enterprises"); resp.StatusCode != 401 {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
}

func TestTenantScope(t *testing.T) {
	s := startTestServer(t, t.TempDir())
	admin := s.client(s.token)
	province(t, admin)
	mk := func(role, scope string) *apiClient {
		var out struct {
			Secret string `json:"secret"`
		}
		must(t, admin.post("/api/v1/tokens", map[string]string{"role": role, "scope": scope, "name": role + " " + scope}, &out))
		return s.client(out.Secret)
	}
	ent1, park2, auditor := mk("enterprise", "E1"), mk("park", "PK2"), mk("auditor", "")

	status := func(c *apiClient, method, path string) int {
		code, _ := c.do(method, path, nil, nil)
		return code
	}
	for _, tc := range []struct {
		who    string
		c      *apiClient
		method string
		path   string
		want   int
	}{
		{"enterprise own", ent1, "GET", "/api/v1/enterprises/E1", 200},
		{"enterprise other", ent1, "GET", "/api/v1/enterprises/E2", 403},
		{"enterprise other meter", ent1, "GET", "/api/v1/meters/M2", 403},
		{"enterprise other readings", ent1, "GET", "/api/v1/readings?meter=M2", 403},
		{"enterprise other balance", ent1, "GET", "/api/v1/enterprises/E2/balance", 403},
		{"enterprise other tree", ent1, "GET", "/api/v1/enterprises/E2/tree", 403},
		{"enterprise other stream", ent1, "GET", "/api/v1/stream?enterprise=E2", 403},
		{"enterprise registers meter", ent1, "POST", "/api/v1/meters", 403},
		{"park own enterprise", park2, "GET", "/api/v1/enterprises/E2", 200},
		{"park other enterprise", park2, "GET", "/api/v1/enterprises/E1", 403},
		{"park other park", park2, "GET", "/api/v1/parks/PK1", 403},
		{"auditor anything", auditor, "GET", "/api/v1/enterprises/E1", 200},
		{"auditor tokens", auditor, "GET", "/api/v1/tokens", 403},
	} {
		if got := status(tc.c, tc.method, tc.path); got != tc.want {
			t.Errorf("%s: %s %s = %d, want %d", tc.who, tc.method, tc.path, got, tc.want)
		}
	}
	// Lists are narrowed to the tenant.
	var ents []meter.Enterprise
	must(t, ent1.get("/api/v1/enterprises", &ents))
	if len(ents) != 1 || ents[0].ID != "E1" {
		t.Fatalf("enterprise token lists %+v", ents)
	}
	must(t, park2.get("/api/v1/enterprises", &ents))
	if len(ents) != 1 || ents[0].ID != "E2" {
		t.Fatalf("park token lists %+v", ents)
	}
	var ms []map[string]any
	must(t, ent1.get("/api/v1/meters", &ms))
	if len(ms) != 1 || ms[0]["id"] != "M1" {
		t.Fatalf("enterprise token meters %+v", ms)
	}
	var ov struct {
		Children []struct {
			ID          string `json:"id"`
			Enterprises int    `json:"enterprises"`
		} `json:"children"`
	}
	must(t, ent1.get("/api/v1/overview", &ov))
	if len(ov.Children) != 1 || ov.Children[0].ID != "430300" || ov.Children[0].Enterprises != 1 {
		t.Fatalf("enterprise token overview %+v", ov)
	}
}

func TestOpenAPICoversRoutes(t *testing.T) {
	s := startTestServer(t, t.TempDir())
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	must(t, s.client("").get("/api/v1/openapi.json", &doc))
	if len(doc.Paths) < 25 {
		t.Fatalf("only %d paths documented", len(doc.Paths))
	}
	admin := s.client(s.token)
	// Every documented GET without path parameters answers something other than 404.
	for path, ops := range doc.Paths {
		if _, ok := ops["get"]; !ok || strings.Contains(path, "{") || path == "/api/v1/stream" {
			continue
		}
		code, _ := admin.do("GET", path, nil, nil)
		if code == 404 || code == 405 || code == 0 {
			t.Errorf("documented GET %s answers %d", path, code)
		}
	}
}

func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	_, err = openServer(context.Background(), serverConfig{Data: dir, HTTPAddr: "127.0.0.1:0", MQTTAddr: ln.Addr().String(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "already in use") || !strings.Contains(err.Error(), "--mqtt") {
		t.Fatalf("want a clear in-use error naming --mqtt, got %v", err)
	}
	// The failed start left the data directory usable.
	s := startTestServer(t, dir)
	if _, err := os.Stat(filepath.Join(dir, adminTokenFile)); err != nil || s.token == "" {
		t.Fatalf("admin token: %v", err)
	}
}
