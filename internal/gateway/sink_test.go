package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/devicecred"
	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/internal/registry"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

// stack is a real ledger, store, ingest pipeline and registry with one
// enterprise whose discharge point D-1 (interval volume, COD) and intake
// point I-1 (totaliser) are fed by gateway GW-1.
type stack struct {
	st      *sqlite.Store
	lg      *ledger.Log
	p       *ingest.Pipeline
	reg     *registry.Meters
	maps    *Mappings
	signer  note.Signer
	archive string
	t0      time.Time
}

func newStack(t *testing.T) *stack { return newStackB(t) }

func newStackB(t testing.TB) *stack {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "store.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	lg, err := ledger.Open(ctx, ledger.Options{Dir: filepath.Join(dir, "ledger"), Origin: "test.example/gateway"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lg.Close(context.Background()) })
	d := ingest.NewDirectory()
	t0 := time.Now().UTC().Truncate(time.Minute)
	p, err := ingest.New(ingest.Options{Ledger: lg, Store: st, Directory: d, Linger: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	total, _ := meter.StandardChannel("total_m3")
	interval, _ := meter.StandardChannel("interval_m3")
	cod, _ := meter.StandardChannel("cod_mg_l")
	for _, err := range []error{
		st.CreateRegion(ctx, meter.Region{Code: "430000", Name: "湖南省"}),
		st.CreatePark(ctx, meter.Park{ID: "PK", Name: "园区", Region: "430000"}),
		st.CreateEnterprise(ctx, meter.Enterprise{ID: "EN", Name: "企业", Park: "PK", Region: "430000", Industry: "2614"}),
		st.CreatePoint(ctx, meter.Point{ID: "I-1", Enterprise: "EN", Name: "取水", Level: meter.Level1, Stage: meter.StageIntake,
			Source: meter.SourceSurface, Channels: []meter.Channel{total}}),
		st.CreatePoint(ctx, meter.Point{ID: "D-1", Enterprise: "EN", Name: "排口", Level: meter.Level1, Stage: meter.StageDischarge,
			Channels: []meter.Channel{interval, cod}}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	reg := &registry.Meters{Store: st, Ledger: lg, Ingest: p, Devices: devicecred.New(st, d), Now: time.Now}
	skey, vkey, err := note.GenerateKey(rand.Reader, reading.GatewayKeyName("GW-1"))
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	if _, _, err := reg.RegisterGateway(ctx, registry.GatewayRegistration{ID: "GW-1", Key: vkey}); err != nil {
		t.Fatal(err)
	}
	for id, pt := range map[string]string{"V-DIS": "D-1", "V-INT": "I-1"} {
		if _, err := reg.Register(ctx, registry.Registration{ID: id, Point: pt, Gateway: "GW-1"}); err != nil {
			t.Fatal(err)
		}
	}
	return &stack{st: st, lg: lg, p: p, reg: reg, maps: &Mappings{Store: st}, signer: signer, archive: filepath.Join(dir, "frames"), t0: t0}
}

func (s *stack) sink(t *testing.T) *SigningSink { return s.sinkB(t) }

func (s *stack) sinkB(t testing.TB) *SigningSink {
	t.Helper()
	a, err := OpenArchive(s.archive)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	sk, err := NewSigningSink(SinkOptions{Gateway: "GW-1", Signer: s.signer, Registry: s.st, Archive: a, Submit: PipelineSubmitter{s.p}})
	if err != nil {
		t.Fatal(err)
	}
	s.maps.OnChange = sk.Invalidate
	return sk
}

var hjMapping = meter.DeviceMapping{Protocol: "hj212", Device: "88888880000001", Password: "123456", Gateway: "GW-1",
	Fields: []meter.FieldMapping{
		{Field: "w00000-Cou", Meter: "V-DIS", Channel: "interval_m3", Kind: meter.Interval},
		{Field: "w01018-Avg", Meter: "V-DIS", Channel: "cod_mg_l", Kind: meter.Rate},
	}}

var szyMapping = meter.DeviceMapping{Protocol: "szy206", Device: "4301020001", Gateway: "GW-1",
	Fields: []meter.FieldMapping{{Field: "volume", Meter: "V-INT", Channel: "total_m3", Kind: meter.Total, Unit: "L"}}}

func TestSinkSignsArchivesAndSubmits(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	sk := s.sink(t)
	for _, d := range []meter.DeviceMapping{hjMapping, szyMapping} {
		if _, err := s.maps.Put(ctx, d, ""); err != nil {
			t.Fatal(err)
		}
	}
	if info, ok := sk.Device("hj212", "88888880000001"); !ok || info.Password != "123456" {
		t.Fatalf("Device: %+v %v", info, ok)
	}
	if _, ok := sk.Device("hj212", "99999990000009"); ok {
		t.Fatal("unmapped device known")
	}
	frame := Frame{Protocol: "hj212", Device: "88888880000001", Raw: []byte("##0101QN=1;ST=32;CN=2051;…&&4f80\r\n"),
		Time:   s.t0.In(time.FixedZone("CST", 8*3600)),
		Values: map[string]float64{"w00000-Cou": 12.5, "w01018-Avg": 31.2, "w01018-Max": 40, "w00000-Min": 0.1},
		Flags:  map[string]string{"w00000-Cou": "N", "w01018-Avg": "N"}}
	if err := sk.Deliver(ctx, frame); err != nil {
		t.Fatal(err)
	}
	if err := sk.Deliver(ctx, frame); err != nil { // the same bytes again
		t.Fatal(err)
	}
	frame2 := frame
	frame2.Raw = []byte("##0101QN=2;…\r\n")
	frame2.Time = frame.Time.Add(10 * time.Minute)
	frame2.Flags = map[string]string{"w00000-Cou": "N", "w01018-Avg": "D"} // COD analyser fault: left out
	if err := sk.Deliver(ctx, frame2); err != nil {
		t.Fatal(err)
	}
	if err := sk.Deliver(ctx, Frame{Protocol: "szy206", Device: "4301020001", Raw: []byte{0x68, 1, 2}, Time: s.t0,
		Values: map[string]float64{"volume": 1234567}}); err != nil {
		t.Fatal(err)
	}
	if err := sk.Deliver(ctx, Frame{Protocol: "hj212", Device: "99999990000009", Raw: []byte("x"), Time: s.t0,
		Values: map[string]float64{"w00000-Cou": 1}}); !errors.Is(err, ErrUnknownDevice) {
		t.Fatalf("unknown device: %v", err)
	}
	st := sk.Stats()
	if st.Readings != 3 || st.Resent != 1 || st.Unmapped != 4 || st.Flagged != 1 || st.UnknownDevice != 1 {
		t.Fatalf("stats %+v", st)
	}
	r2, err := s.st.ReadingBySeq(ctx, "V-DIS", 2)
	if err != nil || len(r2.Values) != 1 {
		t.Fatalf("second discharge reading: %+v %v", r2, err)
	}
	ri, err := s.st.ReadingBySeq(ctx, "V-INT", 1)
	if err != nil || len(ri.Values) != 1 || ri.Values[0].Value != 1234.567 {
		t.Fatalf("intake reading (L → m³): %+v %v", ri, err)
	}
	// The ledger holds the gateway-signed note; its frame line is the raw frame's hash.
	var found bool
	size, _ := s.lg.Size(ctx)
	if err := s.lg.Entries(ctx, 0, size, func(i uint64, e []byte) error {
		if reading.Kind(e) != reading.Header {
			return nil
		}
		r, err := reading.Parse(e)
		if err != nil {
			return err
		}
		if r.Meter == "V-DIS" && r.Seq == 1 {
			found = true
			if r.Trust() != reading.TrustGateway || r.Via.Frame != reading.FrameHash(frame.Raw) || r.Via.Device != "88888880000001" || r.Via.Protocol != "hj212" {
				t.Errorf("ledger reading %+v via %+v", r, r.Via)
			}
			if !strings.Contains(string(e), "\n— gateway/GW-1 ") {
				t.Errorf("not signed by the gateway: %q", e)
			}
		}
		return nil
	}); err != nil || !found {
		t.Fatalf("ledger scan: %v, found %v", err, found)
	}
	// The archive holds every frame that made readings, with their hashes.
	var recs []*reading.FrameRecord
	if err := ScanArchive(s.archive, func(r *reading.FrameRecord) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || string(recs[0].Raw) != string(frame.Raw) || recs[0].Readings[0].Meter != "V-DIS" || recs[0].Readings[0].Seq != 1 {
		t.Fatalf("archive: %d records, first %+v", len(recs), recs[0])
	}
	// A restarted gateway continues each chain where the archive ends.
	sk2 := s.sink(t)
	frame3 := frame2
	frame3.Raw = []byte("##0101QN=3;…\r\n")
	frame3.Time = frame2.Time.Add(10 * time.Minute)
	frame3.Period = time.Hour // hourly data: dated at the hour's end
	if err := sk2.Deliver(ctx, frame3); err != nil {
		t.Fatal(err)
	}
	if r, err := s.st.ReadingBySeq(ctx, "V-DIS", 3); err != nil || r.Flags&store.FlagGap != 0 || !r.Time.Equal(frame3.Time.Add(time.Hour)) {
		t.Fatalf("after restart: %+v %v (a gap flag means the chain broke; time must be the period's end)", r, err)
	}
	if err := sk2.Deliver(ctx, frame); err != nil || sk2.Stats().Resent != 1 {
		t.Fatalf("a frame archived before the restart is known: %v %+v", err, sk2.Stats())
	}
}

func TestMappingsChecksTheRegistry(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	bad := func(mut func(d *meter.DeviceMapping)) meter.DeviceMapping {
		d := hjMapping
		d.Fields = append([]meter.FieldMapping(nil), hjMapping.Fields...)
		mut(&d)
		return d
	}
	for name, c := range map[string]struct {
		d    meter.DeviceMapping
		kind error
	}{
		"unknown gateway": {bad(func(d *meter.DeviceMapping) { d.Gateway = "GW-9" }), ErrInvalid},
		"unknown meter":   {bad(func(d *meter.DeviceMapping) { d.Fields[0].Meter = "NOPE" }), ErrInvalid},
		"unknown channel": {bad(func(d *meter.DeviceMapping) { d.Fields[0].Channel = "flow_m3h" }), ErrInvalid},
		"kind mismatch":   {bad(func(d *meter.DeviceMapping) { d.Fields[0].Kind = meter.Total }), ErrInvalid},
		"tonnes unstated": {bad(func(d *meter.DeviceMapping) { d.Fields[0].Unit = "t" }), ErrInvalid},
		"no fields":       {bad(func(d *meter.DeviceMapping) { d.Fields = nil }), ErrInvalid},
		"bad protocol":    {bad(func(d *meter.DeviceMapping) { d.Protocol = "dlt645" }), ErrInvalid},
	} {
		if _, err := s.maps.Put(ctx, c.d, ""); !errors.Is(err, c.kind) {
			t.Errorf("%s: %v, want %v", name, err, c.kind)
		}
	}
	ok := bad(func(d *meter.DeviceMapping) { d.Fields[0].Unit = "t"; d.Fields[0].TonneIsCubicMetre = true })
	if _, err := s.maps.Put(ctx, ok, "short"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("short push token: %v", err)
	}
	got, err := s.maps.Put(ctx, ok, "a long enough push token")
	if err != nil || got.PushTokenHash != "" {
		t.Fatalf("put: %+v %v", got, err)
	}
	if !s.maps.Authorize(ctx, "hj212", "88888880000001", []byte("a long enough push token")) ||
		s.maps.Authorize(ctx, "hj212", "88888880000001", []byte("a long enough push tokeN")) {
		t.Fatal("push token check")
	}
	// Re-putting without a token keeps the token.
	if _, err := s.maps.Put(ctx, ok, ""); err != nil || !s.maps.Authorize(ctx, "hj212", "88888880000001", []byte("a long enough push token")) {
		t.Fatalf("token kept: %v", err)
	}
	if _, err := s.reg.RevokeGateway(ctx, "GW-1", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.maps.Put(ctx, ok, ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("mapping to a revoked gateway: %v", err)
	}
	if err := s.maps.Delete(ctx, "hj212", "88888880000001"); err != nil {
		t.Fatal(err)
	}
	if l, err := s.maps.List(ctx, ""); err != nil || len(l) != 0 {
		t.Fatalf("after delete: %+v %v", l, err)
	}
}

// TestPushJSON: an NB-IoT platform's JSON push for a device with a push
// token becomes a gateway-signed reading whose frame is the body received;
// a wrong token or a bad body makes none.
func TestPushJSON(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	sk := s.sink(t)
	d := meter.DeviceMapping{Protocol: "push", Device: "NB-0001", Gateway: "GW-1",
		Fields: []meter.FieldMapping{{Field: "vol", Meter: "V-INT", Channel: "total_m3", Kind: meter.Total, Unit: "L"}}}
	if _, err := s.maps.Put(ctx, d, "nb-iot platform token"); err != nil {
		t.Fatal(err)
	}
	p := &Pusher{Mappings: s.maps, Sink: sk}
	body := []byte(`{"device":"NB-0001","time":"` + s.t0.Format(time.RFC3339) + `","values":{"vol":2500}}`)
	if _, err := p.Push(ctx, "push", "", []byte("not the token"), body); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("wrong token: %v", err)
	}
	if _, err := p.Push(ctx, "push", "", []byte("nb-iot platform token"), []byte(`{"device":"NB-0001"`)); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("bad body: %v", err)
	}
	if _, err := p.Push(ctx, "hj212", "", []byte("nb-iot platform token"), body); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("protocol without a decoder: %v", err)
	}
	if _, err := p.Push(ctx, "push", "", []byte("nb-iot platform token"), body); err != nil {
		t.Fatal(err)
	}
	r, err := s.st.ReadingBySeq(ctx, "V-INT", 1)
	if err != nil || r.Values[0].Value != 2.5 {
		t.Fatalf("pushed reading %+v %v", r, err)
	}
	var raw []byte
	if err := ScanArchive(s.archive, func(rec *reading.FrameRecord) error { raw = rec.Raw; return nil }); err != nil || string(raw) != string(body) {
		t.Fatalf("archived frame %q (%v), want the body", raw, err)
	}
}
