package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/sim"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// TestSimLegacyDevices runs the simulator with HJ 212 outfalls and SZY 206
// intake meters against the server's gateways: their readings arrive
// gateway-signed beside the other meters' meter-signed ones, and the
// injections (bad CRC, wrong password, split packets, reconnect storm) are
// refused or taken as the standard asks, never turning into readings of
// their own.
func TestSimLegacyDevices(t *testing.T) {
	t.Parallel() // it mostly waits for the simulator's timers
	dir := t.TempDir()
	srv, err := openServer(context.Background(), serverConfig{Data: dir, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Gateways: gatewayConfig{ID: "GW-SERVER", HJ212: "127.0.0.1:0", SZY206: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	logPath := filepath.Join(t.TempDir(), "sim.log")
	logs, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	s, err := sim.New(sim.Config{MQTT: srv.broker.Addr(), API: srv.URL(), Token: srv.token, DataDir: dir,
		Enterprises: 2, Rate: 2, Duration: 15 * time.Second, Seed: 5, Log: logs, StatsEvery: -1,
		HJ212: srv.GatewayAddr("hj212"), SZY206: srv.GatewayAddr("szy206"), Gateway: "GW-SERVER",
		Inject:      []string{"hj212-bad-crc", "hj212-wrong-password", "hj212-split", "reconnect-storm"},
		InjectAfter: time.Second, InjectEvery: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if len(s.InjectionReports()) != 4 {
		logText, _ := os.ReadFile(logPath)
		t.Fatalf("injections: %+v\n%s", s.InjectionReports(), logText)
	}
	ls := s.LegacyStats()
	// Every outfall speaks HJ 212, every intake meter of enterprise 0 SZY
	// 206; the bad CRC and the wrong password are the two refusals.
	want := uint64(0)
	for i, e := range s.Province().Enterprises {
		for _, pt := range e.Points {
			if pt.Stage == meter.StageDischarge && pt.Meter.Signed == meter.SignedByGateway || i == 0 && pt.Stage == meter.StageIntake {
				want++
			}
		}
	}
	if ls.Devices != want || ls.Answered < 10 || ls.Refused != 2 || ls.Dials < 20 {
		logText, _ := os.ReadFile(logPath)
		t.Fatalf("legacy stats %+v, want %d devices\n%s", ls, want, logText)
	}
	c := srv.client(srv.token)
	var stats struct {
		Sink  struct{ Readings, Resent uint64 }
		HJ212 struct {
			BadCRC        int64 `json:"BadCRC"`
			WrongPassword int64 `json:"WrongPassword"`
		} `json:"hj212"`
	}
	must(t, c.get("/api/v1/gateway/stats", &stats))
	if stats.HJ212.BadCRC != 1 || stats.HJ212.WrongPassword != 1 {
		t.Errorf("HJ 212 gateway counted %d bad CRCs and %d wrong passwords, want 1 and 1", stats.HJ212.BadCRC, stats.HJ212.WrongPassword)
	}
	// Each answered frame made one reading, or was a byte-for-byte resend
	// (an SZY 206 report within the same minute with the same values).
	if stats.Sink.Readings == 0 || stats.Sink.Readings+stats.Sink.Resent != ls.Answered {
		t.Errorf("gateway readings %d + resent %d, frames answered %d", stats.Sink.Readings, stats.Sink.Resent, ls.Answered)
	}
	levels := map[string]int{}
	for _, e := range s.Province().Enterprises {
		for _, pt := range e.Points {
			var m struct{ ID, Trust string }
			d := s.Device(pt.Meter.ID)
			if d == nil {
				continue
			}
			must(t, c.get("/api/v1/meters/"+d.ID, &m))
			levels[m.Trust]++
			var out struct {
				Items []struct{ Trust string }
			}
			must(t, c.get("/api/v1/readings?meter="+d.ID, &out))
			if len(out.Items) == 0 {
				t.Errorf("%s (%s): no readings", d.ID, m.Trust)
			}
			if pt.Stage == meter.StageDischarge && pt.Meter.Signed == meter.SignedByGateway && m.Trust != reading.TrustGateway {
				t.Errorf("outfall %s is %s", d.ID, m.Trust)
			}
		}
	}
	if levels[reading.TrustGateway] != int(want) || levels[reading.TrustMeter] == 0 {
		t.Fatalf("trust levels of the meters %v", levels)
	}
}
