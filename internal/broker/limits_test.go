package broker

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/shuixiao/shuixiao/internal/logbuf"
)

// connect3Raw sends an MQTT 3.1.1 CONNECT and returns the CONNACK return
// code, or an error if the connection ended without one.
func connect3Raw(addr, clientID, user, pw string) (byte, net.Conn, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, nil, err
	}
	str := func(b []byte, s string) []byte {
		return append(binary.BigEndian.AppendUint16(b, uint16(len(s))), s...)
	}
	vh := str(nil, "MQTT")
	vh = append(vh, 4, 0xc2, 0, 30) // level 4; username, password, clean; keep-alive 30 s
	vh = str(str(str(vh, clientID), user), pw)
	pkt := []byte{0x10}
	for n := len(vh); ; {
		d := byte(n % 128)
		if n /= 128; n > 0 {
			d |= 0x80
		}
		pkt = append(pkt, d)
		if n == 0 {
			break
		}
	}
	if _, err := conn.Write(append(pkt, vh...)); err != nil {
		conn.Close()
		return 0, nil, err
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var ack [4]byte
	if _, err := io.ReadFull(conn, ack[:]); err != nil {
		conn.Close()
		return 0, nil, err
	}
	conn.SetReadDeadline(time.Time{})
	return ack[3], conn, nil
}

// Finding 3: a 10 KB username is refused before Authenticate (and so the
// store) sees it, and the refusal does not carry the username.
func TestLongUsernameRefusedFirst(t *testing.T) {
	rec := &recorder{}
	b := startBroker(t, rec)
	code, conn, err := connect3Raw(b.Addr(), "x", strings.Repeat("u", 10<<10), "pw")
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if code != 0x05 {
		t.Errorf("CONNACK %#x, want 0x05 not authorized", code)
	}
	_, ca, err := connect5(t, b.Addr(), "m1/../m2", "pw")
	if err == nil || ca == nil || ca.ReasonCode != 0x86 {
		t.Errorf("malformed username on MQTT 5: %+v %v", ca, err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.auths != 0 {
		t.Errorf("Authenticate called %d times", rec.auths)
	}
	if strings.Join(rec.refused, ",") != ":bad-username,:bad-username" || b.Stats().BadUsernames != 2 {
		t.Errorf("refusals %v, stats %+v", rec.refused, b.Stats())
	}
}

// Finding 7: 500 half-open sockets are closed by the pre-CONNECT deadline,
// and the broker still serves.
func TestConnectDeadline(t *testing.T) {
	rec := &recorder{}
	b := startBroker(t, rec, func(o *Options) { o.ConnectTimeout = 300 * time.Millisecond })
	const n = 500
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	start := time.Now()
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("socket %d: %v, want EOF (closed by the broker)", i, err)
		}
	}
	t.Logf("500 half-open sockets closed %v after the deadline was due", (time.Since(start) - 300*time.Millisecond).Round(time.Millisecond))
	if got := b.Stats().ConnectTimeouts; got != n {
		t.Errorf("%d connect timeouts counted, want %d", got, n)
	}
	c, _, err := connect5(t, b.Addr(), "m1", "pw-m1")
	if err != nil {
		t.Fatal(err)
	}
	c.Disconnect(&paho5.Disconnect{})
	// A device that sent CONNECT is not held to the deadline.
	code, conn, err := connect3Raw(b.Addr(), "m2-c", "m2", "pw-m2")
	if err != nil || code != 0 {
		t.Fatalf("connect: %#x %v", code, err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := conn.Read(make([]byte, 1)); !isTimeout(err) {
		t.Errorf("connected device: %v, want its own read timeout", err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// Sockets beyond MaxPending are closed at once; CONNECT frees a slot.
func TestPendingCap(t *testing.T) {
	rec := &recorder{}
	b := startBroker(t, rec, func(o *Options) { o.MaxPending = 5 })
	var open []net.Conn
	for i := 0; i < 10; i++ {
		c, err := net.Dial("tcp", b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		open = append(open, c)
	}
	closed := 0
	for _, c := range open {
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err == io.EOF {
			closed++
		}
	}
	if closed != 5 || b.Stats().PendingRefused != 5 {
		t.Fatalf("%d closed, stats %+v; want 5", closed, b.Stats())
	}
	for _, c := range open {
		c.Close()
	}
	// The broker learns of the closes as it reads them; then a device gets in.
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, conn, err := connect3Raw(b.Addr(), "m1-c", "m1", "pw-m1")
		if err == nil && code == 0 {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the half-open sockets closed: %#x %v", code, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestMaxClients(t *testing.T) {
	rec := &recorder{}
	b := startBroker(t, rec, func(o *Options) { o.MaxClients = 2 })
	for _, dev := range []string{"m1", "m2"} {
		c, _, err := connect5(t, b.Addr(), dev, "pw-"+dev)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Disconnect(&paho5.Disconnect{})
	}
	_, ca, err := connect5(t, b.Addr(), "m3", "pw-m3")
	if err == nil || ca == nil || ca.ReasonCode != CodeServerBusy {
		t.Errorf("third client on MQTT 5: %+v %v, want 0x89", ca, err)
	}
	code, conn, err := connect3Raw(b.Addr(), "m3-c", "m3", "pw-m3")
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if code != 0x03 {
		t.Errorf("third client on 3.1.1: %#x, want 0x03 server unavailable", code)
	}
}

// After its budget of failed logins a host is refused without
// Authenticate, and reported once.
func TestFailedLoginThrottle(t *testing.T) {
	rec := &recorder{}
	b := startBroker(t, rec, func(o *Options) { o.FailedLogins = Limit{Rate: 0.01, Burst: 3} })
	for i := 0; i < 3; i++ {
		_, ca, err := connect5(t, b.Addr(), "m1", "wrong")
		if err == nil || ca == nil || ca.ReasonCode != 0x86 {
			t.Fatalf("attempt %d: %+v %v", i, ca, err)
		}
	}
	for i := 0; i < 20; i++ {
		_, ca, err := connect5(t, b.Addr(), "m1", "wrong")
		if err == nil || ca == nil || ca.ReasonCode != 0x9f {
			t.Fatalf("throttled attempt %d: %+v %v, want 0x9f", i, ca, err)
		}
	}
	// The right password is refused too while the host is throttled.
	code, conn, err := connect3Raw(b.Addr(), "m1-c", "m1", "pw-m1")
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if code != 0x03 {
		t.Errorf("3.1.1 while throttled: %#x, want 0x03", code)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.auths != 3 {
		t.Errorf("Authenticate called %d times, want 3", rec.auths)
	}
	if got := strings.Join(rec.refused, ","); got != "m1:bad-credentials,m1:bad-credentials,m1:bad-credentials,:logins-throttled" {
		t.Errorf("refusals %s", got)
	}
	if b.Stats().LoginsThrottled != 21 {
		t.Errorf("stats %+v", b.Stats())
	}
}

// docs/mqtt.md: one session per meter; a second connection of the same
// device, with another client ID, takes over and the first is disconnected.
func TestSecondSessionTakesOver(t *testing.T) {
	rec := &recorder{}
	b := startBroker(t, rec)
	dial := func(clientID string, gone chan<- byte) *paho5.Client {
		conn, err := net.Dial("tcp", b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c := paho5.NewClient(paho5.ClientConfig{Conn: conn, OnServerDisconnect: func(d *paho5.Disconnect) { gone <- d.ReasonCode }})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := c.Connect(ctx, &paho5.Connect{KeepAlive: 30, ClientID: clientID, CleanStart: true,
			Username: "m1", UsernameFlag: true, Password: []byte("pw-m1"), PasswordFlag: true}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	gone1, gone2 := make(chan byte, 1), make(chan byte, 1)
	dial("first", gone1)
	second := dial("second", gone2)
	defer second.Disconnect(&paho5.Disconnect{})
	select {
	case code := <-gone1:
		if code != 0x8e {
			t.Errorf("first session ended with %#x, want 0x8e session taken over", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("first session still connected")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if pr, err := second.Publish(ctx, &paho5.Publish{Topic: ReadingsPrefix + "m1", QoS: 1, Payload: []byte("good")}); err != nil || pr.ReasonCode != 0 {
		t.Fatalf("second session: %+v %v", pr, err)
	}
	if n := b.Clients(); n != 1 {
		t.Errorf("%d clients, want 1", n)
	}
	if b.Stats().TakenOver != 1 {
		t.Errorf("stats %+v", b.Stats())
	}
	select {
	case <-gone2:
		t.Error("the newer session was disconnected")
	default:
	}
}

// A device publishing over its budget is refused: 0x96 on MQTT 5, the
// connection ended on 3.1.1.
func TestPublishRateLimit(t *testing.T) {
	rec := &recorder{}
	b := startBroker(t, rec, func(o *Options) { o.Publishes = Limit{Rate: 0.01, Burst: 3} })
	c, _, err := connect5(t, b.Addr(), "m1", "pw-m1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(&paho5.Disconnect{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var codes []byte
	for i := 0; i < 5; i++ {
		pr, err := c.Publish(ctx, &paho5.Publish{Topic: ReadingsPrefix + "m1", QoS: 1, Payload: []byte("good")})
		if pr == nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		codes = append(codes, pr.ReasonCode)
	}
	if !bytes.Equal(codes, []byte{0, 0, 0, CodeRateTooHigh, CodeRateTooHigh}) {
		t.Errorf("reason codes % x", codes)
	}
	opts := paho3.NewClientOptions().AddBroker("tcp://" + b.Addr()).SetClientID("m2-c").
		SetUsername("m2").SetPassword("pw-m2").SetProtocolVersion(4).SetAutoReconnect(false)
	lost := make(chan struct{})
	opts.SetConnectionLostHandler(func(paho3.Client, error) { close(lost) })
	c3 := paho3.NewClient(opts)
	if tok := c3.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c3.Disconnect(100)
	for i := 0; i < 4; i++ {
		c3.Publish(ReadingsPrefix+"m2", 1, false, []byte("good"))
	}
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("3.1.1 device over its budget still connected")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.got) != 6 || b.Stats().RateLimited != 3 {
		t.Errorf("%d readings passed, stats %+v; want 6", len(rec.got), b.Stats())
	}
	if got := strings.Join(rec.refused, ","); got != "m1:rate-limited,m2:rate-limited" {
		t.Errorf("refusals %s", got)
	}
}

// A stranger's refused connections cannot flood the log.
func TestLogBounded(t *testing.T) {
	var buf logbuf.Buffer
	rec := &recorder{}
	b := startBroker(t, rec, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&buf, nil))
		o.FailedLogins = Limit{Rate: -1}
	})
	for i := 0; i < 200; i++ {
		code, conn, err := connect3Raw(b.Addr(), "x", "m1", "wrong")
		if err != nil || code != 0x05 {
			t.Fatalf("attempt %d: %#x %v", i, code, err)
		}
		conn.Close()
	}
	time.Sleep(100 * time.Millisecond)
	lines := strings.Count(buf.String(), "\n")
	if lines > logBurst+5 || lines < 5 {
		t.Errorf("%d log lines for 200 refused logins:\n%s", lines, buf.String())
	}
}
