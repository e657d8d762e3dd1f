package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/simonvetter/modbus"

	"github.com/shuixiao/shuixiao/cjt188"
	"github.com/shuixiao/shuixiao/hj212"
	"github.com/shuixiao/shuixiao/internal/gateway"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/szy206"
)

// TestGatewayEndToEnd is issue 15's "done when": an HJ 212 analyser and an
// SZY 206 intake meter report over TCP to the server's gateways; their
// frames become gateway-signed readings in the ledger and the store; the
// enterprise's balance shows their volumes and the trust level behind each
// point; `verify log` accepts them, names the gateway and re-checks every
// one against the raw frames it archived. Frames that fail their checks
// (bad CRC, wrong password) make no reading, and an NB-IoT push needs the
// device's token.
func TestGatewayEndToEnd(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := openServer(ctx, serverConfig{Data: dir, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Gateways: gatewayConfig{ID: "GW-SERVER", HJ212: "127.0.0.1:0", SZY206: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			s.Close(ctx)
		}
	}()
	c := s.client(s.token)
	total, _ := meter.StandardChannel("total_m3")
	flow, _ := meter.StandardChannel("flow_m3h")
	interval, _ := meter.StandardChannel("interval_m3")
	cod, _ := meter.StandardChannel("cod_mg_l")
	must(t, c.post("/api/v1/parks", meter.Park{ID: "PK", Name: "园区", Region: "430300"}, nil))
	must(t, c.post("/api/v1/enterprises", meter.Enterprise{ID: "E", Name: "企业", Park: "PK", Region: "430300", Industry: "2614"}, nil))
	must(t, c.post("/api/v1/points", meter.Point{ID: "P-IN", Enterprise: "E", Name: "取水口", Level: meter.Level1, Stage: meter.StageIntake,
		Source: meter.SourceSurface, Channels: []meter.Channel{total, flow}}, nil))
	must(t, c.post("/api/v1/points", meter.Point{ID: "P-OUT", Enterprise: "E", Name: "总排口", Level: meter.Level1, Stage: meter.StageDischarge,
		Channels: []meter.Channel{interval, cod}}, nil))
	// A meter-signed native meter's key stays its own: no gateway may sign for it.
	native := newMeter(t, "M-NATIVE", "P-IN")
	must(t, c.post("/api/v1/meters", map[string]any{"id": native.id, "point": native.point, "key": native.vkey}, nil))
	for id, pt := range map[string]string{"V-IN": "P-IN", "V-OUT": "P-OUT"} {
		var m struct{ Trust, Gateway string }
		must(t, c.post("/api/v1/meters", map[string]any{"id": id, "point": pt, "gateway": "GW-SERVER", "interval_s": 60}, &m))
		if m.Trust != reading.TrustGateway || m.Gateway != "GW-SERVER" {
			t.Fatalf("meter %s registered as %+v", id, m)
		}
	}
	const mn = "88888880000001"
	must(t, c.post("/api/v1/gateway-devices", map[string]any{"protocol": "hj212", "device": mn, "password": "123456", "gateway": "GW-SERVER",
		"push_token": "push-token-of-the-analyser",
		"fields": []map[string]any{
			{"field": "w00000-Cou", "meter": "V-OUT", "channel": "interval_m3", "kind": "interval"},
			{"field": "w01018-Avg", "meter": "V-OUT", "channel": "cod_mg_l", "kind": "rate"},
		}}, nil))
	addr := szy206.Address{0x43, 0x03, 0x00, 0x01, 0x00}
	must(t, c.post("/api/v1/gateway-devices", map[string]any{"protocol": "szy206", "device": addr.String(), "gateway": "GW-SERVER",
		"fields": []map[string]any{
			{"field": "volume1", "meter": "V-IN", "channel": "total_m3", "kind": "total"},
			{"field": "flow1", "meter": "V-IN", "channel": "flow_m3h", "kind": "rate", "unit": "m3/s"},
		}}, nil))
	if code, err := c.do("POST", "/api/v1/gateway-devices", map[string]any{"protocol": "hj212", "device": "X1", "gateway": "GW-SERVER",
		"fields": []map[string]any{{"field": "w00000-Cou", "meter": "M-NATIVE", "channel": "total_m3", "kind": "total"}}}, nil); code != http.StatusConflict {
		t.Fatalf("mapping a device to a meter-signed meter: %d %v", code, err)
	}

	now := time.Now().In(hj212.China).Truncate(time.Minute)
	// HJ 212 over TCP: a bad CRC and a wrong password first, then two hours of data.
	hc, err := net.Dial("tcp", s.GatewayAddr("hj212"))
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	hr := bufio.NewReader(hc)
	hjFrame := func(qn int, pw string, at time.Time, cou, codv float64) []byte {
		b, err := hj212.Build(hj212.Packet{QN: hj212.FormatQN(at.Add(time.Duration(qn) * time.Millisecond)), ST: "32", CN: hj212.CNHour, PW: pw, MN: mn,
			Flag: 5, HasFlag: true, CP: fmt.Sprintf("DataTime=%s;w00000-Cou=%g,w00000-Flag=N;w01018-Avg=%g,w01018-Flag=N", hj212.FormatTime(at), cou, codv)})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	bad := hjFrame(1, "123456", now.Add(-2*time.Hour), 99, 99)
	bad[len(bad)-4] ^= 0x01 // the CRC's last digit
	hc.Write(bad)
	hc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if line, err := hr.ReadString('\n'); err != nil || !strings.Contains(line, "CN=9011;") || !strings.Contains(line, "QnRtn=9") {
		t.Fatalf("HJ 212 answer to a bad CRC %q: %v", line, err)
	}
	for i, v := range []struct{ cou, codv float64 }{{120.5, 31.2}, {98.25, 28.7}} {
		hc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := hc.Write(hjFrame(i+2, "123456", now.Add(time.Duration(i-2)*time.Hour), v.cou, v.codv)); err != nil {
			t.Fatal(err)
		}
		line, err := hr.ReadString('\n')
		if err != nil || !strings.Contains(line, "CN=9014;") {
			t.Fatalf("HJ 212 data answer %q: %v", line, err)
		}
	}
	wrong, err := net.Dial("tcp", s.GatewayAddr("hj212"))
	if err != nil {
		t.Fatal(err)
	}
	wrong.Write(hjFrame(9, "654321", now.Add(-time.Hour), 500, 1))
	wrong.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.Copy(io.Discard, wrong) // the gateway answers as the standard asks and closes
	wrong.Close()

	// SZY 206 over TCP: two self-reports of the intake meter's totaliser and flow.
	zc, err := net.Dial("tcp", s.GatewayAddr("szy206"))
	if err != nil {
		t.Fatal(err)
	}
	defer zc.Close()
	for i, v := range []struct{ flow, vol float64 }{{0.05, 106182}, {0.06, 106282}} {
		data, err := szy206.EncodeReport(szy206.Report{Function: 3, Values: []szy206.Value{{Name: "flow1", Value: v.flow}, {Name: "volume1", Value: v.vol}},
			Time: now.Add(time.Duration(i-20) * time.Minute)}, szy206.Options{})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := szy206.Frame{Control: szy206.NewControl(true, false, 0, 3), Address: addr, AFN: szy206.AFNSelfRT, Data: data}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		zc.SetReadDeadline(time.Now().Add(10 * time.Second))
		zc.Write(raw)
		ans := make([]byte, 64)
		n, err := zc.Read(ans)
		if err != nil {
			t.Fatalf("SZY 206 answer: %v", err)
		}
		if f, err := szy206.Parse(ans[:n]); err != nil || f.Address != addr || f.Control.Up() {
			t.Fatalf("SZY 206 answer % X: %v", ans[:n], err)
		}
	}

	// The readings are in the store, gateway-signed, with their values converted.
	var out struct {
		Items []struct {
			Seq    uint64
			Trust  string
			Values map[string]float64
		}
		Trust, Gateway string
	}
	must(t, c.get("/api/v1/readings?meter=V-OUT&order=asc", &out))
	if len(out.Items) != 2 || out.Trust != reading.TrustGateway || out.Gateway != "GW-SERVER" || out.Items[0].Trust != reading.TrustGateway ||
		out.Items[0].Values["interval_m3"] != 120.5 || out.Items[1].Values["cod_mg_l"] != 28.7 {
		t.Fatalf("discharge readings %+v", out)
	}
	must(t, c.get("/api/v1/readings?meter=V-IN&order=asc", &out))
	if len(out.Items) != 2 || out.Items[1].Values["total_m3"] != 106282 || out.Items[1].Values["flow_m3h"] != 216 {
		t.Fatalf("intake readings %+v", out)
	}
	var series struct {
		Trust struct {
			Level    string
			Meters   map[string]string
			Gateways []string
		}
	}
	must(t, c.get("/api/v1/series?point=P-IN&channel=total_m3", &series))
	if series.Trust.Level != "mixed" || series.Trust.Meters["V-IN"] != reading.TrustGateway || series.Trust.Meters["M-NATIVE"] != reading.TrustMeter ||
		len(series.Trust.Gateways) != 1 {
		t.Fatalf("series trust %+v", series.Trust)
	}
	// The enterprise's balance: the volumes the gateways delivered, and the trust behind each point.
	var bal struct {
		Volumes map[string]float64
		Trust   struct {
			Level  string
			Points map[string]struct{ Level string }
		}
	}
	day := now.Add(-20 * time.Minute).Format(time.DateOnly)
	must(t, c.get("/api/v1/enterprises/E/balance?date="+day, &bal))
	if bal.Trust.Points["P-OUT"].Level != reading.TrustGateway || bal.Trust.Points["P-IN"].Level != "mixed" || bal.Trust.Level != "mixed" {
		t.Fatalf("balance trust %+v", bal.Trust)
	}
	// Hourly data are dated at their hour's end (now-1h and now); near
	// midnight the readings fall on two days and the sums are not checked.
	if now.Add(-2*time.Hour).Format(time.DateOnly) == now.Format(time.DateOnly) && (bal.Volumes["P-IN"] != 100 || bal.Volumes["P-OUT"] != 218.75) {
		t.Fatalf("balance volumes %+v (want 100 m³ in, 218.75 m³ out)", bal.Volumes)
	}

	// An NB-IoT push: refused without the device's token, taken with it.
	push := func(token string, body []byte) int {
		req, _ := http.NewRequest("POST", s.URL()+"/api/v1/gateway/push/hj212", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	pushed := hjFrame(20, "123456", now.Add(-30*time.Minute), 10, 20)
	if code := push("not-the-token-of-the-analyser", pushed); code != http.StatusUnauthorized {
		t.Fatalf("push with a wrong token: %d", code)
	}
	if code := push("push-token-of-the-analyser", pushed); code != http.StatusOK {
		t.Fatalf("push: %d", code)
	}
	var stats struct {
		Sink  struct{ Readings, Unmapped uint64 }
		HJ212 struct {
			BadCRC, WrongPassword int64
		} `json:"hj212"`
	}
	must(t, c.get("/api/v1/gateway/stats", &stats))
	if stats.Sink.Readings != 5 {
		t.Fatalf("gateway stats %+v", stats)
	}

	// The auditor: verify log accepts the gateway-signed readings, names the
	// gateway and finds every one's raw frame in the archive.
	s.Close(ctx)
	closed = true
	var vout, verr bytes.Buffer
	args := []string{"log", filepath.Join(dir, "ledger", "log"), "--log-key", filepath.Join(dir, "ledger", "log.vkey"),
		"--frames", filepath.Join(dir, "gateway", "frames"), "--json"}
	if code := verifyMain(ctx, args, &vout, &verr); code != 0 {
		t.Fatalf("verify log: exit %d\n%s\n%s", code, vout.String(), verr.String())
	}
	var rep struct {
		GatewaySigned uint64 `json:"gateway_signed"`
		Gateways      []struct {
			Gateway  string
			Readings uint64
		}
		Frames struct{ Checked, Missing uint64 }
	}
	if err := json.Unmarshal(vout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.GatewaySigned != 5 || len(rep.Gateways) != 1 || rep.Gateways[0].Gateway != "GW-SERVER" || rep.Frames.Checked != 5 || rep.Frames.Missing != 0 {
		t.Fatalf("verify report %s", vout.String())
	}
	vout.Reset()
	if code := verifyMain(ctx, args[:len(args)-1], &vout, &verr); code != 0 || !strings.Contains(vout.String(), "网关 gateway GW-SERVER: 5 readings of 2 meters") {
		t.Fatalf("verify log text (exit %d):\n%s", code, vout.String())
	}
}

// TestEdgeForwardsOverMQTT: an edge box signs an HJ 212 analyser's frame
// with its own key, forwards the reading over MQTT as its gateway, and
// answers the device only once the central server acknowledged it; after
// the gateway's key is revoked centrally its readings are refused and the
// device is not answered.
func TestEdgeForwardsOverMQTT(t *testing.T) {
	s := startTestServer(t, t.TempDir())
	c := s.client(s.token)
	edgeDir := t.TempDir()
	_, vkey, err := gateway.LoadOrCreateKey(filepath.Join(edgeDir, "GW-EDGE.key"), "GW-EDGE")
	if err != nil {
		t.Fatal(err)
	}
	interval, _ := meter.StandardChannel("interval_m3")
	pt := meter.Point{ID: "P-OUT", Enterprise: "E", Name: "总排口", Level: meter.Level1, Stage: meter.StageDischarge, Channels: []meter.Channel{interval}}
	must(t, c.post("/api/v1/parks", meter.Park{ID: "PK", Name: "园区", Region: "430300"}, nil))
	must(t, c.post("/api/v1/enterprises", meter.Enterprise{ID: "E", Name: "企业", Park: "PK", Region: "430300", Industry: "2614"}, nil))
	must(t, c.post("/api/v1/points", pt, nil))
	must(t, c.post("/api/v1/gateways", map[string]any{"id": "GW-EDGE", "key": vkey, "enterprise": "E", "mqtt_password": "edge-box-password-1"}, nil))
	must(t, c.post("/api/v1/meters", map[string]any{"id": "V-E", "point": "P-OUT", "gateway": "GW-EDGE"}, nil))
	const mn = "88888880000077"
	mapping := meter.DeviceMapping{Protocol: "hj212", Device: mn, Password: "123456", Gateway: "GW-EDGE",
		Fields: []meter.FieldMapping{{Field: "w00000-Cou", Meter: "V-E", Channel: "interval_m3", Kind: meter.Interval}}}
	regFile := filepath.Join(edgeDir, "registry.json")
	b, _ := json.Marshal(map[string]any{"devices": []meter.DeviceMapping{mapping},
		"meters": []meter.Meter{{ID: "V-E", Point: "P-OUT", Signed: meter.SignedByGateway, Gateway: "GW-EDGE"}}, "points": []meter.Point{pt}})
	must(t, os.WriteFile(regFile, b, 0o600))
	e, err := openEdge(edgeConfig{Gateways: gatewayConfig{ID: "GW-EDGE", HJ212: "127.0.0.1:0"}, Data: edgeDir, Registry: regFile,
		MQTT: s.broker.Addr(), MQTTPassword: "edge-box-password-1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	conn, err := net.Dial("tcp", e.servers.addrs["hj212"])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	now := time.Now().In(hj212.China).Truncate(time.Minute)
	send := func(qn int, at time.Time, cou float64) (string, error) {
		f, err := hj212.Build(hj212.Packet{QN: hj212.FormatQN(at.Add(time.Duration(qn) * time.Millisecond)), ST: "32", CN: hj212.CNHour, PW: "123456", MN: mn,
			Flag: 5, HasFlag: true, CP: fmt.Sprintf("DataTime=%s;w00000-Cou=%g,w00000-Flag=N", hj212.FormatTime(at), cou)})
		if err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		conn.Write(f)
		return r.ReadString('\n')
	}
	if line, err := send(1, now.Add(-time.Hour), 42.5); err != nil || !strings.Contains(line, "CN=9014;") {
		t.Fatalf("edge answer %q: %v", line, err)
	}
	var out struct {
		Items []struct {
			Trust  string
			Values map[string]float64
		}
	}
	must(t, c.get("/api/v1/readings?meter=V-E", &out))
	if len(out.Items) != 1 || out.Items[0].Trust != reading.TrustGateway || out.Items[0].Values["interval_m3"] != 42.5 {
		t.Fatalf("central readings %+v", out)
	}
	must(t, c.post("/api/v1/gateways/GW-EDGE/revoke", map[string]any{"reason": "box stolen"}, nil))
	if line, err := send(2, now, 10); err == nil {
		t.Fatalf("a revoked gateway's frame answered %q", line)
	}
	must(t, c.get("/api/v1/readings?meter=V-E", &out))
	if len(out.Items) != 1 {
		t.Fatalf("a revoked gateway's reading stored: %+v", out)
	}
}

// modbusDevice is a Modbus TCP flowmeter whose totaliser register stands still.
type modbusDevice struct{}

func (modbusDevice) HandleCoils(*modbus.CoilsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}
func (modbusDevice) HandleDiscreteInputs(*modbus.DiscreteInputsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}
func (modbusDevice) HandleInputRegisters(*modbus.InputRegistersRequest) ([]uint16, error) {
	return nil, modbus.ErrIllegalFunction
}
func (modbusDevice) HandleHoldingRegisters(r *modbus.HoldingRegistersRequest) ([]uint16, error) {
	if r.Addr != 0 || r.Quantity != 2 {
		return nil, modbus.ErrIllegalDataAddress
	}
	return []uint16{0x0001, 0x86A0}, nil // 100000 × 0.1 L… read as 10000.0 L
}

// TestServeModbus: serve --modbus polls a flowmeter; each poll of its
// unchanged totaliser is a new gateway-signed reading (same bytes, another
// time), converted from litres to m³.
func TestServeModbus(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	mb, err := modbus.NewServer(&modbus.ServerConfiguration{URL: "tcp://" + addr, Timeout: 10 * time.Second, MaxClients: 4}, modbusDevice{})
	if err != nil {
		t.Fatal(err)
	}
	if err := mb.Start(); err != nil {
		t.Fatal(err)
	}
	defer mb.Stop()
	dir := t.TempDir()
	mapFile := filepath.Join(dir, "modbus.json")
	must(t, os.WriteFile(mapFile, []byte(`{"devices":[{"address":"`+addr+`","unit":1,"interval":"200ms","timeout":"1s",
	  "registers":[{"name":"total","function":"holding","address":0,"type":"uint32","scale":0.1,"unit":"L"}]}]}`), 0o600))
	s, err := openServer(context.Background(), serverConfig{Data: filepath.Join(dir, "data"), HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Gateways: gatewayConfig{ID: "GW-SERVER", Modbus: mapFile}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	c := s.client(s.token)
	total, _ := meter.StandardChannel("total_m3")
	must(t, c.post("/api/v1/parks", meter.Park{ID: "PK", Name: "园区", Region: "430300"}, nil))
	must(t, c.post("/api/v1/enterprises", meter.Enterprise{ID: "E", Name: "企业", Park: "PK", Region: "430300", Industry: "2614"}, nil))
	must(t, c.post("/api/v1/points", meter.Point{ID: "P-IN", Enterprise: "E", Name: "取水", Level: meter.Level1, Stage: meter.StageIntake,
		Source: meter.SourceSurface, Channels: []meter.Channel{total}}, nil))
	must(t, c.post("/api/v1/meters", map[string]any{"id": "V-MB", "point": "P-IN", "gateway": "GW-SERVER"}, nil))
	must(t, c.post("/api/v1/gateway-devices", map[string]any{"protocol": "modbus", "device": addr + "/1", "gateway": "GW-SERVER",
		"fields": []map[string]any{{"field": "total", "meter": "V-MB", "channel": "total_m3", "kind": "total", "unit": "L"}}}, nil))
	var out struct {
		Items []struct {
			Trust  string
			Values map[string]float64
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		must(t, c.get("/api/v1/readings?meter=V-MB", &out))
		if len(out.Items) >= 3 || time.Now().After(deadline) {
			break
		}
	}
	if len(out.Items) < 3 || out.Items[0].Trust != reading.TrustGateway || out.Items[0].Values["total_m3"] != 10 {
		t.Fatalf("Modbus readings %+v", out.Items)
	}
}

// TestGatewayPushCJT188: a CJ/T 188 water meter's read-data reply pushed
// by its NB-IoT platform becomes a gateway-signed total_m3 reading in the
// store, dated by the meter's clock, or by the receive time when the meter
// sends none (the verified sample frame); a bad checksum, a frame of
// another device than the request names and a wrong token make none.
func TestGatewayPushCJT188(t *testing.T) {
	ctx := context.Background()
	s, err := openServer(ctx, serverConfig{Data: t.TempDir(), HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Gateways: gatewayConfig{ID: "GW-SERVER", Enable: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	c := s.client(s.token)
	total, _ := meter.StandardChannel("total_m3")
	must(t, c.post("/api/v1/parks", meter.Park{ID: "PK", Name: "园区", Region: "430300"}, nil))
	must(t, c.post("/api/v1/enterprises", meter.Enterprise{ID: "E", Name: "企业", Park: "PK", Region: "430300", Industry: "2614"}, nil))
	must(t, c.post("/api/v1/points", meter.Point{ID: "P-W", Enterprise: "E", Name: "生活水表", Level: meter.Level1, Stage: meter.StageIntake,
		Source: meter.SourceSurface, Channels: []meter.Channel{total}}, nil))
	must(t, c.post("/api/v1/meters", map[string]any{"id": "W-1", "point": "P-W", "gateway": "GW-SERVER", "interval_s": 3600}, nil))
	const device = "00000000000012" // the sample's address bytes 12 00 … 00, A0 first
	must(t, c.post("/api/v1/gateway-devices", map[string]any{"protocol": "cjt188", "device": device, "gateway": "GW-SERVER",
		"push_token": "token-of-the-water-meter",
		"fields":     []map[string]any{{"field": "total_m3", "meter": "W-1", "channel": "total_m3", "kind": "total"}}}, nil))

	push := func(query, token string, body []byte) int {
		req, _ := http.NewRequest("POST", s.URL()+"/api/v1/gateway/push/cjt188"+query, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	a, _ := cjt188.ParseAddress(device)
	clock := time.Now().In(cjt188.China).Add(-10 * time.Minute).Truncate(time.Second)
	f, err := cjt188.MeterDataReply(cjt188.TypeColdWater, a, cjt188.MeterData{Total: cjt188.Quantity{Value: 999.5, Unit: 0x2C},
		Settlement: cjt188.Quantity{Value: 990, Unit: 0x2C}, Time: clock})
	if err != nil {
		t.Fatal(err)
	}
	clocked, _ := f.Build(2)
	badCS := bytes.Clone(clocked)
	badCS[len(badCS)-2]++
	// The verified sample reply: 1000.10 m³, the meter's clock all zeros.
	sample := []byte{0x68, 0x10, 0x12, 0, 0, 0, 0, 0, 0, 0x81, 0x16, 0x90, 0x1F, 0x00, 0x10, 0x00, 0x10, 0x00, 0x2C,
		0x10, 0x00, 0x10, 0x00, 0x2C, 0, 0, 0, 0, 0, 0, 0, 0x00, 0xFF, 0x67, 0x16}
	for _, c := range []struct {
		name, query, token string
		body               []byte
		want               int
	}{
		{"bad CS", "", "token-of-the-water-meter", badCS, http.StatusBadRequest},
		{"other device", "?device=00000000000013", "token-of-the-water-meter", clocked, http.StatusBadRequest},
		{"wrong token", "", "not-the-token-of-the-meter", clocked, http.StatusUnauthorized},
		{"clocked", "?device=" + device, "token-of-the-water-meter", clocked, http.StatusOK},
		{"sample", "", "token-of-the-water-meter", sample, http.StatusOK},
	} {
		if code := push(c.query, c.token, c.body); code != c.want {
			t.Fatalf("%s: %d, want %d", c.name, code, c.want)
		}
	}
	received := time.Now()
	var out struct {
		Items []struct {
			Time   time.Time
			Trust  string
			Values map[string]float64
		}
		Trust, Gateway string
	}
	must(t, c.get("/api/v1/readings?meter=W-1&order=asc", &out))
	if len(out.Items) != 2 || out.Trust != reading.TrustGateway || out.Gateway != "GW-SERVER" ||
		out.Items[0].Values["total_m3"] != 999.5 || !out.Items[0].Time.Equal(clock) ||
		out.Items[1].Values["total_m3"] != 1000.10 || out.Items[1].Trust != reading.TrustGateway ||
		out.Items[1].Time.Before(clock) || out.Items[1].Time.After(received) {
		t.Fatalf("readings %+v (meter clock %v, received by %v)", out, clock, received)
	}
}
