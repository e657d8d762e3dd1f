package modbusgw

import (
	"context"
	"io"
	"log"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/shuixiao/shuixiao/internal/gateway/gatewaytest"
)

func TestDecodeTypesAndWordOrders(t *testing.T) {
	f32 := math.Float32bits(123.456)
	hi, lo := uint16(f32>>16), uint16(f32)
	swap := func(v uint16) uint16 { return v<<8 | v>>8 }
	f64 := math.Float64bits(-98765.4321)
	w := []uint16{uint16(f64 >> 48), uint16(f64 >> 32), uint16(f64 >> 16), uint16(f64)}
	for _, c := range []struct {
		r    Register
		regs []uint16
		want float64
	}{
		{Register{Type: "uint16", WordOrder: "big"}, []uint16{0xFFFE}, 65534},
		{Register{Type: "int16", WordOrder: "big"}, []uint16{0xFFFE}, -2},
		{Register{Type: "int16", WordOrder: "swapped"}, []uint16{0xFEFF}, -2},
		{Register{Type: "uint32", WordOrder: "big"}, []uint16{0x0001, 0x0002}, 65538},
		{Register{Type: "uint32", WordOrder: "little"}, []uint16{0x0002, 0x0001}, 65538},
		{Register{Type: "int32", WordOrder: "swapped"}, []uint16{0xFFFF, 0xFEFF}, -2},
		{Register{Type: "int32", WordOrder: "little-swapped"}, []uint16{0xFEFF, 0xFFFF}, -2},
		{Register{Type: "float32", WordOrder: "big"}, []uint16{hi, lo}, float64(float32(123.456))},
		{Register{Type: "float32", WordOrder: "CDAB"}, []uint16{lo, hi}, float64(float32(123.456))},
		{Register{Type: "float32", WordOrder: "badc"}, []uint16{swap(hi), swap(lo)}, float64(float32(123.456))},
		{Register{Type: "float64", WordOrder: "big"}, w, -98765.4321},
		{Register{Type: "float64", WordOrder: "little"}, []uint16{w[3], w[2], w[1], w[0]}, -98765.4321},
		{Register{Type: "uint32", WordOrder: "big", Scale: 0.01, Offset: -5}, []uint16{0, 12345}, 118.45},
	} {
		if c.r.Scale == 0 {
			c.r.Scale = 1
		}
		got, err := c.r.Decode(c.regs)
		if err != nil || math.Abs(got-c.want) > 1e-9*math.Max(1, math.Abs(c.want)) {
			t.Errorf("%s %s % X: %v %v, want %v", c.r.Type, c.r.WordOrder, c.regs, got, err, c.want)
		}
	}
	nan := math.Float32bits(float32(math.NaN()))
	if _, err := (Register{Type: "float32", WordOrder: "big", Scale: 1}).Decode([]uint16{uint16(nan >> 16), uint16(nan)}); err == nil {
		t.Error("NaN decoded")
	}
}

func TestParseConfigErrors(t *testing.T) {
	good := `{"devices":[{"address":"127.0.0.1:502","unit":1,"interval":"1s","registers":[{"name":"flow","function":"holding","address":0,"type":"float32"}]}]}`
	c, err := ParseConfig([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Devices[0].Registers[0]; r.WordOrder != "big" || r.Scale != 1 || c.Devices[0].Timeout != Duration(2*time.Second) {
		t.Errorf("defaults %+v %+v", r, c.Devices[0])
	}
	for _, c := range []struct{ from, to, want string }{
		{`"float32"`, `"float16"`, "registers[0] (flow): unknown type"},
		{`"holding"`, `"coil"`, "function \"coil\""},
		{`"127.0.0.1:502"`, `"nowhere"`, "devices[0].address"},
		{`"type":"float32"`, `"type":"float32","word_order":"middle"`, "word order"},
		{`"address":0,`, `"address":65535,`, "past 65535"},
		{`"interval":"1s"`, `"interval":"soon"`, "register map"},
		{`"unit":1`, `"unit":1,"colour":"red"`, "unknown field"},
	} {
		_, err := ParseConfig([]byte(strings.Replace(good, c.from, c.to, 1)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s → %s: %v, want %q", c.from, c.to, err, c.want)
		}
	}
}

func TestPlanBlocks(t *testing.T) {
	regs := []Register{
		{Name: "a", Function: "holding", Address: 0, Type: "float32"},
		{Name: "b", Function: "holding", Address: 2, Type: "uint32"},
		{Name: "e", Function: "holding", Address: 6, Type: "uint16"},
		{Name: "c", Function: "holding", Address: 200, Type: "float64"},
		{Name: "d", Function: "input", Address: 0, Type: "int16"},
	}
	bs := plan(regs)
	if len(bs) != 4 || bs[0].start != 0 || bs[0].count != 4 || len(bs[0].regs) != 2 || bs[1].start != 6 || bs[2].start != 200 ||
		bs[2].count != 4 || !bs[3].input {
		t.Errorf("plan %+v", bs)
	}
}

// device is an in-process Modbus TCP server (the library's own) holding registers per
// unit; unit 9 answers too late.
type device struct {
	mu      sync.Mutex
	holding map[uint16]uint16
	input   map[uint16]uint16
	delay   time.Duration
}

func (d *device) read(m map[uint16]uint16, unit uint8, addr, n uint16) ([]uint16, error) {
	if unit == 9 {
		time.Sleep(d.delay)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]uint16, n)
	for i := range out {
		v, ok := m[addr+uint16(i)]
		if !ok {
			return nil, modbus.ErrIllegalDataAddress
		}
		out[i] = v
	}
	return out, nil
}

func (d *device) HandleCoils(*modbus.CoilsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}
func (d *device) HandleDiscreteInputs(*modbus.DiscreteInputsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}
func (d *device) HandleHoldingRegisters(r *modbus.HoldingRegistersRequest) ([]uint16, error) {
	return d.read(d.holding, r.UnitId, r.Addr, r.Quantity)
}
func (d *device) HandleInputRegisters(r *modbus.InputRegistersRequest) ([]uint16, error) {
	return d.read(d.input, r.UnitId, r.Addr, r.Quantity)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func serve(t *testing.T, addr string, d *device) *modbus.ModbusServer {
	t.Helper()
	srv, err := modbus.NewServer(&modbus.ServerConfiguration{URL: "tcp://" + addr, Timeout: 10 * time.Second, MaxClients: 10,
		Logger: log.New(io.Discard, "", 0)}, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	return srv
}

func wait(cond func() bool) {
	for deadline := time.Now().Add(10 * time.Second); !cond() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPollRealServer polls an in-process Modbus TCP server: the values come through
// with their types, word orders and scales; a unit that answers late and a register the
// device lacks yield no frame; the device going away and coming back is survived.
func TestPollRealServer(t *testing.T) {
	flow := math.Float32bits(12.5)
	dev := &device{delay: 600 * time.Millisecond,
		holding: map[uint16]uint16{0: uint16(flow), 1: uint16(flow >> 16), 2: 0x0001, 3: 0x86A0, 10: 0xFFF6},
		input:   map[uint16]uint16{5: 731}}
	addr := freeAddr(t)
	srv := serve(t, addr, dev)
	cfgJSON := `{"devices":[
	 {"address":"` + addr + `","unit":1,"interval":"100ms","timeout":"1s","registers":[
	   {"name":"flow","function":"holding","address":0,"type":"float32","word_order":"little","unit":"m3/h"},
	   {"name":"total","function":"holding","address":2,"type":"uint32","scale":0.1,"unit":"m3"},
	   {"name":"temp","function":"holding","address":10,"type":"int16","scale":0.1,"offset":20},
	   {"name":"ph","function":"input","address":5,"type":"uint16","scale":0.01}]},
	 {"address":"` + addr + `","unit":9,"interval":"100ms","timeout":"200ms","registers":[
	   {"name":"slow","function":"input","address":5,"type":"uint16"}]},
	 {"address":"` + addr + `","unit":2,"interval":"100ms","timeout":"1s","registers":[
	   {"name":"missing","function":"holding","address":500,"type":"uint16"}]}]}`
	cfg, err := ParseConfig([]byte(cfgJSON))
	if err != nil {
		t.Fatal(err)
	}
	sink := &gatewaytest.Sink{}
	p, err := New(cfg, sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		srv.Stop()
	}()
	fs := sink.Wait(2, 10*time.Second)
	if len(fs) < 2 {
		t.Fatalf("%d frames, stats %+v", len(fs), p.Stats())
	}
	f := fs[0]
	want := map[string]float64{"flow": 12.5, "total": 10000, "temp": 19, "ph": 7.31}
	if f.Protocol != "modbus" || f.Device != addr+"/1" || len(f.Values) != len(want) || len(f.Raw) != 5+2*4+5+2+5+2 {
		t.Fatalf("frame %+v", f)
	}
	for k, v := range want {
		if math.Abs(f.Values[k]-v) > 1e-9 {
			t.Errorf("%s = %v, want %v", k, f.Values[k], v)
		}
	}
	wait(func() bool { st := p.Stats(); return st.Timeouts >= 1 && st.Exceptions >= 1 })
	for _, f := range sink.Frames() {
		if f.Device != addr+"/1" {
			t.Fatalf("a frame from a failed poll: %+v", f)
		}
	}
	if st := p.Stats(); st.Timeouts < 1 || st.Exceptions < 1 {
		t.Fatalf("stats %+v", st)
	}

	// The device goes away: polls fail, nothing is delivered; it comes back: polls resume.
	srv.Stop()
	before := p.Stats()
	wait(func() bool { return p.Stats().Failed >= before.Failed+3 })
	n := len(sink.Frames())
	time.Sleep(250 * time.Millisecond)
	if got := len(sink.Frames()); got > n+1 { // at most one poll in flight when it went
		t.Errorf("%d frames delivered while the device was away", got-n)
	}
	srv = serve(t, addr, dev)
	connects := p.Stats().Connects
	wait(func() bool { return len(sink.Frames()) > n+2 && p.Stats().Connects > connects })
	if st := p.Stats(); st.Connects <= connects || len(sink.Frames()) <= n+2 {
		t.Errorf("did not resume: stats %+v, frames %d → %d", st, n, len(sink.Frames()))
	}
}
