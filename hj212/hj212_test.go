package hj212

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/testfiles"
	"github.com/shuixiao/shuixiao/sl651"
)

// samples returns the packets of testdata/hj212/packets.txt, one a line.
func samples(t testing.TB) []string {
	t.Helper()
	var out []string
	for l := range strings.SplitSeq(string(testfiles.ReadFile(t, "hj212", "packets.txt")), "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			out = append(out, l)
		}
	}
	if len(out) != 6 {
		t.Fatalf("packets.txt has %d packets, want 6", len(out))
	}
	return out
}

// modbusCRC is CRC-16/MODBUS (SL 651's check), to show HJ 212's CRC is a different one.
var modbusCRC = sl651.CRC16

func TestCRC16(t *testing.T) {
	// The CRCs reference/standards.md §5.5 verified, in packets.txt order.
	want := []uint16{0x1C80, 0x7D00, 0x8C41, 0xD641, 0x2640, 0xE381}
	for i, s := range samples(t) {
		seg := []byte(s[6 : len(s)-4])
		if got := CRC16(seg); got != want[i] {
			t.Errorf("packet %d: CRC16 = %04X, want %04X", i+1, got, want[i])
		}
		if modbusCRC(seg) == want[i] {
			t.Errorf("packet %d: the Modbus CRC also gives %04X; the vector cannot tell them apart", i+1, want[i])
		}
	}
	if got := modbusCRC([]byte("QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&")); got != 0x0759 {
		t.Errorf("Modbus CRC of Appendix A's example = %04X, the reference says 0759", got)
	}
}

// TestSamples: every sample packet decodes to the values written beside it in
// reference/standards.md §5.5 (packet 4's values are those its source's test expects).
func TestSamples(t *testing.T) {
	bj := func(s string) time.Time { t, _ := time.ParseInLocation("2006-01-02 15:04:05.000", s, China); return t }
	type want struct {
		st, cn, pw, mn, qn string
		flag               int // -1: no Flag field
		time               time.Time
		values             map[string]float64
		flags              map[string]string
	}
	wants := []want{
		{"32", "1062", "100000", "010000A8900016F000169DC0", "20160801085857223", 5, time.Time{},
			map[string]float64{"RtdInterval": 30}, map[string]string{}},
		{"21", "2011", "123456", "ZLDSZ20210127", "20210301111100112", 8, bj("2021-03-01 11:11:00.000"),
			map[string]float64{"w01001-Rtd": 8.33, "w01009-Rtd": 10.15, "w01010-Rtd": 9.7, "w01014-Rtd": 1425, "w01003-Rtd": 13.10,
				"w21011-Rtd": 0, "w21001-Rtd": 3.563168, "w21003-Rtd": 0.09055002, "w01019-Rtd": 4.102818, "w01008-Rtd": 0, "w23002-Rtd": 0},
			nil},
		{"32", "2011", "123456", "NJGDKYYC202101q0001w0001", "", -1, bj("2021-03-05 00:38:17.000"),
			map[string]float64{"ele01-Rtd": 1, "ele02-Rtd": 0}, map[string]string{}},
		{"22", "2051", "123456", "JLYP01_AIR01_0001", "20220513162608370", 4, bj("2022-05-13 16:26:00.000"),
			map[string]float64{"a21004-Avg": 4, "a05024-Avg": 63, "a21026-Avg": 6, "a21005-Avg": 0.427, "a34004-Avg": 14, "a34002-Avg": 31,
				"a01007-Avg": 1, "a01008-Avg": 11, "a01001-Avg": 17, "a01002-Avg": 85, "a01006-Avg": 95},
			nil},
		{"32", "2061", "123456", "010000A8900016F000169DC0", "20240101090000001", 5, bj("2024-01-01 08:00:00.000"),
			map[string]float64{"w00000-Cou": 63.0, "w00000-Min": 16.4, "w00000-Avg": 17.5, "w00000-Max": 20.1,
				"w01018-Cou": 2.526, "w01018-Min": 38.2, "w01018-Avg": 40.1, "w01018-Max": 42.5, "w21003-Avg": 1.21, "w01001-Avg": 7.2},
			nil},
		{"91", "9014", "123456", "010000A8900016F000169DC0", "20240101090000001", 4, time.Time{}, map[string]float64{}, map[string]string{}},
	}
	for i, s := range samples(t) {
		w := wants[i]
		if w.flags == nil { // every value flagged N
			w.flags = map[string]string{}
			for k := range w.values {
				w.flags[k] = "N"
			}
		}
		p, err := Parse([]byte(s + "\r\n"))
		if err != nil {
			t.Errorf("packet %d: %v", i+1, err)
			continue
		}
		gotFlag := -1
		if p.HasFlag {
			gotFlag = int(p.Flag)
		}
		if p.ST != w.st || p.CN != w.cn || p.PW != w.pw || p.MN != w.mn || p.QN != w.qn || gotFlag != w.flag {
			t.Errorf("packet %d: header %+v, want ST %s CN %s PW %s MN %s QN %s Flag %d", i+1, p, w.st, w.cn, w.pw, w.mn, w.qn, w.flag)
		}
		d, err := ParseData(p.CP)
		if err != nil {
			t.Errorf("packet %d: data: %v", i+1, err)
			continue
		}
		if !d.Time.Equal(w.time) {
			t.Errorf("packet %d: DataTime %v, want %v", i+1, d.Time, w.time)
		}
		if fmt.Sprint(d.Values) != fmt.Sprint(w.values) {
			t.Errorf("packet %d: values\n got %v\nwant %v", i+1, d.Values, w.values)
		}
		if fmt.Sprint(d.Flags) != fmt.Sprint(w.flags) {
			t.Errorf("packet %d: flags\n got %v\nwant %v", i+1, d.Flags, w.flags)
		}
	}
}

// TestDataReply: the 9014 answer to the hourly packet (Flag=5, A set) is byte for byte the reply
// reference/standards.md §5.5 gives.
func TestDataReply(t *testing.T) {
	s := samples(t)
	req, err := Parse([]byte(s[4]))
	if err != nil {
		t.Fatal(err)
	}
	if !req.Flag.Ack() || req.Flag.Version() != Version2017 || req.Flag.Split() {
		t.Fatalf("Flag %d: ack %v version %d split %v", req.Flag, req.Flag.Ack(), req.Flag.Version(), req.Flag.Split())
	}
	got, err := Build(DataReply(req))
	if err != nil {
		t.Fatal(err)
	}
	if want := s[5] + "\r\n"; string(got) != want {
		t.Errorf("9014 reply\n got %q\nwant %q", got, want)
	}
	r, _ := Build(RequestReply(req, QnBadPW))
	if !bytes.Contains(r, []byte(";ST=91;CN=9011;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&QnRtn=3&&")) {
		t.Errorf("9011 reply %q", r)
	}
	e, _ := Build(ExecReply(req, ExeOK))
	if p, err := Parse(e); err != nil || p.CN != CNExecResult || p.CP != "ExeRtn=1" || p.QN != req.QN {
		t.Errorf("9012 reply %q: %+v %v", e, p, err)
	}
}

func TestParseErrors(t *testing.T) {
	good := samples(t)[0]
	cases := []struct {
		name, frame string
		err         error
		text        string
	}{
		{"bad CRC", good[:len(good)-4] + "1C81", ErrCRC, "frame says 1C81, data segment gives 1C80"},
		{"CRC not hex", good[:len(good)-4] + "1C8G", ErrCRC, "not four hex digits"},
		{"length too small", "##0100" + good[6:], ErrLength, "says 100 bytes, data segment has 101"},
		{"length not digits", "##01a1" + good[6:], ErrLength, "not four decimal digits"},
		{"truncated", good[:50], ErrLength, "data segment has 40"},
		{"no header", "x" + good[1:], ErrHeader, ""},
		{"empty", "", ErrHeader, ""},
		{"unknown field", frame("QN=20160801085857223;ST=32;CN=1062;XX=1;PW=1;MN=A;CP=&&&&"), ErrSegment, `unknown field "XX"`},
		{"no MN", frame("ST=32;CN=1062;PW=1;CP=&&&&"), ErrSegment, "no MN field"},
		{"no CP", frame("ST=32;CN=1062;PW=1;MN=A"), ErrSegment, "no CP=&& field"},
		{"CP unterminated", frame("ST=32;CN=1062;PW=1;MN=A;CP=&&a=1"), ErrSegment, "does not end with &&"},
		{"split without PNUM", frame("ST=32;CN=2011;PW=1;MN=A;Flag=6;CP=&&&&"), ErrSegment, "says split but PNUM/PNO absent"},
		{"PNO beyond PNUM", frame("ST=32;CN=2011;PW=1;MN=A;Flag=6;PNUM=2;PNO=3;CP=&&&&"), ErrSegment, "PNO 3 > PNUM 2"},
		{"Flag out of range", frame("ST=32;CN=2011;PW=1;MN=A;Flag=256;CP=&&&&"), ErrSegment, "not an integer 0–255"},
		{"QN short", frame("QN=2016;ST=32;CN=2011;PW=1;MN=A;CP=&&&&"), ErrSegment, "not YYYYMMDDhhmmsszzz"},
		{"field twice", frame("ST=32;ST=32;CN=2011;PW=1;MN=A;CP=&&&&"), ErrSegment, "ST twice"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.frame))
		if !errors.Is(err, c.err) || !strings.Contains(fmt.Sprint(err), c.text) {
			t.Errorf("%s: error %v, want %v containing %q", c.name, err, c.err, c.text)
		}
	}
}

// frame wraps a data segment with a correct length and CRC.
func frame(seg string) string {
	return fmt.Sprintf("##%04d%s%04X\r\n", len(seg), seg, CRC16([]byte(seg)))
}

func TestParseDataErrors(t *testing.T) {
	cases := []struct{ cp, text string }{
		{"DataTime=20240101080000;w00000-Avg=abc", `w00000-Avg: "abc" is not a decimal number`},
		{"DataTime=20240101080000;w00000-Avg=1e5", `"1e5" is not a decimal number`},
		{"DataTime=20241301080000", "DataTime"},
		{"DataTime=2024", "not YYYYMMDDhhmmss"},
		{"w00000-Avg", "not key=value"},
		{"w00000-Avg=1;w00000-Avg=2", "w00000-Avg twice"},
		{"w00000-Avg=NaN", "not a decimal number"},
		{"w00000-Flag=", "empty"},
	}
	for _, c := range cases {
		if _, err := ParseData(c.cp); err == nil || !strings.Contains(err.Error(), c.text) {
			t.Errorf("ParseData(%q) = %v, want an error containing %q", c.cp, err, c.text)
		}
	}
	d, err := ParseData("DataTime=20240101080000;w00000-Rtd=-1.5,w00000-Flag=T,w00000-SampleTime=20240101075900;SB1-RS=1;i11001-Info=//log//")
	if err != nil {
		t.Fatal(err)
	}
	if d.Values["w00000-Rtd"] != -1.5 || d.Flags["w00000-Rtd"] != "T" || d.Values["SB1-RS"] != 1 || len(d.Values) != 2 {
		t.Errorf("data %+v", d)
	}
}

func TestNext(t *testing.T) {
	s := samples(t)
	a, b := s[0]+"\r\n", s[4]+"\r\n"
	stream := "garbage#" + a + "\x00\xff##xx" + b + "##01"
	var frames []string
	var garbage, bad int
	buf := []byte(stream)
	for {
		skip, n, err := Next(buf, 2000)
		if errors.Is(err, ErrLength) {
			bad++
			garbage += skip + 1
			buf = buf[skip+1:]
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		garbage += skip
		buf = buf[skip:]
		if n == 0 {
			break
		}
		frames = append(frames, string(buf[:n]))
		buf = buf[n:]
	}
	if len(frames) != 2 || frames[0] != a || frames[1] != b {
		t.Errorf("frames %q", frames)
	}
	if string(buf) != "##01" || bad != 1 || garbage != len("garbage#")+len("\x00\xff##xx") {
		t.Errorf("left %q, %d bad, %d garbage bytes", buf, bad, garbage)
	}
	if _, _, err := Next([]byte("##9999"), 1036); !errors.Is(err, ErrTooLong) {
		t.Errorf("oversize: %v", err)
	}
	// Length one short of the truth: CR LF is not where it says.
	if _, _, err := Next([]byte("##0100"+a[6:]), 2000); !errors.Is(err, ErrLength) {
		t.Errorf("wrong length: %v", err)
	}
}

func TestFlagQuality(t *testing.T) {
	want := map[string]Quality{"N": QualityGood, "": QualityGood, "F": QualityInvalid, "M": QualityInvalid, "S": QualityManual,
		"D": QualityBad, "C": QualityInvalid, "T": QualityUncertain, "B": QualityBad, "X": QualityUnknown, "n": QualityUnknown}
	for f, q := range want {
		if got := FlagQuality(f); got != q {
			t.Errorf("FlagQuality(%q) = %v, want %v", f, got, q)
		}
	}
	for f, measured := range map[string]bool{"N": true, "T": true, "": true, "F": false, "M": false, "S": false, "D": false, "C": false, "B": false, "Z": false} {
		if FlagQuality(f).Measured() != measured {
			t.Errorf("flag %q measured = %v", f, !measured)
		}
	}
	if QualityGood.String() != "good" || Quality(99).String() != "unknown" {
		t.Error("quality names")
	}
}

func splitParts(t *testing.T, cps ...string) []Packet {
	var out []Packet
	for i, cp := range cps {
		out = append(out, Packet{QN: fmt.Sprintf("20240101090000%03d", i), ST: "32", CN: "2061", PW: "123456", MN: "M1",
			Flag: 7, HasFlag: true, PNUM: len(cps), PNO: i + 1, CP: cp})
	}
	return out
}

func TestReassembler(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 9, 0, 0, 0, China)
	parts := splitParts(t, "DataTime=20240101080000;w00000-Cou=63.0", "w01018-Avg=40.1,w01018-Flag=N", "w21003-Avg=1.21")
	raws := make([][]byte, len(parts))
	for i, p := range parts {
		raw, err := Build(p)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(raw)
		if err != nil || back != p {
			t.Fatalf("part %d: %+v %v", i, back, err)
		}
		raws[i] = raw
	}
	r := NewReassembler(SplitLimits{})
	// Out of order, part 2 sent twice (a resend).
	for _, i := range []int{2, 1, 1} {
		if m, _, err := r.Add(parts[i], raws[i], t0); m != nil || err != nil {
			t.Fatalf("part %d: %v %v", i+1, m, err)
		}
	}
	m, _, err := r.Add(parts[0], raws[0], t0.Add(time.Second))
	if err != nil || m == nil {
		t.Fatalf("complete: %v %v", m, err)
	}
	if m.Packet.CP != "DataTime=20240101080000;w00000-Cou=63.0;w01018-Avg=40.1,w01018-Flag=N;w21003-Avg=1.21" ||
		m.Packet.PNUM != 0 || m.Packet.Flag != 5 || m.Packet.QN != parts[0].QN {
		t.Errorf("message %+v", m.Packet)
	}
	if !bytes.Equal(m.Raw, bytes.Join(raws, nil)) {
		t.Error("raw is not the parts in order")
	}
	if r.Held() != 0 || r.Pending() != 0 {
		t.Errorf("held %d bytes in %d messages after completion", r.Held(), r.Pending())
	}

	// Timeout: a part older than the limit is dropped and the message never completes.
	r = NewReassembler(SplitLimits{Timeout: time.Minute})
	r.Add(parts[0], raws[0], t0)
	r.Add(parts[1], raws[1], t0)
	if m, dropped, _ := r.Add(parts[2], raws[2], t0.Add(2*time.Minute)); m != nil || dropped != 1 {
		t.Errorf("after timeout: %v, %d dropped", m, dropped)
	}

	// Limits: parts and bytes.
	r = NewReassembler(SplitLimits{MaxParts: 2, MaxBytes: 400})
	if _, _, err := r.Add(parts[0], raws[0], t0); !errors.Is(err, ErrSplit) {
		t.Errorf("PNUM 3 with MaxParts 2: %v", err)
	}
	big := splitParts(t, strings.Repeat("a=1;", 60), "b=2")
	braw, _ := Build(big[0])
	if _, _, err := r.Add(big[0], braw, t0); !errors.Is(err, ErrSplit) || r.Held() != 0 {
		t.Errorf("over the byte limit: %v, %d held", err, r.Held())
	}
}

// randomPacket makes a packet Build can write: fields from the characters devices use.
func randomPacket(rng *rand.Rand) Packet {
	str := func(alpha string, lo, hi int) string {
		b := make([]byte, lo+rng.IntN(hi-lo+1))
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	const dig, an = "0123456789", "0123456789ABCDEFabcdefghXYZ_"
	p := Packet{ST: str(dig, 1, 2), CN: str(dig, 4, 4), PW: str(an, 0, 8), MN: str(an, 1, 24)}
	if rng.IntN(2) == 0 {
		p.QN = str(dig, 17, 17)
	}
	if rng.IntN(3) > 0 {
		p.Flag, p.HasFlag = Flag(rng.IntN(256)), true
		if p.Flag.Split() {
			p.PNUM = 1 + rng.IntN(20)
			p.PNO = 1 + rng.IntN(p.PNUM)
		}
	}
	var items []string
	for range rng.IntN(8) {
		items = append(items, fmt.Sprintf("w%05d-Avg=%d.%d,w%05d-Flag=N", rng.IntN(99999), rng.IntN(1000), rng.IntN(100), rng.IntN(99999)))
	}
	p.CP = strings.Join(items, ";")
	return p
}

// TestRoundTrip: Build then Parse gives the packet back, for random packets.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		p := randomPacket(rng)
		raw, err := Build(p)
		if err != nil {
			t.Fatalf("case %d: Build(%+v): %v", i, p, err)
		}
		back, err := Parse(raw)
		if err != nil || back != p {
			t.Fatalf("case %d: %q parsed to %+v, %v; want %+v", i, raw, back, err, p)
		}
		if _, err := ParseData(back.CP); err != nil {
			t.Fatalf("case %d: data %q: %v", i, back.CP, err)
		}
	}
	// Build refuses what it could not read back.
	for _, p := range []Packet{
		{ST: "32", CN: "2011", PW: "a;b", MN: "M"},
		{ST: "32", CN: "2011", PW: "1", MN: "M", CP: "a=1&&b=2"},
		{ST: "32", CN: "2011", PW: "1", MN: "M", PNUM: 2, PNO: 3},
		{ST: "32", CN: "2011", PW: "1", MN: "M", Flag: 6, HasFlag: true},
		{ST: "x", CN: "2011", PW: "1", MN: "M"},
	} {
		if _, err := Build(p); err == nil {
			t.Errorf("Build(%+v) accepted a packet it cannot read back", p)
		}
	}
}

// BenchmarkParse: checking and decoding the reference's hourly packet, as a gateway does per frame.
func BenchmarkParse(b *testing.B) {
	raw := []byte(samples(b)[4] + "\r\n")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ParseData(p.CP); err != nil {
			b.Fatal(err)
		}
	}
}
