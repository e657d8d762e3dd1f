package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// fakePlatform is a test double of the shuixiao server as docs/api.md and
// docs/mqtt.md describe it: an MQTT broker that authenticates meters,
// admits signed readings (signature, growing seq, idempotent resubmission,
// gap and skew flags) and answers receipts, and the HTTP endpoints the
// simulator uses. It checks the simulator against the contract; the
// integration test checks it against the real server.
type fakePlatform struct {
	t     testing.TB
	token string
	http  *httptest.Server

	bmu    sync.Mutex
	broker *mochi.Server
	addr   string

	mu          sync.Mutex
	parks       map[string]meter.Park
	enterprises map[string]meter.Enterprise
	points      map[string]meter.Point
	meters      map[string]*fakeMeter
	ledger      [][]byte
	rejections  map[string]int
	rejected    []fakeRejection
}

type fakeMeter struct {
	reg      MeterRegistration
	verifier note.Verifier
	revoked  bool
	lastSeq  uint64
	lastHash reading.Hash
	byHash   map[reading.Hash]int
	readings []fakeReading
}

type fakeReading struct {
	r     *reading.Reading
	index int
	flags []string
}

type fakeRejection struct {
	meter, reason string
	seq           uint64
}

func newFakePlatform(t testing.TB) *fakePlatform {
	f := &fakePlatform{t: t, token: "admin-test-token", parks: map[string]meter.Park{},
		enterprises: map[string]meter.Enterprise{}, points: map[string]meter.Point{},
		meters: map[string]*fakeMeter{}, rejections: map[string]int{}}
	f.http = httptest.NewServer(http.HandlerFunc(f.serveHTTP))
	t.Cleanup(f.http.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = l.Addr().String()
	l.Close()
	f.startBroker()
	t.Cleanup(f.stopBroker)
	return f
}

// startBroker (re)starts the MQTT broker on the platform's address.
func (f *fakePlatform) startBroker() {
	f.bmu.Lock()
	defer f.bmu.Unlock()
	srv := mochi.New(&mochi.Options{InlineClient: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := srv.AddHook(&fakeHook{f: f, srv: srv}, nil); err != nil {
		f.t.Fatal(err)
	}
	var err error
	for i := 0; i < 50; i++ { // the port may linger briefly after a stop
		if err = srv.AddListener(listeners.NewTCP(listeners.Config{ID: "t", Address: f.addr})); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		f.t.Fatal(err)
	}
	go srv.Serve()
	f.broker = srv
}

func (f *fakePlatform) stopBroker() {
	f.bmu.Lock()
	defer f.bmu.Unlock()
	if f.broker != nil {
		f.broker.Close()
		f.broker = nil
	}
}

type fakeHook struct {
	mochi.HookBase
	f   *fakePlatform
	srv *mochi.Server
}

func (h *fakeHook) ID() string { return "fake-platform" }

func (h *fakeHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mochi.OnConnectAuthenticate, mochi.OnACLCheck, mochi.OnPublish}, []byte{b})
}

func (h *fakeHook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	m := h.f.meters[string(pk.Connect.Username)]
	return m != nil && !m.revoked && string(pk.Connect.Password) == m.reg.MQTTPassword
}

func (h *fakeHook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	if cl.Net.Inline {
		return true
	}
	user := string(cl.Properties.Username)
	if write {
		return topic == ReadingsTopic+user
	}
	return topic == ReceiptsTopic+user
}

func (h *fakeHook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline || !strings.HasPrefix(pk.TopicName, ReadingsTopic) {
		return pk, nil
	}
	user := string(cl.Properties.Username)
	receipt := h.f.admit(user, pk.Payload)
	go h.srv.Publish(ReceiptsTopic+user, []byte(receipt), false, 0)
	return pk, nil
}

// admit applies the admission rules of issue 2 and returns the receipt text.
func (f *fakePlatform) admit(user string, msg []byte) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	reject := func(seq uint64, reason string) string {
		f.rejections[reason]++
		f.rejected = append(f.rejected, fakeRejection{meter: user, reason: reason, seq: seq})
		return fmt.Sprintf("seq %d rejected %s", seq, reason)
	}
	r, err := reading.Parse(msg)
	if err != nil {
		return reject(0, "malformed")
	}
	m := f.meters[r.Meter]
	switch {
	case r.Meter != user:
		return reject(r.Seq, "wrong-meter")
	case m == nil:
		return reject(r.Seq, "unknown-key")
	case m.revoked:
		return reject(r.Seq, "revoked")
	}
	if _, err := note.Open(msg, note.VerifierList(m.verifier)); err != nil {
		return reject(r.Seq, "bad-signature")
	}
	h := reading.HashOf(msg)
	if i, ok := m.byHash[h]; ok {
		return fmt.Sprintf("seq %d index %d dup", r.Seq, i)
	}
	if r.Seq <= m.lastSeq {
		return reject(r.Seq, "replay")
	}
	var flags []string
	if r.Prev != m.lastHash {
		flags = append(flags, "gap")
	}
	if d := time.Until(r.Time); d > 2*time.Minute || d < -10*time.Minute {
		flags = append(flags, "skew")
	}
	idx := len(f.ledger)
	f.ledger = append(f.ledger, msg)
	m.byHash[h] = idx
	m.lastSeq, m.lastHash = r.Seq, h
	m.readings = append(m.readings, fakeReading{r: r, index: idx, flags: flags})
	return strings.TrimSpace(fmt.Sprintf("seq %d index %d %s", r.Seq, idx, strings.Join(flags, " ")))
}

func (f *fakePlatform) serveHTTP(w http.ResponseWriter, r *http.Request) {
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v)
	}
	fail := func(code int, msg string) { reply(code, map[string]string{"error": msg}) }
	if r.URL.Path == "/api/v1/health" {
		reply(200, map[string]any{"status": "ok"})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		fail(401, "no token")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	decode := func(v any) bool {
		if err := json.NewDecoder(r.Body).Decode(v); err != nil {
			fail(400, err.Error())
			return false
		}
		return true
	}
	path := strings.TrimPrefix(r.URL.Path, "/api/v1/")
	switch {
	case r.Method == "POST" && path == "parks":
		var p meter.Park
		if decode(&p) {
			create(w, f.parks, p.ID, p, nil)
		}
	case r.Method == "POST" && path == "enterprises":
		var e meter.Enterprise
		if decode(&e) {
			create(w, f.enterprises, e.ID, e, func() error {
				if _, ok := f.parks[e.Park]; !ok {
					return fmt.Errorf("unknown park %s", e.Park)
				}
				return nil
			})
		}
	case r.Method == "POST" && path == "points":
		var p meter.Point
		if decode(&p) {
			create(w, f.points, p.ID, p, func() error {
				if _, ok := f.enterprises[p.Enterprise]; !ok {
					return fmt.Errorf("unknown enterprise %s", p.Enterprise)
				}
				if _, ok := f.points[p.Parent]; p.Parent != "" && !ok {
					return fmt.Errorf("unknown parent %s", p.Parent)
				}
				return p.Validate()
			})
		}
	case r.Method == "POST" && path == "meters":
		var m MeterRegistration
		if !decode(&m) {
			return
		}
		v, err := note.NewVerifier(m.Key)
		if err != nil || v.Name() != reading.KeyName(m.ID) {
			fail(400, "bad key")
			return
		}
		if _, ok := f.points[m.Point]; !ok || m.MQTTPassword == "" || m.IntervalS < 1 {
			fail(400, "bad meter")
			return
		}
		if old, ok := f.meters[m.ID]; ok {
			// As the server: the same meter again is harmless (200); another
			// key or point, or a revoked meter, conflicts.
			if old.reg.Key == m.Key && old.reg.Point == m.Point && !old.revoked {
				old.reg.MQTTPassword = m.MQTTPassword
				reply(200, map[string]any{"id": m.ID})
				return
			}
			fail(409, "exists")
			return
		}
		f.meters[m.ID] = &fakeMeter{reg: m, verifier: v, byHash: map[reading.Hash]int{}}
		f.ledger = append(f.ledger, []byte("key "+m.ID))
		reply(201, map[string]any{"id": m.ID, "index": len(f.ledger) - 1})
	case r.Method == "POST" && strings.HasPrefix(path, "meters/") && strings.HasSuffix(path, "/revoke"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "meters/"), "/revoke")
		m := f.meters[id]
		if m == nil {
			fail(404, "no meter")
			return
		}
		m.revoked = true
		f.ledger = append(f.ledger, []byte("revoke "+id))
		reply(200, map[string]any{"index": len(f.ledger) - 1})
	case r.Method == "GET" && strings.HasPrefix(path, "meters/"):
		m := f.meters[strings.TrimPrefix(path, "meters/")]
		if m == nil {
			fail(404, "no meter")
			return
		}
		reply(200, MeterInfo{ID: m.reg.ID, Point: m.reg.Point, Key: m.reg.Key, Revoked: m.revoked, LastSeq: m.lastSeq})
	case r.Method == "GET" && path == "readings":
		m := f.meters[r.URL.Query().Get("meter")]
		var items []ReadingInfo
		if m != nil {
			for _, fr := range m.readings {
				vals := map[string]float64{}
				for _, v := range fr.r.Values {
					vals[v.Channel] = v.Value
				}
				items = append(items, ReadingInfo{Meter: fr.r.Meter, Seq: fr.r.Seq, Index: int64(fr.index), Time: fr.r.Time, Flags: fr.flags, Values: vals})
			}
		}
		if r.URL.Query().Get("order") == "desc" {
			for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
				items[i], items[j] = items[j], items[i]
			}
		}
		reply(200, map[string]any{"items": items, "next": ""})
	case r.Method == "GET" && path == "rejections":
		by := map[string]int64{}
		total := int64(0)
		for k, v := range f.rejections {
			by[k] = int64(v)
			total += int64(v)
		}
		reply(200, Rejections{Total: total, ByReason: by})
	default:
		fail(404, "no route "+r.Method+" "+path)
	}
}

// create answers a POST that creates an object: 400 if check fails, 409 if
// it exists, else 201.
func create[T any](w http.ResponseWriter, m map[string]T, id string, v T, check func() error) {
	code, body := http.StatusCreated, any(v)
	if check != nil {
		if err := check(); err != nil {
			code, body = http.StatusBadRequest, map[string]string{"error": err.Error()}
		}
	}
	if _, ok := m[id]; ok && code == http.StatusCreated {
		code, body = http.StatusConflict, map[string]string{"error": "exists"}
	}
	if code == http.StatusCreated {
		m[id] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(body)
}

// meterReadings copies what the platform stored for a meter.
func (f *fakePlatform) meterReadings(id string) []fakeReading {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m := f.meters[id]; m != nil {
		return append([]fakeReading(nil), m.readings...)
	}
	return nil
}

func (f *fakePlatform) register(t testing.TB, id, point, password string, secret []byte) {
	t.Helper()
	_, vkey, err := MeterKey(secret, id)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, _ := note.NewVerifier(vkey)
	f.meters[id] = &fakeMeter{reg: MeterRegistration{ID: id, Point: point, Key: vkey, MQTTPassword: password, IntervalS: 1},
		verifier: v, byHash: map[reading.Hash]int{}}
}
