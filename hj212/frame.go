// Package hj212 implements the packet format of HJ 212-2017, 污染物在线监控（监测）系统数据传输标准
// (data transmission standard for online monitoring of pollution sources, in force 2017-05-01):
// the frame ("##", four-digit length, data segment, CRC16 in four hex digits, CR LF, Table 2), the
// standard's own CRC16 (Appendix A, which is not the Modbus CRC), the data segment's fields
// (QN, ST, CN, PW, MN, Flag, PNUM, PNO, CP; Table 3), the data area's items (DataTime,
// xxxxxx-Rtd/-Avg/-Min/-Max/-Cou/-Flag …), split packets (PNUM/PNO) and their reassembly, the data
// flags of Table 8 mapped to a reading quality, and the replies a platform sends (9011 request
// answer, 9012 execution result, 9014 data answer).
//
// The package does no I/O: a gateway reads bytes, finds frames with [Scan], and hands them to
// [Parse]. Reception is lenient where devices in the field differ from the standard (lower-case
// CRC digits, MNs shorter than 24 characters, unknown Flag version bits, no QN or Flag);
// emission follows the standard exactly.
package hj212

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxSegment is the largest data segment the standard allows (Table 2: 0 ≤ n ≤ 1024).
// Parse accepts longer segments (the length field has four digits) because devices in the field
// send them; a gateway bounds frames with its own limit.
const MaxSegment = 1024

// Overhead is the number of bytes a frame has besides its data segment: "##", the four length
// digits, the four CRC digits and CR LF.
const Overhead = 2 + 4 + 4 + 2

// Errors a frame fails with; Parse wraps them with the detail.
var (
	ErrHeader  = errors.New("hj212: frame does not start with ##")
	ErrLength  = errors.New("hj212: wrong length")
	ErrCRC     = errors.New("hj212: CRC mismatch")
	ErrSegment = errors.New("hj212: bad data segment")
	ErrTooLong = errors.New("hj212: frame longer than the limit")
)

// CRC16 returns the checksum HJ 212-2017 Appendix A defines over a data segment: initial value
// 0xFFFF, each byte folded in as crc = (crc >> 8) ^ byte, then eight shifts with the reflected
// polynomial 0xA001. (CRC-16/MODBUS folds the byte in with crc ^ byte instead.)
func CRC16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc = (crc >> 8) ^ uint16(c)
		for range 8 {
			lsb := crc & 1
			crc >>= 1
			if lsb != 0 {
				crc ^= 0xA001
			}
		}
	}
	return crc
}

// Packet is one HJ 212 packet's data segment (Table 3), its fields as written except Flag, which
// is decoded. The data area CP is kept as text; [ParseCP] and [ParseData] read it.
type Packet struct {
	QN      string // request number YYYYMMDDhhmmsszzz; empty when the packet has none
	ST      string // system code (Table 5), e.g. "32"
	CN      string // command code (Table 9), e.g. "2061"
	PW      string // access password
	MN      string // device number (EPC-96 in 24 hex digits, shorter in the field)
	Flag    Flag   // meaningful only when HasFlag
	HasFlag bool   // the packet carries a Flag field
	PNUM    int    // total packets of a split message (Flag bit D); 0 when not split
	PNO     int    // this packet's number, 1..PNUM; 0 when not split
	CP      string // the data area between "CP=&&" and the closing "&&"
}

// Segment returns the packet's data segment text, fields in the order of Table 3.
func (p Packet) Segment() string {
	var b strings.Builder
	b.Grow(64 + len(p.CP))
	if p.QN != "" {
		b.WriteString("QN=" + p.QN + ";")
	}
	b.WriteString("ST=" + p.ST + ";CN=" + p.CN + ";PW=" + p.PW + ";MN=" + p.MN + ";")
	if p.HasFlag {
		b.WriteString("Flag=" + strconv.Itoa(int(p.Flag)) + ";")
	}
	if p.PNUM > 0 {
		b.WriteString("PNUM=" + strconv.Itoa(p.PNUM) + ";PNO=" + strconv.Itoa(p.PNO) + ";")
	}
	b.WriteString("CP=&&" + p.CP + "&&")
	return b.String()
}

// Build returns the packet as a frame: "##", the segment's length in bytes (four digits), the
// segment, its CRC16 in four upper-case hex digits, CR LF. It fails when the segment is longer
// than the four length digits can state or a field could not be parsed back (a separator in a
// field's text).
func Build(p Packet) ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	seg := p.Segment()
	if len(seg) > 9999 {
		return nil, fmt.Errorf("%w: data segment of %d bytes does not fit four digits", ErrLength, len(seg))
	}
	out := make([]byte, 0, len(seg)+Overhead)
	out = fmt.Appendf(out, "##%04d", len(seg))
	out = append(out, seg...)
	out = fmt.Appendf(out, "%04X\r\n", CRC16([]byte(seg)))
	return out, nil
}

// Parse checks one frame (with or without its closing CR LF) and decodes its data segment: the
// header, the length, the CRC (either case of hex digit) and the fields of Table 3. A frame that
// fails its checks returns no packet and an error wrapping ErrHeader, ErrLength, ErrCRC or
// ErrSegment.
func Parse(frame []byte) (Packet, error) {
	seg, err := Unwrap(frame)
	if err != nil {
		return Packet{}, err
	}
	return ParseSegment(string(seg))
}

// Unwrap checks a frame's header, length and CRC and returns its data segment.
func Unwrap(frame []byte) ([]byte, error) {
	frame = bytes.TrimSuffix(frame, []byte("\r\n"))
	if len(frame) < 2 || frame[0] != '#' || frame[1] != '#' {
		return nil, ErrHeader
	}
	if len(frame) < 6 {
		return nil, fmt.Errorf("%w: frame of %d bytes has no length field", ErrLength, len(frame))
	}
	n, ok := digits(frame[2:6])
	if !ok {
		return nil, fmt.Errorf("%w: length field %q is not four decimal digits", ErrLength, frame[2:6])
	}
	if got := len(frame) - 10; got != n {
		return nil, fmt.Errorf("%w: length field says %d bytes, data segment has %d", ErrLength, n, max(got, 0))
	}
	seg := frame[6 : 6+n]
	sum, ok := hex4(frame[6+n:])
	if !ok {
		return nil, fmt.Errorf("%w: CRC field %q is not four hex digits", ErrCRC, frame[6+n:])
	}
	if want := CRC16(seg); sum != want {
		return nil, fmt.Errorf("%w: frame says %04X, data segment gives %04X", ErrCRC, sum, want)
	}
	return seg, nil
}

// Next finds the first frame in a stream's buffered bytes. skip is the number of bytes before it
// that belong to no frame (garbage between frames, to discard); n is the frame's length including
// CR LF, or 0 when buf holds only the frame's beginning (read more). The frame's length must not
// exceed limit bytes.
//
// With ErrLength the bytes at buf[skip] start with "##" but cannot be a frame (the length field is
// not four digits, or CR LF is not where it says the frame ends): discard skip+1 bytes and call
// Next again, which finds the next "##". With ErrTooLong the length field states more than limit
// bytes: an endless or oversize frame, which a gateway answers by closing the connection.
func Next(buf []byte, limit int) (skip, n int, err error) {
	i := bytes.Index(buf, []byte("##"))
	if i < 0 {
		skip = len(buf)
		if skip > 0 && buf[skip-1] == '#' {
			skip-- // may be the first half of the next header
		}
		return skip, 0, nil
	}
	for i+2 < len(buf) && buf[i+2] == '#' {
		i++ // "###…": the header is the last two
	}
	b := buf[i:]
	if len(b) < 6 {
		return i, 0, nil
	}
	l, ok := digits(b[2:6])
	if !ok {
		return i, 0, fmt.Errorf("%w: length field %q is not four decimal digits", ErrLength, b[2:6])
	}
	total := l + Overhead
	if total > limit {
		return i, 0, fmt.Errorf("%w: length field says a frame of %d bytes, the limit is %d", ErrTooLong, total, limit)
	}
	if len(b) < total {
		return i, 0, nil
	}
	if b[total-2] != '\r' || b[total-1] != '\n' {
		return i, 0, fmt.Errorf("%w: no CR LF after the %d bytes the length field %q states", ErrLength, l, b[2:6])
	}
	return i, total, nil
}

// ParseSegment decodes a data segment's fields (Table 3). ST, CN, PW, MN and CP are required; QN,
// Flag, PNUM and PNO are optional, PNUM and PNO present together and only when Flag's bit D says
// the packet is split (or Flag is absent).
func ParseSegment(seg string) (Packet, error) {
	var p Packet
	i := strings.Index(seg, "CP=&&")
	if i < 0 {
		return p, fmt.Errorf("%w: no CP=&& field", ErrSegment)
	}
	if i > 0 && seg[i-1] != ';' {
		return p, fmt.Errorf("%w: no ; before CP", ErrSegment)
	}
	rest := seg[i+len("CP=&&"):]
	if !strings.HasSuffix(rest, "&&") {
		return p, fmt.Errorf("%w: data area does not end with &&", ErrSegment)
	}
	p.CP = rest[:len(rest)-2]
	seen := map[string]bool{}
	for head := range strings.SplitSeq(strings.TrimSuffix(seg[:i], ";"), ";") {
		if i == 0 {
			break
		}
		key, val, ok := strings.Cut(head, "=")
		if !ok {
			return p, fmt.Errorf("%w: field %q has no =", ErrSegment, head)
		}
		if seen[key] {
			return p, fmt.Errorf("%w: field %s twice", ErrSegment, key)
		}
		seen[key] = true
		if err := p.set(key, val); err != nil {
			return p, fmt.Errorf("%w: %v", ErrSegment, err)
		}
	}
	for _, k := range []string{"ST", "CN", "PW", "MN"} {
		if !seen[k] {
			return p, fmt.Errorf("%w: no %s field", ErrSegment, k)
		}
	}
	if seen["PNUM"] != seen["PNO"] {
		return p, fmt.Errorf("%w: PNUM and PNO must come together", ErrSegment)
	}
	if p.HasFlag && p.Flag.Split() != seen["PNUM"] {
		return p, fmt.Errorf("%w: Flag=%d %s but PNUM/PNO %s", ErrSegment, p.Flag,
			map[bool]string{true: "says split", false: "says not split"}[p.Flag.Split()],
			map[bool]string{true: "present", false: "absent"}[seen["PNUM"]])
	}
	return p, nil
}

func (p *Packet) set(key, val string) error {
	switch key {
	case "QN":
		if len(val) != 17 || !allDigits(val) {
			return fmt.Errorf("QN %q is not YYYYMMDDhhmmsszzz", val)
		}
		p.QN = val
	case "ST":
		if val == "" || len(val) > 3 || !allDigits(val) {
			return fmt.Errorf("ST %q is not a system code", val)
		}
		p.ST = val
	case "CN":
		if val == "" || len(val) > 4 || !allDigits(val) {
			return fmt.Errorf("CN %q is not a command code", val)
		}
		p.CN = val
	case "PW":
		p.PW = val
	case "MN":
		if val == "" || len(val) > 64 {
			return fmt.Errorf("MN %q is empty or longer than 64 characters", val)
		}
		p.MN = val
	case "Flag":
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 || n > 255 || !allDigits(val) {
			return fmt.Errorf("Flag %q is not an integer 0–255", val)
		}
		p.Flag, p.HasFlag = Flag(n), true
	case "PNUM", "PNO":
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 || n > 9999 || !allDigits(val) {
			return fmt.Errorf("%s %q is not an integer 1–9999", key, val)
		}
		if key == "PNUM" {
			p.PNUM = n
		} else {
			p.PNO = n
		}
		if p.PNUM > 0 && p.PNO > p.PNUM {
			return fmt.Errorf("PNO %d > PNUM %d", p.PNO, p.PNUM)
		}
	default:
		return fmt.Errorf("unknown field %q", key)
	}
	return nil
}

// check reports a field Build would write so that Parse could not read it back.
func (p Packet) check() error {
	probe := p
	probe.CP = ""
	if !probe.HasFlag {
		probe.Flag = 0
	}
	got, err := ParseSegment(probe.Segment())
	if err != nil {
		return err
	}
	if got != probe {
		return fmt.Errorf("%w: fields do not read back as written", ErrSegment)
	}
	if strings.Contains(p.CP, "&&") {
		return fmt.Errorf("%w: data area contains &&", ErrSegment)
	}
	return nil
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func hex4(b []byte) (uint16, bool) {
	if len(b) != 4 {
		return 0, false
	}
	var n uint16
	for _, c := range b {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		default:
			return 0, false
		}
		n = n<<4 | uint16(d)
	}
	return n, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
