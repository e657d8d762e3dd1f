package main

import (
	"context"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/netmon"
	"github.com/shuixiao/shuixiao/internal/sim"
)

// TestParkNetworkThroughTheServer runs the simulator's park network against
// the real server: the utility, its meters and the network are registered
// through the API, the instruments' signed readings arrive over MQTT, and
// the leak monitor assembles them into time steps without gaps; the state
// endpoint shows the model set to the measured state. (Detection itself,
// which needs days of network time, is tested in netmon and api on the same
// simulated network.)
func TestParkNetworkThroughTheServer(t *testing.T) {
	t.Parallel() // it mostly waits for the simulator's timers
	dir := t.TempDir()
	srv := startTestServer(t, dir)
	logs, err := os.Create(filepath.Join(t.TempDir(), "sim.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	// One network step (5 network minutes) every 0.3 s.
	const speed = 1000
	s, err := sim.New(sim.Config{MQTT: srv.broker.Addr(), API: srv.URL(), Token: srv.token, DataDir: dir,
		Enterprises: 1, Rate: 0.5, Duration: 10 * time.Second, Seed: 5, ParkNetwork: true, ParkSpeed: speed,
		Log: logs, StatsEvery: -1, Inflight: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	admin := srv.client(srv.token)
	var nets []struct {
		ID      string                `json:"id"`
		Sensors int                   `json:"sensors"`
		Monitor *netmon.NetworkStatus `json:"monitor"`
	}
	must(t, admin.get("/api/v1/networks", &nets))
	if len(nets) != 1 || nets[0].Monitor == nil || nets[0].Monitor.Detector == nil {
		log, _ := os.ReadFile(logs.Name())
		t.Fatalf("networks %+v; simulator log:\n%s", nets, log)
	}
	d := nets[0].Monitor.Detector
	t.Logf("park network %s: %d sensors, %d steps assembled, %d held values, %d skipped, %d late readings",
		nets[0].ID, nets[0].Sensors, d.Steps, d.Assembler.Held, d.Assembler.Skipped, d.Assembler.Late)
	// 10 s at 0.3 s a step: about 30 steps; the last ones wait for late
	// readings, the first may miss sensors still connecting.
	if d.Steps < 10 || d.Assembler.Skipped > 3 || d.Errors != 0 || d.Calibrated {
		t.Errorf("monitor after 10 s: %+v", d)
	}
	var st netmon.State
	at := d.LastStep.Add(-2 * time.Second).Format(time.RFC3339Nano)
	must(t, admin.get("/api/v1/networks/"+url.PathEscape(nets[0].ID)+"/state?time="+url.QueryEscape(at), &st))
	if !st.Measured {
		t.Fatalf("state at %s not measured: %+v", at, st.Sensors)
	}
	for _, sen := range st.Sensors {
		if sen.Measured == nil || math.Abs(*sen.Measured-sen.Modelled) > 0.5+0.02*math.Abs(sen.Modelled) {
			t.Errorf("sensor %s %s: measured %v, modelled %.2f", sen.Kind, sen.Element, sen.Measured, sen.Modelled)
		}
	}
	var zb netmon.ZoneBalance
	must(t, admin.get("/api/v1/networks/"+url.PathEscape(nets[0].ID)+"/zones?bucket_s=900", &zb))
	inflow := 0
	for _, z := range zb.Zones {
		for _, v := range z.Inflow {
			if v != nil {
				inflow++
			}
		}
	}
	if len(zb.Zones) != 3 || inflow == 0 {
		t.Errorf("zone balance: %d zones, %d buckets with inflow", len(zb.Zones), inflow)
	}
}
