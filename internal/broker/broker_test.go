package broker

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"
)

type recorder struct {
	mu      sync.Mutex
	got     []Reading
	refused []string
	auths   int // calls of Authenticate
}

// startBroker starts a broker whose devices m1, m2 and m3 have the
// passwords pw-m1…; mods change its options.
func startBroker(t *testing.T, rec *recorder, mods ...func(*Options)) *Broker {
	t.Helper()
	opts := Options{
		Addr: "127.0.0.1:0",
		Authenticate: func(dev string, pw []byte) bool {
			rec.mu.Lock()
			rec.auths++
			rec.mu.Unlock()
			return (dev == "m1" || dev == "m2" || dev == "m3") && string(pw) == "pw-"+dev
		},
		OnReading: func(r Reading, ack func(Ack)) {
			rec.mu.Lock()
			rec.got = append(rec.got, r)
			rec.mu.Unlock()
			// Answer from another goroutine, later, as the ingest pipeline does.
			go func() {
				time.Sleep(20 * time.Millisecond)
				if strings.HasPrefix(string(r.Payload), "bad") {
					ack(Ack{Code: CodePayloadFormatError, Message: "malformed reading: line 2"})
					return
				}
				ack(Ack{Code: CodeSuccess})
			}()
		},
		OnRefused: func(dev, reason, src string) {
			rec.mu.Lock()
			rec.refused = append(rec.refused, dev+":"+reason)
			rec.mu.Unlock()
		},
	}
	for _, m := range mods {
		m(&opts)
	}
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func connect5(t *testing.T, addr, user, pw string) (*paho5.Client, *paho5.Connack, error) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := paho5.NewClient(paho5.ClientConfig{Conn: conn})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ca, err := c.Connect(ctx, &paho5.Connect{KeepAlive: 30, ClientID: user + "-c", CleanStart: true,
		Username: user, UsernameFlag: user != "", Password: []byte(pw), PasswordFlag: pw != ""})
	return c, ca, err
}

func TestMQTT5AckAfterCallbackWithReasons(t *testing.T) {
	rec := &recorder{}
	b := startBroker(t, rec)
	c, _, err := connect5(t, b.Addr(), "m1", "pw-m1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(&paho5.Disconnect{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	start := time.Now()
	pr, err := c.Publish(ctx, &paho5.Publish{Topic: ReadingsPrefix + "m1", QoS: 1, Payload: []byte("good")})
	if err != nil {
		t.Fatal(err)
	}
	if pr.ReasonCode != CodeSuccess {
		t.Fatalf("good reading: reason %#x", pr.ReasonCode)
	}
	if time.Since(start) < 20*time.Millisecond {
		t.Fatal("PUBACK came before the callback answered")
	}
	pr, err = c.Publish(ctx, &paho5.Publish{Topic: ReadingsPrefix + "m1", QoS: 1, Payload: []byte("bad one")})
	if err == nil && pr.ReasonCode != CodePayloadFormatError {
		t.Fatalf("bad reading: reason %#x", pr.ReasonCode)
	}
	if pr == nil || pr.ReasonCode != CodePayloadFormatError || pr.Properties == nil || !strings.Contains(pr.Properties.ReasonString, "line 2") {
		t.Fatalf("bad reading: %+v err %v", pr, err)
	}
	// Another device's topic is not allowed.
	pr, err = c.Publish(ctx, &paho5.Publish{Topic: ReadingsPrefix + "m2", QoS: 1, Payload: []byte("good")})
	if pr == nil || pr.ReasonCode != CodeNotAuthorized {
		t.Fatalf("foreign topic: %+v err %v", pr, err)
	}
	// Subscribing to another device's receipts is refused.
	sa, err := c.Subscribe(ctx, &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{{Topic: ReceiptsPrefix + "m2", QoS: 0}}})
	if err == nil && (sa == nil || len(sa.Reasons) != 1 || sa.Reasons[0] < 0x80) {
		t.Fatalf("foreign subscribe accepted: %+v", sa)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.got) != 2 || rec.got[0].Device != "m1" {
		t.Fatalf("readings seen: %+v", rec.got)
	}
	if len(rec.refused) < 2 {
		t.Fatalf("refusals not reported: %v", rec.refused)
	}
}

func TestCredentials(t *testing.T) {
	rec := &recorder{}
	b := startBroker(t, rec)
	for _, tc := range []struct{ user, pw string }{{"m1", "wrong"}, {"", ""}, {"nobody", "pw-nobody"}} {
		_, ca, err := connect5(t, b.Addr(), tc.user, tc.pw)
		if err == nil && (ca == nil || ca.ReasonCode == 0) {
			t.Errorf("%q/%q connected", tc.user, tc.pw)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	joined := strings.Join(rec.refused, ",")
	if !strings.Contains(joined, "m1:bad-credentials") || !strings.Contains(joined, ":anonymous-connect") {
		t.Fatalf("refusals: %s", joined)
	}
}

func TestMQTT311PipelinedPublishes(t *testing.T) {
	// The callback holds every ack until all 50 readings have arrived. If the
	// broker waited for each ack before reading the next message, the 50
	// would never arrive and the publishes would time out.
	const n = 50
	var mu sync.Mutex
	var pending []func(Ack)
	b, err := New(Options{
		Addr:         "127.0.0.1:0",
		Authenticate: func(dev string, pw []byte) bool { return dev == "m2" && string(pw) == "pw-m2" },
		OnReading: func(r Reading, ack func(Ack)) {
			mu.Lock()
			defer mu.Unlock()
			pending = append(pending, ack)
			if len(pending) == n {
				for _, a := range pending {
					go a(Ack{Code: CodeSuccess})
				}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	opts := paho3.NewClientOptions().AddBroker("tcp://" + b.Addr()).SetClientID("m2-c").
		SetUsername("m2").SetPassword("pw-m2").SetProtocolVersion(4).SetAutoReconnect(false)
	c := paho3.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	var toks []paho3.Token
	for i := 0; i < n; i++ {
		toks = append(toks, c.Publish(ReadingsPrefix+"m2", 1, false, []byte("good")))
	}
	for i, tok := range toks {
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %d not acknowledged: %v (acks are serialised)", i, tok.Error())
		}
	}
}

func TestAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = New(Options{Addr: ln.Addr().String(), Authenticate: func(string, []byte) bool { return false }, OnReading: func(Reading, func(Ack)) {}})
	if err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("want a clear in-use error, got %v", err)
	}
}

func TestSubscribedTracksDevices(t *testing.T) {
	rec := &recorder{}
	b := startBroker(t, rec)
	c, _, err := connect5(t, b.Addr(), "m1", "pw-m1")
	if err != nil {
		t.Fatal(err)
	}
	topic := ReceiptsPrefix + "m1"
	if b.Subscribed(topic) {
		t.Fatal("subscribed before subscribing")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Subscribe(ctx, &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{{Topic: topic, QoS: 0}}}); err != nil {
		t.Fatal(err)
	}
	if !b.Subscribed(topic) {
		t.Fatal("subscription not seen")
	}
	c.Disconnect(&paho5.Disconnect{})
	deadline := time.Now().Add(5 * time.Second)
	for b.Subscribed(topic) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if b.Subscribed(topic) {
		t.Fatal("subscription kept after a clean session ended")
	}
}
