package szy206gw

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/gateway"
	"github.com/shuixiao/shuixiao/internal/gateway/framesrv"
	"github.com/shuixiao/shuixiao/internal/gateway/gatewaytest"
	"github.com/shuixiao/shuixiao/szy206"
)

// The self-report published with the JetLinks SZY 206 codec (flow 5.9, volume 106182,
// time label day 9 08:45:00) and the reference's constructed login and its answer.
const (
	jetlinksReport = "681A68B35303810D00C00059000000826110000001106000004508090A3516"
	login          = "68086880430100010002F04316"
	loginAnswer    = "6808680043010001000200AA16"
)

var (
	now     = time.Date(2026, 12, 6, 22, 0, 0, 0, szy206.Beijing)
	devices = gatewaytest.Devices{gateway.ProtocolSZY206: {"5303810D00": "", "4301000100": ""}}
)

func hexBytes(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type rig struct {
	srv  *Server
	sink *gatewaytest.Sink
	addr string
}

func start(t *testing.T, cfg Config) *rig {
	t.Helper()
	cfg.Now = func() time.Time { return now }
	sink := &gatewaytest.Sink{}
	srv := New(cfg, devices, sink, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, framesrv.ErrClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return &rig{srv: srv, sink: sink, addr: ln.Addr().String()}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func exchange(t *testing.T, c net.Conn, send []byte, n int, d time.Duration) []byte {
	t.Helper()
	if _, err := c.Write(send); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(d))
	b := make([]byte, n)
	k, _ := io.ReadFull(c, b)
	return b[:k]
}

func eventually(cond func() bool) {
	for deadline := time.Now().Add(5 * time.Second); !cond() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLoginAndReport(t *testing.T) {
	r := start(t, Config{})
	c := dial(t, r.addr)
	if got := exchange(t, c, hexBytes(t, login), 13, 5*time.Second); !bytes.Equal(got, hexBytes(t, loginAnswer)) {
		t.Fatalf("login answer %X, want %s", got, loginAnswer)
	}
	c2 := dial(t, r.addr)
	report := hexBytes(t, jetlinksReport)
	got := exchange(t, c2, report, 13, 5*time.Second)
	ans, err := szy206.Parse(got)
	if err != nil || ans.Control.Up() || ans.AFN != szy206.AFNSelfRT || ans.Address.String() != "5303810D00" {
		t.Fatalf("report answer %X: %+v %v", got, ans, err)
	}
	fs := r.sink.Frames()
	if len(fs) != 1 {
		t.Fatalf("%d frames", len(fs))
	}
	f := fs[0]
	if f.Protocol != "szy206" || f.Device != "5303810D00" || !bytes.Equal(f.Raw, report) ||
		f.Values["flow1"] != 5.9 || f.Values["volume1"] != 106182 || len(f.Values) != 2 ||
		f.Time.Format(time.RFC3339) != "2026-11-09T08:45:00+08:00" {
		t.Fatalf("frame %+v", f)
	}
	eventually(func() bool { return r.srv.Stats().Replies == 2 })
	if st := r.srv.Stats(); st.LinkChecks != 1 || st.Delivered != 1 || st.Answered != 1 || st.Replies != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestGarbageBadCRCAndSplit sends garbage, a report with a bad CS and a report split in
// two frames, in one write: the bad one yields nothing, the split one one reading.
func TestGarbageBadCRCAndSplit(t *testing.T) {
	r := start(t, Config{})
	c := dial(t, r.addr)
	bad := hexBytes(t, jetlinksReport)
	bad[12] ^= 0x01
	addr := szy206.Address{0x43, 0x01, 0x00, 0x01, 0x00}
	data, err := szy206.EncodeReport(szy206.Report{Function: 3, Values: []szy206.Value{{Name: "flow1", Value: 0.25},
		{Name: "volume1", Value: 1200}}, Time: now.Add(-time.Minute)}, szy206.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var stream, parts []byte
	stream = append(stream, 0x68, 0x00, 0xFF, 0x68)
	stream = append(stream, bad...)
	for i, d := range [][]byte{data[:7], data[7:]} {
		raw, _ := szy206.Frame{Control: szy206.NewControl(true, true, 0, 3), DIVS: byte(2 - i), Address: addr,
			AFN: szy206.AFNSelfRT, Data: d}.Encode()
		stream = append(stream, raw...)
		parts = append(parts, raw...)
	}
	got := exchange(t, c, stream, 13, 5*time.Second)
	if ans, err := szy206.Parse(got); err != nil || ans.Address != addr {
		t.Fatalf("answer %X: %v", got, err)
	}
	fs := r.sink.Frames()
	if len(fs) != 1 || fs[0].Values["flow1"] != 0.25 || fs[0].Values["volume1"] != 1200 || !bytes.Equal(fs[0].Raw, parts) {
		t.Fatalf("frames %+v", fs)
	}
	if st := r.srv.Stats(); st.BadCRC != 1 || st.Delivered != 1 || st.Garbage < 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestRefusals(t *testing.T) {
	r := start(t, Config{Config: framesrv.Config{FrameTimeout: 200 * time.Millisecond}})
	// Unknown terminal: closed, nothing delivered.
	c := dial(t, r.addr)
	raw := hexBytes(t, jetlinksReport)
	f, _ := szy206.Parse(raw)
	f.Address[4] = 0x99
	unknown, _ := f.Encode()
	if got := exchange(t, c, unknown, 1, 5*time.Second); len(got) != 0 {
		t.Errorf("answered an unknown terminal: %X", got)
	}
	// Data that is not BCD: no reading, no answer.
	c = dial(t, r.addr)
	f, _ = szy206.Parse(raw)
	f.Data = append([]byte(nil), f.Data...)
	f.Data[0] = 0xAB
	nonBCD, _ := f.Encode()
	if got := exchange(t, c, nonBCD, 1, 300*time.Millisecond); len(got) != 0 {
		t.Errorf("answered a bad report: %X", got)
	}
	// The Sink fails: not answered.
	r.sink.Fail(errors.New("store down"))
	if got := exchange(t, c, raw, 1, 300*time.Millisecond); len(got) != 0 {
		t.Errorf("answered a report the Sink did not take: %X", got)
	}
	eventually(func() bool { return r.srv.Stats().SinkErrors == 1 })
	r.sink.Fail(nil)
	// A stalled peer.
	s := dial(t, r.addr)
	if got := exchange(t, s, raw[:10], 1, 5*time.Second); len(got) != 0 {
		t.Errorf("stalled peer answered: %X", got)
	}
	eventually(func() bool { return r.srv.Stats().Stalled == 1 })
	st := r.srv.Stats()
	if len(r.sink.Frames()) != 0 || st.UnknownDevice != 1 || st.BadData != 1 || st.SinkErrors != 1 || st.Stalled != 1 {
		t.Errorf("frames %d, stats %+v", len(r.sink.Frames()), st)
	}
}

// TestStreamAndNoise: a peer whose frames keep straddling its writes is never taken for a
// stalled one (each frame has its own deadline); a peer that sends only noise is cut off
// after MaxGarbage bytes.
func TestStreamAndNoise(t *testing.T) {
	r := start(t, Config{Config: framesrv.Config{FrameTimeout: 300 * time.Millisecond, MaxGarbage: 100}})
	c := dial(t, r.addr)
	frame := hexBytes(t, login)
	var stream []byte
	for range 8 {
		stream = append(stream, frame...)
	}
	go func() {
		for i := 0; i < len(stream); i += 13 {
			c.Write(stream[i : i+13][:7]) // a frame's head ends this write …
			time.Sleep(60 * time.Millisecond)
			c.Write(stream[i : i+13][7:]) // … its tail starts the next
		}
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, 8*13)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("answers: %v (stats %+v)", err, r.srv.Stats())
	}
	noisy := dial(t, r.addr)
	noisy.Write(bytes.Repeat([]byte{0x55}, 150))
	noisy.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := noisy.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("noisy peer: %v", err)
	}
	eventually(func() bool { return r.srv.Stats().Noise == 1 })
	if st := r.srv.Stats(); st.Stalled != 0 || st.LinkChecks != 8 || st.Noise != 1 {
		t.Errorf("stats %+v", st)
	}
}
