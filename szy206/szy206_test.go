package szy206

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
	"time"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Frames with a known check byte. The first two are published with the JetLinks SZY 206
// codec (GitHub hm1212/szy206-protocol, Szy206ProtocolApplicationTests: test01 and the
// split-packet test); the last two are the reference's constructed login and reply
// (standards.md §7). CS was computed by neither this package nor its author.
const (
	jetlinksFlowVolume  = "681A68B35303810D00C00059000000826110000001106000004508090A3516"
	jetlinksFlowMissing = "681568B34406070001C0AAAAAAAAAA004040000000000101E516"
	referenceLogin      = "68086880430100010002F04316"
	referenceLoginReply = "6808680043010001000200AA16"
)

var now = time.Date(2026, 12, 6, 22, 0, 0, 0, Beijing)

func TestCRC8CheckValue(t *testing.T) {
	if got := CRC8([]byte("123456789")); got != 0xF7 {
		t.Fatalf("CRC8 = %02X, want F7", got)
	}
}

func TestPublishedFrames(t *testing.T) {
	f, err := Parse(mustHex(t, jetlinksFlowVolume))
	if err != nil {
		t.Fatal(err)
	}
	if !f.Control.Up() || f.Control.Split() || f.Control.FCB() != 3 || f.Control.Function() != 3 || f.AFN != AFNSelfRT {
		t.Errorf("control %02X AFN %02X", byte(f.Control), f.AFN)
	}
	if f.Address.String() != "5303810D00" || f.Address.Region() != "530381" || f.Address.Station() != 13 {
		t.Errorf("address %s region %s station %d", f.Address, f.Address.Region(), f.Address.Station())
	}
	r, err := DecodeReport(f, Options{}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := Report{Function: 3, Values: []Value{{Name: "flow1", Value: 5.9}, {Name: "volume1", Value: 106182}},
		Alarm: [2]byte{0x01, 0x10}, Status: [2]byte{0x60, 0x00}, Time: time.Date(2026, 11, 9, 8, 45, 0, 0, Beijing), Delay: 0x0A}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("report\n got  %+v\n want %+v", r, want)
	}
	reply, ok := Reply(f)
	if !ok {
		t.Fatal("no reply to a self-report")
	}
	raw, _ := reply.Encode()
	if want := "680868335303810D00C000"; hex.EncodeToString(raw[:11]) != lower(want) {
		t.Errorf("reply %X", raw)
	}

	f, err = Parse(mustHex(t, jetlinksFlowMissing))
	if err != nil {
		t.Fatal(err)
	}
	r, err = DecodeReport(f, Options{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Values) != 1 || r.Values[0] != (Value{Name: "flow1", Missing: true}) || !r.Time.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, Beijing)) {
		t.Errorf("flow-only report with fill: %+v", r)
	}

	login, err := Parse(mustHex(t, referenceLogin))
	if err != nil || login.AFN != AFNLink || !bytes.Equal(login.Data, []byte{LinkLogin}) {
		t.Fatalf("login %+v %v", login, err)
	}
	reply, ok = Reply(login)
	raw, _ = reply.Encode()
	if !ok || !bytes.Equal(raw, mustHex(t, referenceLoginReply)) {
		t.Errorf("login reply %X, want %s", raw, referenceLoginReply)
	}
	if _, ok := Reply(reply); ok {
		t.Error("a downlink was answered")
	}
}

func lower(s string) string { return string(bytes.ToLower([]byte(s))) }

func TestElementTable(t *testing.T) {
	m, err := loadElements()
	if err != nil {
		t.Fatal(err)
	}
	if f := m[3]; len(f) != 2 || f[0].Name != "flow" || f[1].Name != "volume" || f[0].Bytes != 5 || f[0].Decimals != 3 {
		t.Errorf("function 3: %+v", f)
	}
}

func TestReportRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		r    Report
		o    Options
	}{
		{"flow and volume, SZY 206 time label", Report{Function: 3, Values: []Value{
			{Name: "flow1", Value: 12.345}, {Name: "volume1", Value: 9876543210},
			{Name: "flow2", Value: -0.5}, {Name: "volume2", Missing: true}},
			Alarm: [2]byte{1, 0}, Status: [2]byte{0x40, 0}, Time: time.Date(2026, 12, 6, 21, 59, 58, 0, Beijing), Delay: 5}, Options{}},
		{"flows only, SL/T 427 time label", Report{Function: 3, Values: []Value{{Name: "flow1", Value: 0.001}, {Name: "flow2", Value: 3}},
			Time: time.Date(2025, 2, 28, 0, 0, 0, 0, Beijing)}, Options{TpLen: 7, FlowOnly: true}},
		{"water levels", Report{Function: 2, Values: []Value{{Name: "level1", Value: -1.234}, {Name: "level2", Value: 45.6}},
			Time: time.Date(2026, 10, 31, 12, 0, 0, 0, Beijing)}, Options{}},
		{"rain", Report{Function: 1, Values: []Value{{Name: "rain", Value: 12.5}}, Time: now}, Options{}},
	}
	for _, c := range cases {
		data, err := EncodeReport(c.r, c.o)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		f := Frame{Control: NewControl(true, false, 0, c.r.Function), Address: Address{0x43, 0x01, 0x00, 0x07, 0x00}, AFN: AFNSelfRT, Data: data}
		raw, err := f.Encode()
		if err != nil {
			t.Fatal(err)
		}
		g, err := Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, err := DecodeReport(g, c.o, now)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !reflect.DeepEqual(got, c.r) {
			t.Errorf("%s:\n got  %+v\n want %+v", c.name, got, c.r)
		}
	}
}

func TestBadFrames(t *testing.T) {
	good := mustHex(t, jetlinksFlowVolume)
	flip := func(i int) []byte {
		b := append([]byte(nil), good...)
		b[i] ^= 0x10
		return b
	}
	for _, c := range []struct {
		name string
		raw  []byte
		want error
	}{
		{"flipped data bit", flip(12), ErrCRC},
		{"flipped CS", flip(len(good) - 2), ErrCRC},
		{"short", good[:len(good)-1], ErrLength},
		{"long", append(append([]byte(nil), good...), 0x16), ErrLength},
		{"no end byte", func() []byte { b := append([]byte(nil), good...); b[len(b)-1] = 0x17; return b }(), ErrFormat},
		{"second start missing", flip(2), ErrStart},
		{"L below the header", []byte{0x68, 0x03, 0x68, 0x80, 0x00, 0x00, 0x00, 0x16}, ErrFormat},
		{"header only", good[:2], ErrShort},
	} {
		if _, err := Parse(c.raw); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	f, _ := Parse(good)
	f.Data = append([]byte(nil), f.Data...)
	f.Data[1] = 0x5A // not BCD
	if _, err := DecodeReport(f, Options{}, now); !errors.Is(err, ErrFormat) {
		t.Errorf("non-BCD flow: %v", err)
	}
	f.Data = f.Data[:8]
	if _, err := DecodeReport(f, Options{}, now); !errors.Is(err, ErrLength) {
		t.Errorf("short data: %v", err)
	}
	f.Control = NewControl(true, false, 0, 13)
	if _, err := DecodeReport(f, Options{}, now); !errors.Is(err, ErrUnsupported) {
		t.Errorf("function 13: %v", err)
	}
}

func TestTimeLabelMonth(t *testing.T) {
	for _, c := range []struct {
		day  byte
		want time.Time
	}{
		{0x06, time.Date(2026, 12, 6, 1, 2, 3, 0, Beijing)},
		{0x07, time.Date(2026, 12, 7, 1, 2, 3, 0, Beijing)}, // within a day ahead (clock skew)
		{0x08, time.Date(2026, 11, 8, 1, 2, 3, 0, Beijing)},
		{0x31, time.Date(2026, 10, 31, 1, 2, 3, 0, Beijing)}, // November has no 31st
	} {
		got, err := tpTime([]byte{0x03, 0x02, 0x01, c.day, 0x00}, now)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("day %02X: %v %v, want %v", c.day, got, err, c.want)
		}
	}
	if _, err := tpTime([]byte{0x60, 0, 0, 1, 0}, now); !errors.Is(err, ErrFormat) {
		t.Errorf("second 60: %v", err)
	}
}

func TestSplitAndJoin(t *testing.T) {
	addr := Address{0x43, 0x01, 0x00, 0x01, 0x00}
	var stream, want []byte
	stream = append(stream, 0x00, 0x68, 0x68, 0x01) // garbage with false starts
	for i, part := range [][]byte{{1, 2, 3}, {4, 5}, {6}} {
		raw, err := Frame{Control: NewControl(true, true, 0, 0), DIVS: byte(3 - i), Address: addr, AFN: 0x83, Data: part}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, raw...)
		want = append(want, raw...)
	}
	var j Joiner
	var whole *Frame
	var raws []byte
	for buf := stream; len(buf) > 0; {
		skip, n, err := Split(buf)
		if err != nil {
			buf = buf[skip+1:]
			continue
		}
		if n == 0 || skip+n > len(buf) {
			break
		}
		f, err := Parse(buf[skip : skip+n])
		if err != nil {
			buf = buf[skip+1:]
			continue
		}
		w, r, done, err := j.Add(f, buf[skip:skip+n])
		if err != nil {
			t.Fatal(err)
		}
		if done {
			whole, raws = &w, r
		}
		buf = buf[skip+n:]
	}
	if whole == nil || !bytes.Equal(whole.Data, []byte{1, 2, 3, 4, 5, 6}) || whole.Control.Split() || !bytes.Equal(raws, want) {
		t.Fatalf("joined %+v", whole)
	}
	// A part out of turn abandons the message.
	raw, _ := Frame{Control: NewControl(true, true, 0, 0), DIVS: 3, Address: addr, AFN: 0x83, Data: []byte{1}}.Encode()
	f, _ := Parse(raw)
	j.Add(f, raw)
	f.DIVS = 1
	if _, _, _, err := j.Add(f, raw); err == nil {
		t.Error("a missing part went unnoticed")
	}
}
