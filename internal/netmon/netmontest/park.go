// Package netmontest puts the simulator's demo park network in a real
// SQLite store for tests of the leak monitor and its API: a park, its
// water utility, one metering point and meter per sensor, the registered
// network, and readings committed one step at a time from parknet.Model
// with sensor noise, as the ingest pipeline would commit them.
package netmontest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/netmon"
	"github.com/shuixiao/shuixiao/internal/sim/parknet"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// IDs of the registry objects NewPark creates.
const (
	ParkID     = "PK1"
	UtilityID  = "UT1"
	NetworkID  = "NET-1"
	InflowPt   = "PT-P-IN"
	OtherEntID = "EN2" // another enterprise of the park, not the operator
)

// sensor is one instrument of the test park.
type sensor struct {
	kind, element, channel string
}

// sensors is a sparse sensor set of the demo park: pressures in each zone,
// the inflow, the booster pump and the tank.
var sensors = []sensor{
	{netmon.KindPressure, "T01", "pressure_mpa"}, {netmon.KindPressure, "A13", "pressure_mpa"}, {netmon.KindPressure, "A16", "pressure_mpa"},
	{netmon.KindPressure, "B09", "pressure_mpa"}, {netmon.KindPressure, "C08", "pressure_mpa"}, {netmon.KindPressure, "C18", "pressure_mpa"},
	{netmon.KindFlow, "P-IN", "flow_m3h"}, {netmon.KindFlow, "PU1", "flow_m3h"}, {netmon.KindLevel, "TK1", "level_m"},
}

// Park is the demo park network in a store.
type Park struct {
	Store  *sqlite.Store
	Config netmon.Config
	// Origin is the real time of the simulation's network second 0 (a
	// local midnight).
	Origin time.Time
	Model  *parknet.Model
	meters []string
	seq    []uint64
	noise  *mrand.Rand
}

// NewPark opens a store in dir, registers the park, its utility with one
// point and meter per sensor, another enterprise of the park, and (if
// register) the network itself with the given calibration period.
func NewPark(t testing.TB, dir string, calibrationDays float64, seed int64, register bool) *Park {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(dir, "store.db"), sqlite.Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreatePark(ctx, meter.Park{ID: ParkID, Name: "示范园区", Region: "430300"}))
	must(st.CreateEnterprise(ctx, meter.Enterprise{ID: UtilityID, Name: "园区水务", Park: ParkID, Region: "430300"}))
	must(st.CreateEnterprise(ctx, meter.Enterprise{ID: OtherEntID, Name: "园区企业", Park: ParkID, Region: "430300"}))
	model, err := parknet.New(seed, 0)
	must(err)
	clock := netmon.Clock{Speed: 1}
	p := &Park{Store: st, Model: model, noise: mrand.New(mrand.NewPCG(uint64(seed), 7)),
		Origin: clock.Instant(clock.Seconds(time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)) / 86400 * 86400),
		Config: netmon.Config{Detection: netmon.Detection{CalibrationDays: calibrationDays, CalibrationMargin: 2.5}, Clock: clock}}
	for _, s := range sensors {
		pt := "PT-" + s.element
		channels := []meter.Channel{}
		for _, name := range []string{s.channel, "total_m3"} {
			if name == "total_m3" && s.kind != netmon.KindFlow {
				continue
			}
			c, _ := meter.StandardChannel(name)
			channels = append(channels, c)
		}
		must(st.CreatePoint(ctx, meter.Point{ID: pt, Enterprise: UtilityID, Name: "测点 " + s.element, Level: meter.Level3, Stage: meter.StageSupply, Channels: channels}))
		_, vkey, err := note.GenerateKey(rand.Reader, reading.KeyName("M-"+pt))
		must(err)
		must(st.CreateMeter(ctx, meter.Meter{ID: "M-" + pt, Point: pt, Key: vkey, Signed: meter.SignedByMeter, Registered: p.Origin.Add(-time.Hour), Interval: 5 * time.Minute}))
		p.Config.Sensors = append(p.Config.Sensors, netmon.Sensor{Kind: s.kind, Element: s.element, Point: pt})
		p.meters = append(p.meters, "M-"+pt)
		p.seq = append(p.seq, 0)
	}
	p.Config.Zones = []netmon.Zone{{ID: "ALL", Name: "全园区", NameEN: "Whole park", Inflows: []netmon.ZoneMeter{{Point: InflowPt, Link: "P-IN"}}}}
	if register {
		_, err = st.PutNetwork(ctx, store.Network{ID: NetworkID, Name: "园区管网", Park: ParkID, Enterprise: UtilityID,
			INP: string(parknet.INP()), Config: p.ConfigJSON(t), Updated: p.Origin.Add(-time.Minute)})
		must(err)
	}
	return p
}

// ConfigJSON returns the monitoring configuration as registered.
func (p *Park) ConfigJSON(t testing.TB) json.RawMessage {
	raw, err := json.Marshal(p.Config)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// At is the real time of network second T.
func (p *Park) At(T int64) time.Time { return p.Origin.Add(time.Duration(T) * time.Second) }

// Step advances the model to network time T, commits one reading per
// sensor (with noise: 0.02 m of pressure, 0.5 % of flow, 5 mm of level)
// and returns the commit as the pipeline hands it on.
func (p *Park) Step(t testing.TB, T int64) *ingest.Committed {
	t.Helper()
	if err := p.Model.Advance(T); err != nil {
		t.Fatal(err)
	}
	at := p.At(T)
	b := &store.Batch{}
	for k, s := range sensors {
		var v float64
		var err error
		values := []store.Value{}
		switch s.kind {
		case netmon.KindPressure:
			v, err = p.Model.Pressure(s.element)
			v = (v + 0.02*p.noise.NormFloat64()) / netmon.MetresPerMPa
		case netmon.KindLevel:
			v, err = p.Model.Pressure(s.element)
			v += 0.005 * p.noise.NormFloat64()
		default:
			v, err = p.Model.Flow(s.element)
			v *= 1 + 0.005*p.noise.NormFloat64()
			// A register that counts a day's flow per reading is enough for
			// consumption queries; the monitor reads the flow.
			values = append(values, store.Value{Channel: "total_m3", Value: float64(T) / 3600 * 100})
		}
		if err != nil {
			t.Fatal(err)
		}
		p.seq[k]++
		values = append(values, store.Value{Channel: s.channel, Value: v})
		b.Readings = append(b.Readings, store.Reading{Meter: p.meters[k], Seq: p.seq[k], Time: at, Received: at,
			Hash: reading.Hash(sha256.Sum256(fmt.Appendf(nil, "%s/%d", p.meters[k], p.seq[k]))), Values: values})
	}
	if err := p.Store.Commit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return &ingest.Committed{Readings: b.Readings}
}

// FakeNow is a clock a test moves.
type FakeNow struct {
	mu sync.Mutex
	t  time.Time
}

// NewFakeNow returns a clock at t.
func NewFakeNow(t time.Time) *FakeNow { return &FakeNow{t: t} }

// Now returns the clock's time.
func (f *FakeNow) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

// Set moves the clock.
func (f *FakeNow) Set(t time.Time) {
	f.mu.Lock()
	f.t = t
	f.mu.Unlock()
}

// WaitFor polls cond until it holds, failing the test after 30 s.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Feed runs the simulation from network time from to to (multiples of
// 300 s), handing each commit to committed and then waiting until the
// monitor has assembled all but the last two steps (so that no step is
// assembled before its readings were seen). It stops early, after the
// step at which stop returns true.
func (p *Park) Feed(t testing.TB, from, to int64, clock *FakeNow, committed func(*ingest.Committed), assembled func() int, stop func() bool) int64 {
	t.Helper()
	for T := from; T <= to; T += 300 {
		committed(p.Step(t, T))
		clock.Set(p.At(T))
		want := int(T/300) - 1
		WaitFor(t, fmt.Sprintf("step %d to be assembled", T/300), func() bool { return assembled() >= want })
		if stop != nil && stop() {
			return T + 300
		}
	}
	return to + 300
}
