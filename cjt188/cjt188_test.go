package cjt188

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The request/reply pair from python_cjt188's comments, checked by hand
// (reference notes, standards.md §8, verify/cjt188.py).
const (
	verifiedRequest = "FEFEFE681012000000000000010390 1F003D16"
	verifiedReply   = "68101200000000000081169 01F0010001000 2C10001000 2C00000000000000 00FF6716"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVerifiedPair: the sample's address bytes are 12 00 00 00 00 00 00 on
// the wire. The reference notes print them "12000000000000" in wire order;
// the layout says A0 (low byte) first, so the number printed high digits
// first, as on a meter's label, is 00000000000012.
func TestVerifiedPair(t *testing.T) {
	a, err := ParseAddress("00000000000012")
	if err != nil || a != (Address{0x12}) {
		t.Fatal(a, err)
	}
	req, err := ReadData(TypeColdWater, a, 0).Build(3)
	if err != nil {
		t.Fatal(err)
	}
	if want := mustHex(t, verifiedRequest); !bytes.Equal(req, want) {
		t.Fatalf("request % X, want % X", req, want)
	}
	f, err := Parse(mustHex(t, verifiedReply))
	if err != nil {
		t.Fatal(err)
	}
	if f.Type != TypeColdWater || f.Address != (Address{0x12}) || f.Address.String() != "00000000000012" || f.Control != 0x81 || !f.Reply() || f.Error() ||
		f.Function() != CtrlReadData || len(f.Data) != 22 {
		t.Fatalf("frame %+v", f)
	}
	d, err := DecodeMeterData(f.Data)
	if err != nil {
		t.Fatal(err)
	}
	if d.Total != (Quantity{1000.10, 0x2C}) || d.Settlement != (Quantity{1000.10, 0x2C}) || !d.Time.IsZero() || d.Status != [2]byte{0x00, 0xFF} || d.SER != 0 {
		t.Fatalf("data %+v", d)
	}
	v, err := d.Values()
	if err != nil || v["total_m3"] != 1000.10 || v["settlement_m3"] != 1000.10 || len(v) != 2 {
		t.Fatalf("values %v %v", v, err)
	}
	if d.Valve() != ValveOpen || d.BatteryLow() {
		t.Fatalf("status: valve %s battery low %v", d.Valve(), d.BatteryLow())
	}
	// The reply written back is byte for byte the sample.
	r, err := MeterDataReply(TypeColdWater, a, d)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := r.Build(0); !bytes.Equal(b, mustHex(t, verifiedReply)) {
		t.Fatalf("reply % X", b)
	}
}

func TestChecksum(t *testing.T) {
	req := mustHex(t, verifiedRequest)
	if cs := Checksum(req[3 : len(req)-2]); cs != 0x3D {
		t.Fatalf("request CS %02X, want 3D", cs)
	}
	rep := mustHex(t, verifiedReply)
	if cs := Checksum(rep[:len(rep)-2]); cs != 0x67 {
		t.Fatalf("reply CS %02X, want 67", cs)
	}
	if Checksum([]byte{0xFF, 0x02}) != 0x01 || Checksum(nil) != 0 {
		t.Fatal("CS does not wrap modulo 256")
	}
}

func TestParseErrors(t *testing.T) {
	good := mustHex(t, verifiedReply)
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := []struct {
		name  string
		in    []byte
		err   error
		field string
	}{
		{"empty", nil, ErrShort, "no bytes"},
		{"only preamble", []byte{0xFE, 0xFE}, ErrShort, "2 preamble"},
		{"bad start", mod(func(b []byte) []byte { b[0] = 0x69; return b }), ErrStart, "69H"},
		{"short", good[:12], ErrShort, "12 bytes"},
		{"truncated", good[:len(good)-1], ErrLength, "L=22"},
		{"trailing", append(bytes.Clone(good), 0x00), ErrLength, "got 36"},
		{"L too large", mod(func(b []byte) []byte { b[10]++; return b }), ErrLength, "L=23"},
		{"bad CS", mod(func(b []byte) []byte { b[len(b)-2]++; return b }), ErrChecksum, "CS is 68H"},
		{"bit flip in data", mod(func(b []byte) []byte { b[15] ^= 0x01; return b }), ErrChecksum, "sum to 68H"},
		{"bad end", mod(func(b []byte) []byte { b[len(b)-1] = 0x17; return b }), ErrEnd, "17H"},
		{"address not BCD", mod(func(b []byte) []byte { b[2] = 0x1A; b[len(b)-2] += 0x08; return b }), ErrAddress, "0000000000001A"},
	}
	for _, c := range cases {
		_, err := Parse(c.in)
		if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v, want %v naming %q", c.name, err, c.err, c.field)
		}
	}
	// The broadcast address is taken (a read-address request).
	b, _ := ReadAddress(TypeColdWater, 1).Build(2)
	if f, err := Parse(b); err != nil || f.Address != BroadcastAddress || f.Address.String() != "AAAAAAAAAAAAAA" {
		t.Fatalf("read address: %+v %v", f, err)
	}
}

func TestDecodeMeterDataErrors(t *testing.T) {
	f, _ := Parse(mustHex(t, verifiedReply))
	mod := func(i int, v byte) []byte { b := bytes.Clone(f.Data); b[i] = v; return b }
	cases := []struct {
		name, field string
		in          []byte
	}{
		{"other DI", "DI", mod(0, 0x91)},
		{"short", "21 bytes", f.Data[:21]},
		{"current not BCD", "current cumulative flow: byte 1 (A0H)", mod(4, 0xA0)},
		{"settlement not BCD", "settlement-day cumulative flow: byte 0 (0FH)", mod(8, 0x0F)},
		{"time not BCD", "real time: byte 2 (3BH)", mod(15, 0x3B)},
		{"no date", "real time: 0000-00-31", mod(16, 0x31)},
	}
	for _, c := range cases {
		_, err := DecodeMeterData(c.in)
		if !errors.Is(err, ErrData) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v, want naming %q", c.name, err, c.field)
		}
	}
	d, _ := DecodeMeterData(f.Data)
	d.Total.Unit = 0x05 // kWh
	if _, err := d.Values(); err == nil || !strings.Contains(err.Error(), "current cumulative flow: unit kWh (05H) is no volume") {
		t.Errorf("kWh: %v", err)
	}
	d.Total.Unit, d.Settlement.Unit = 0x2C, 0x77
	if _, err := d.Values(); err == nil || !strings.Contains(err.Error(), "settlement-day cumulative flow: unit code 77H is unknown") {
		t.Errorf("unknown unit: %v", err)
	}
	d.Settlement = Quantity{1234.5, 0x29} // litres (unverified)
	if v, err := d.Values(); err != nil || v["settlement_m3"] != 1.2345 {
		t.Errorf("litres: %v %v", v, err)
	}
	for _, bad := range []float64{-0.01, 1e6} {
		d.Total.Value = bad
		if _, err := d.Encode(); err == nil || !strings.Contains(err.Error(), "current cumulative flow") {
			t.Errorf("encode %v: %v", bad, err)
		}
	}
}

func TestTimeAndStatus(t *testing.T) {
	at := time.Date(2026, 12, 7, 8, 30, 5, 0, China)
	d := MeterData{Total: Quantity{12.34, 0x2C}, Settlement: Quantity{10, 0x2C}, Time: at, Status: [2]byte{0x05, 0}}
	b, err := d.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x05, 0x30, 0x08, 0x07, 0x12, 0x26, 0x20}; !bytes.Equal(b[13:20], want) {
		t.Fatalf("time bytes % X, want % X", b[13:20], want)
	}
	got, err := DecodeMeterData(b)
	if err != nil || !got.Time.Equal(at) || got.Valve() != ValveClosed || !got.BatteryLow() {
		t.Fatalf("%+v %v", got, err)
	}
	got.Status[0] = 0x03
	if got.Valve() != ValveAbnormal {
		t.Fatal(got.Valve())
	}
	got.Status[0] = 0x02
	if got.Valve() != ValveUnknown {
		t.Fatal(got.Valve())
	}
}

func TestAddress(t *testing.T) {
	a, err := ParseAddress("43010200001234")
	if err != nil || a != (Address{0x34, 0x12, 0x00, 0x00, 0x02, 0x01, 0x43}) || a.String() != "43010200001234" {
		t.Fatalf("%v %v", a, err)
	}
	for _, bad := range []string{"", "4301020000123", "4301020000123X", "430102000012345"} {
		if _, err := ParseAddress(bad); !errors.Is(err, ErrAddress) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestSplit(t *testing.T) {
	req, _ := ReadData(TypeColdWater, Address{1}, 7).Build(4)
	rep := mustHex(t, verifiedReply)
	stream := append(append([]byte{0x00, 0x68, 0x01}, req...), rep...)
	var frames [][]byte
	for len(stream) > 0 {
		f, n, ok := Split(stream)
		if !ok {
			if n == 0 {
				break
			}
			stream = stream[n:]
			continue
		}
		frames = append(frames, f)
		stream = stream[n:]
	}
	if len(frames) != 2 || !bytes.Equal(frames[0], req[4:]) || !bytes.Equal(frames[1], rep) {
		t.Fatalf("frames % X", frames)
	}
	// An incomplete frame waits for more bytes.
	if _, n, ok := Split(append([]byte{0xFE, 0xFE}, rep[:20]...)); ok || n != 2 {
		t.Fatalf("incomplete: n=%d ok=%v", n, ok)
	}
}

func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 88))
	for i := range 2000 {
		var a Address
		for j := range a {
			a[j] = byte(r.IntN(10))<<4 | byte(r.IntN(10))
		}
		f := Frame{Type: byte(r.IntN(256)), Address: a, Control: byte(r.IntN(256)), Data: make([]byte, r.IntN(256))}
		for j := range f.Data {
			f.Data[j] = byte(r.IntN(256))
		}
		b, err := f.Build(r.IntN(5))
		if err != nil {
			t.Fatal(err)
		}
		g, err := Parse(b)
		if err != nil || !reflect.DeepEqual(normal(f), normal(g)) {
			t.Fatalf("frame %d: %+v\n%+v %v", i, f, g, err)
		}
		d := MeterData{SER: byte(r.IntN(256)), Total: Quantity{float64(r.IntN(100000000)) / 100, 0x2C},
			Settlement: Quantity{float64(r.IntN(100000000)) / 100, byte(r.IntN(256))}, Status: [2]byte{byte(r.IntN(256)), byte(r.IntN(256))}}
		if r.IntN(2) == 0 {
			d.Time = time.Date(2000+r.IntN(100), time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), 0, China)
		}
		rf, err := MeterDataReply(TypeColdWater, a, d)
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := rf.Build(0)
		pf, err := Parse(rb)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeMeterData(pf.Data)
		if err != nil || got != d {
			t.Fatalf("data %d: %+v, want %+v (%v)", i, got, d, err)
		}
	}
	if _, err := (Frame{Data: make([]byte, 256)}).Build(0); !errors.Is(err, ErrLength) {
		t.Fatalf("256 data bytes: %v", err)
	}
}

func normal(f Frame) Frame {
	if len(f.Data) == 0 {
		f.Data = nil
	}
	return f
}
