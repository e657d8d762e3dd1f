package sl651

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/testfiles"
)

// sample is one line of testdata/sl651/frames.tsv: the frame and the decode written beside it.
type sample struct {
	line  int
	raw   []byte
	notes string
}

func samples(t testing.TB) []sample {
	t.Helper()
	var out []sample
	for i, line := range strings.Split(string(testfiles.ReadFile(t, "sl651", "frames.tsv")), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		hexText, notes, _ := strings.Cut(line, "\t")
		raw, err := hex.DecodeString(hexText)
		if err != nil {
			t.Fatalf("frames.tsv line %d: %v", i+1, err)
		}
		out = append(out, sample{i + 1, raw, notes})
	}
	if len(out) < 6 {
		t.Fatalf("frames.tsv has %d frames, want at least 6", len(out))
	}
	return out
}

var (
	reCentre  = regexp.MustCompile(`centre (\d\d)\b`)
	reStation = regexp.MustCompile(`station (\d{10})\b`)
	rePW      = regexp.MustCompile(`pw ([0-9A-F]{4})\b`)
	reFn      = regexp.MustCompile(`FN ([0-9A-F]{2})\b|\(([0-9A-F]{2})H\)`)
	reSerial  = regexp.MustCompile(`serial (0x[0-9A-F]+|\d+)`)
	reSent    = regexp.MustCompile(`(?:send time|time|sent) (\d{2}(?:\d{2})?-\d\d-\d\d \d\d:\d\d:\d\d)`)
	reObs     = regexp.MustCompile(`obs (\d{2}(?:\d{2})?-\d\d-\d\d \d\d:\d\d)`)
	reType    = regexp.MustCompile(`type ([A-Z])\b`)
	reValue   = regexp.MustCompile(`; ([A-Z][A-Za-z0-9]*) (-?\d+(?:\.\d+)?) `)
	reLen     = regexp.MustCompile(`len (\d+)`)
	reCRC     = regexp.MustCompile(`CRC ([0-9A-F]{4})`)
)

func sampleTime(t *testing.T, s string) time.Time {
	t.Helper()
	if s[2] == '-' {
		s = "20" + s
	}
	layout := "2006-01-02 15:04:05"
	if len(s) == 16 {
		layout = "2006-01-02 15:04"
	}
	v, err := time.ParseInLocation(layout, s, Beijing)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSampleFrames decodes every frame of testdata/sl651/frames.tsv and checks each fact
// written beside it: addresses, password, function, direction, serial, times, station
// type, length, end character, CRC and every element value.
func TestSampleFrames(t *testing.T) {
	for _, s := range samples(t) {
		f, err := Parse(s.raw)
		if err != nil {
			t.Errorf("line %d: %v", s.line, err)
			continue
		}
		m, err := Decode(f)
		if err != nil {
			t.Errorf("line %d: decode: %v", s.line, err)
			continue
		}
		check := func(what string, got, want any) {
			t.Helper()
			if !reflect.DeepEqual(got, want) {
				t.Errorf("line %d %s: got %v, want %v", s.line, what, got, want)
			}
		}
		if g := reCentre.FindStringSubmatch(s.notes); g != nil {
			v, _ := strconv.ParseUint(g[1], 16, 8)
			check("centre", f.Centre, byte(v))
		}
		if g := reStation.FindStringSubmatch(s.notes); g != nil {
			check("station", f.Station.String(), g[1])
		}
		if g := rePW.FindStringSubmatch(s.notes); g != nil {
			v, _ := strconv.ParseUint(g[1], 16, 16)
			check("password", f.Password, uint16(v))
		}
		if g := reFn.FindStringSubmatch(s.notes); g != nil {
			v, _ := strconv.ParseUint(g[1]+g[2], 16, 8)
			check("function", f.Func, byte(v))
		}
		check("down", f.Down, strings.Contains(s.notes, "down"))
		if g := reSerial.FindStringSubmatch(s.notes); g != nil {
			v, _ := strconv.ParseUint(g[1], 0, 16)
			check("serial", m.Serial, uint16(v))
		}
		if g := reSent.FindStringSubmatch(s.notes); g != nil {
			check("send time", m.SendTime, sampleTime(t, g[1]))
		}
		if g := reObs.FindStringSubmatch(s.notes); g != nil {
			check("data time", m.DataTime(), sampleTime(t, g[1]))
		}
		if g := reType.FindStringSubmatch(s.notes); g != nil {
			check("station type", string(m.StationType), g[1])
		}
		if g := reLen.FindStringSubmatch(s.notes); g != nil {
			n, _ := strconv.Atoi(g[1])
			check("body length", len(f.Body), n)
		}
		switch {
		case strings.Contains(s.notes, "ESC"):
			check("end", f.End, byte(ESC))
		case strings.Contains(s.notes, "ETX"):
			check("end", f.End, byte(ETX))
		}
		g := reCRC.FindStringSubmatch(s.notes)
		if g == nil {
			t.Fatalf("line %d: notes state no CRC", s.line)
		}
		check("CRC", strings.ToUpper(hex.EncodeToString(s.raw[len(s.raw)-2:])), g[1])
		want := map[string]float64{}
		for _, g := range reValue.FindAllStringSubmatch(s.notes, -1) {
			want[g[1]], _ = strconv.ParseFloat(g[2], 64)
		}
		got := map[string]float64{}
		for _, e := range m.Elements {
			got[e.Name()] = e.Value
		}
		check("values", got, want)
		// The builder writes the same bytes back.
		body, err := m.EncodeBody(HEX)
		if err != nil {
			t.Errorf("line %d: encode body: %v", s.line, err)
			continue
		}
		f.Body = body
		again, err := f.Encode()
		if err != nil || !bytes.Equal(again, s.raw) {
			t.Errorf("line %d: rebuilt\n %X (err %v), want\n %X", s.line, again, err, s.raw)
		}
	}
}

// TestConfirmMatchesPublished builds the centre's confirmations of the two published
// reports and compares them with the published confirmation frames byte for byte.
func TestConfirmMatchesPublished(t *testing.T) {
	ss := samples(t)
	for _, pair := range [][2]int{{2, 3}, {4, 5}} {
		up, err := Parse(ss[pair[0]].raw)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Confirm(up, ESC)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if want := ss[pair[1]].raw; !bytes.Equal(got, want) {
			t.Errorf("confirm of line %d: got %X, want %X", ss[pair[0]].line, got, want)
		}
	}
}

func TestCRC16CheckValue(t *testing.T) {
	// CRC-16/MODBUS check value (the catalogue's "123456789" vector).
	if got := CRC16([]byte("123456789")); got != 0x4B37 {
		t.Fatalf("CRC16 = %04X, want 4B37", got)
	}
}

func TestElementTable(t *testing.T) {
	if _, err := loadElements(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id   byte
		name string
		def  byte
	}{{0x20, "PJ", 0x19}, {0x26, "PT", 0x19}, {0x39, "Z", 0x23}, {0x38, "VT", 0x12}, {0x27, "Q", 0x2B}, {0x60, "SYL1", 0x33}} {
		d, ok := LookupElement(c.id)
		if !ok || d.Mnemonic != c.name || d.DefByte() != c.def {
			t.Errorf("element %02X: %+v (def %02X), want %s def %02X", c.id, d, d.DefByte(), c.name, c.def)
		}
	}
	if n := len(Elements()); n < 120 {
		t.Errorf("table has %d rows", n)
	}
}

func beijing(y, mo, d, h, mi, s int) time.Time {
	return time.Date(y, time.Month(mo), d, h, mi, s, 0, Beijing)
}

// intakeReport is a water-intake station's timed report with every coding the package knows.
func intakeReport() Message {
	obs1, obs2 := beijing(2026, 12, 6, 8, 0, 0), beijing(2026, 12, 6, 9, 0, 0)
	nan := math.NaN()
	return Message{
		Serial: 0x1234, SendTime: beijing(2026, 12, 6, 9, 0, 17), HasStation: true,
		Station: Station{0x43, 0x01, 0x02, 0x00, 0x07}, StationType: 'I',
		Elements: []Element{
			{ID: 0x28, Time: obs1, Value: 1.234, Bytes: 5, Decimals: 3}, // Q1
			{ID: 0x3C, Time: obs1, Value: -2.5, Bytes: 4, Decimals: 3},  // Z1 below datum
			{ID: 0x60, Time: obs1, Missing: true, Bytes: 6, Decimals: 3},
			{ID: 0x45, Time: obs1, Value: 0x0805, Bytes: 4},
			{ID: 0xFF2B, Time: obs1, Value: 123456.7, Bytes: 6, Decimals: 1},
			{ID: 0x28, Time: obs2, Value: 1.5, Bytes: 5, Decimals: 3},
			{ID: 0xF4, Time: obs2, Series: []float64{0, 0.5, 1, nan, 25.5 - 0.1, 0, 0, 0, 0, 0, 0, 0.1}},
			{ID: 0xF5, Time: obs2, Series: []float64{1.23, 1.24, nan, 1.25, 1.26, 1.27, 1.28, 1.29, 1.3, 1.31, 1.32, 655.34}},
		},
	}
}

func sameMessage(t *testing.T, got, want Message) {
	t.Helper()
	if g, w := normalMessage(got), normalMessage(want); !reflect.DeepEqual(g, w) {
		t.Errorf("message differs:\n got  %+v\n want %+v", g, w)
	}
}

func TestRoundTripBothModes(t *testing.T) {
	for _, mode := range []Mode{HEX, ASCII} {
		m := intakeReport()
		if mode == ASCII {
			m.Elements[2].Missing, m.Elements[2].Value = false, 0.5 // ASCII has no missing marker
		}
		body, err := m.EncodeBody(mode)
		if err != nil {
			t.Fatalf("%v: %v", mode, err)
		}
		f := Frame{Mode: mode, Centre: 1, Station: m.Station, Password: 0x1234, Func: FnTimed, Body: body, End: ETX}
		raw, err := f.Encode()
		if err != nil {
			t.Fatal(err)
		}
		g, err := Parse(raw)
		if err != nil {
			t.Fatalf("%v: parse %q: %v", mode, raw, err)
		}
		if !reflect.DeepEqual(g, f) {
			t.Errorf("%v: frame %+v, want %+v", mode, g, f)
		}
		got, err := Decode(g)
		if err != nil {
			t.Fatalf("%v: %v", mode, err)
		}
		if mode == ASCII {
			// ASCII values carry the decimals written and the table's byte count.
			for i := range got.Elements {
				got.Elements[i].Bytes, got.Elements[i].Decimals = m.Elements[i].Bytes, m.Elements[i].Decimals
			}
		}
		sameMessage(t, got, m)
		// A confirmation of it parses as a downlink echoing the serial.
		c, err := Confirm(g, EOT)
		if err != nil {
			t.Fatal(err)
		}
		craw, _ := c.Encode()
		cf, err := Parse(craw)
		if err != nil || !cf.Down || cf.End != EOT {
			t.Fatalf("%v: confirm %q: %+v %v", mode, craw, cf, err)
		}
		cm, err := Decode(cf)
		if err != nil || cm.Serial != m.Serial || !cm.SendTime.Equal(m.SendTime) {
			t.Errorf("%v: confirm body %+v %v", mode, cm, err)
		}
	}
}

func TestBadFrames(t *testing.T) {
	good := samples(t)[2].raw
	flip := func(i int) []byte {
		b := append([]byte(nil), good...)
		b[i] ^= 0x01
		return b
	}
	cases := []struct {
		name string
		raw  []byte
		want error
	}{
		{"bit flipped in the body", flip(30), ErrCRC},
		{"bit flipped in the CRC", flip(len(good) - 1), ErrCRC},
		{"one byte short", good[:len(good)-1], ErrLength},
		{"one byte long", append(append([]byte(nil), good...), 0), ErrLength},
		{"header only", good[:10], ErrShort},
		{"no start", good[1:], ErrStart},
		{"direction nibble 4", func() []byte { b := flip(0); b[0] = 0x7E; b[11] |= 0x40; return b }(), ErrFormat},
	}
	for _, c := range cases {
		if _, err := Parse(c.raw); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// A frame whose CRC is right but whose element data are not BCD fails in Decode.
	f, _ := Parse(good)
	f.Body = append([]byte(nil), f.Body...)
	f.Body[len(f.Body)-1] = 0xAB // VT's last byte
	raw, _ := f.Encode()
	g, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(g); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "VT") {
		t.Errorf("non-BCD VT: %v", err)
	}
	// An element that claims more bytes than the body has.
	f.Body = append(append([]byte(nil), f.Body[:len(f.Body)-4]...), 0x38, 0xF8, 0x11)
	raw, _ = f.Encode()
	g, _ = Parse(raw)
	if _, err := Decode(g); !errors.Is(err, ErrLength) {
		t.Errorf("overlong element: %v", err)
	}
}

func TestSplitStream(t *testing.T) {
	ss := samples(t)
	var stream []byte
	stream = append(stream, "garbage\x7E\x01"...)
	stream = append(stream, ss[0].raw...)
	stream = append(stream, 0x7E, 0x7E, 0x00) // a false start: header that cannot be a frame follows
	stream = append(stream, bytes.Repeat([]byte{0xEE}, 20)...)
	stream = append(stream, ss[2].raw...)
	var got [][]byte
	buf := stream
	for len(buf) > 0 {
		skip, n, err := Split(buf)
		if err != nil {
			buf = buf[skip+1:]
			continue
		}
		if n == 0 || skip+n > len(buf) {
			break
		}
		if _, err := Parse(buf[skip : skip+n]); err != nil {
			buf = buf[skip+1:]
			continue
		}
		got = append(got, buf[skip:skip+n])
		buf = buf[skip+n:]
	}
	if len(got) != 2 || !bytes.Equal(got[0], ss[0].raw) || !bytes.Equal(got[1], ss[2].raw) {
		t.Fatalf("found %d frames: %X", len(got), got)
	}
}

func TestReassembleMultiPacket(t *testing.T) {
	m := intakeReport()
	body, err := m.EncodeBody(HEX)
	if err != nil {
		t.Fatal(err)
	}
	third := len(body) / 3
	parts := [][]byte{body[:third], body[third : 2*third], body[2*third:]}
	var raws [][]byte
	for i, p := range parts {
		end := byte(ETB)
		if i == 2 {
			end = ETX
		}
		raw, err := Frame{Centre: 1, Station: m.Station, Password: 1, Func: FnTimed, Packets: 3, Seq: i + 1, Body: p, End: end}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, raw)
	}
	var r Reassembler
	now := time.Unix(0, 0)
	for _, i := range []int{2, 0} { // out of order
		f, err := Parse(raws[i])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(f); !errors.Is(err, ErrReassembly) {
			t.Errorf("a lone packet decodes: %v", err)
		}
		if _, done, err := r.Add(f, raws[i], now); done || err != nil {
			t.Fatalf("packet %d: done %v err %v", i+1, done, err)
		}
	}
	f, _ := Parse(raws[1])
	w, done, err := r.Add(f, raws[1], now)
	if !done || err != nil {
		t.Fatalf("not done: %v", err)
	}
	if want := bytes.Join(raws, nil); !bytes.Equal(w.Raw, want) {
		t.Errorf("raw not the packets in order")
	}
	got, err := Decode(w.Frame)
	if err != nil {
		t.Fatal(err)
	}
	sameMessage(t, got, m)
	if r.Pending() != 0 {
		t.Errorf("pending %d", r.Pending())
	}
	// A message whose packets stop coming expires; one that grows too large is dropped.
	f0, _ := Parse(raws[0])
	r.Add(f0, raws[0], now)
	if n := r.Expire(now.Add(6 * time.Minute)); n != 1 || r.Pending() != 0 {
		t.Errorf("expired %d, pending %d", n, r.Pending())
	}
	small := Reassembler{MaxBytes: len(raws[0]) + 1}
	small.Add(f0, raws[0], now)
	if _, _, err := small.Add(f, raws[1], now); !errors.Is(err, ErrReassembly) || small.Pending() != 0 {
		t.Errorf("oversize message: %v, pending %d", err, small.Pending())
	}
}

func TestBCDValues(t *testing.T) {
	for _, c := range []struct {
		data string
		dec  int
		want float64
	}{{"000005", 1, 0.5}, {"00010490", 3, 10.49}, {"FF012345", 3, -12.345}, {"F12345", 2, -123.45}, {"1099", 2, 10.99}, {"00", 0, 0}} {
		d, _ := hex.DecodeString(c.data)
		got, err := bcdValue(d, c.dec)
		if err != nil || got != c.want {
			t.Errorf("%s/%d: %v %v, want %v", c.data, c.dec, got, err, c.want)
		}
	}
	if _, err := appendBCD(nil, 1000, 1, 1); err == nil {
		t.Error("1000.0 fit one byte")
	}
}
