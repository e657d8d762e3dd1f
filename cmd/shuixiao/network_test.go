package main

import (
	"context"
	"errors"
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
	// One network step (5 network minutes) every 0.3 s. The simulator
	// publishes until the monitor has assembled wantSteps, not for a fixed
	// time: registering the network through the API takes most of 10 s on
	// a busy machine, and a fixed run then assembled no step at all.
	const speed, wantSteps = 1000, 25
	s, err := sim.New(sim.Config{MQTT: srv.broker.Addr(), API: srv.URL(), Token: srv.token, DataDir: dir,
		Enterprises: 1, Rate: 0.5, Seed: 5, ParkNetwork: true, ParkSpeed: speed,
		Log: logs, StatsEvery: -1, Inflight: 4})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	admin := srv.client(srv.token)
	var nets []struct {
		ID      string                `json:"id"`
		Sensors int                   `json:"sensors"`
		Monitor *netmon.NetworkStatus `json:"monitor"`
	}
	for ctx.Err() == nil {
		time.Sleep(300 * time.Millisecond)
		nets = nil
		if err := admin.get("/api/v1/networks", &nets); err == nil && len(nets) == 1 && nets[0].Monitor != nil &&
			nets[0].Monitor.Detector != nil && nets[0].Monitor.Detector.Steps >= wantSteps {
			break
		}
	}
	cancel()
	if err := <-ran; err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the last readings in flight reach the monitor
	nets = nil
	must(t, admin.get("/api/v1/networks", &nets))
	if len(nets) != 1 || nets[0].Monitor == nil || nets[0].Monitor.Detector == nil {
		log, _ := os.ReadFile(logs.Name())
		t.Fatalf("networks %+v; simulator log:\n%s", nets, log)
	}
	d := nets[0].Monitor.Detector
	t.Logf("park network %s: %d sensors, %d steps assembled, %d held values, %d skipped, %d late readings",
		nets[0].ID, nets[0].Sensors, d.Steps, d.Assembler.Held, d.Assembler.Skipped, d.Assembler.Late)
	// The last steps wait for late readings, the first may miss sensors
	// still connecting.
	if d.Steps < wantSteps || d.Assembler.Skipped > 3 || d.Errors != 0 || d.Calibrated {
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
