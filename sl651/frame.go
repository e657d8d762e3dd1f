package sl651

import (
	"encoding/hex"
	"fmt"
	"strconv"
)

// Mode is the frame coding: HEX/BCD (start 7E7EH, binary fields) or ASCII (start SOH,
// every field as characters).
type Mode uint8

// Frame codings.
const (
	HEX Mode = iota
	ASCII
)

func (m Mode) String() string {
	if m == ASCII {
		return "ascii"
	}
	return "hex"
}

// Sizes of the fixed parts (SL 651-2014 Tables 20–23 HEX, 16–17 ASCII).
const (
	hexHeader   = 14 // 7E7E, centre, station, password, function, direction+length, STX
	hexTrailer  = 3  // end character, CRC high, CRC low
	asciiHeader = 24 // SOH, centre 2, station 10, password 4, function 2, direction+length 4, STX
	asciiTrail  = 5  // end character, CRC as four hex characters
	maxBody     = 0x0FFF
	// MaxFrame is the longest frame either mode allows (a 4095-byte body).
	MaxFrame = asciiHeader + maxBody + asciiTrail
)

// Frame is one SL 651 frame. Down is the direction bit (上下行标识: high nibble 8 for
// centre → station); an uplink puts the centre address first and the station second, a
// downlink the other way round. A multi-packet (M3) packet starts with SYN and carries
// Packets (total, 1–4095) and Seq (1-based); Packets is zero for a frame that starts with
// STX. Body is what follows STX (or SYN and its packet numbers) up to the end character:
// bytes in HEX mode, characters in ASCII mode. The ASCII packet numbers are three decimal
// digits each, as open-source implementations write them (not checked against a capture).
type Frame struct {
	Mode     Mode
	Down     bool
	Centre   byte
	Station  Station
	Password uint16
	Func     byte
	Packets  int
	Seq      int
	Body     []byte
	End      byte
}

// IsEnd reports whether c may end a frame (Table 10).
func IsEnd(c byte) bool {
	switch c {
	case ETX, ETB, ENQ, ACK, NAK, EOT, ESC:
		return true
	}
	return false
}

// Index returns the offset of the first byte in b that may start a frame (7E7E or SOH),
// or -1. A lone 7E at the very end counts, as its partner may still come.
func Index(b []byte) int {
	for i, c := range b {
		if c == SOH || c == 0x7E && (i+1 == len(b) || b[i+1] == 0x7E) {
			return i
		}
	}
	return -1
}

// FrameLen returns the whole length of the frame b starts with, as its header states, or
// 0 with a nil error while b is too short to tell. It fails with ErrStart when b does not
// start a frame and ErrFormat when the header cannot be one (the caller resynchronises by
// skipping a byte). It does not check the CRC.
func FrameLen(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	switch {
	case b[0] == 0x7E:
		if len(b) < 2 {
			return 0, nil
		}
		if b[1] != 0x7E {
			return 0, ErrStart
		}
		if len(b) < hexHeader {
			return 0, nil
		}
		_, n, err := dirLen(uint16(b[11])<<8 | uint16(b[12]))
		if err != nil {
			return 0, err
		}
		if b[13] != STX && b[13] != SYN {
			return 0, fmt.Errorf("%w: byte 13 is %02X, not STX or SYN", ErrFormat, b[13])
		}
		return hexHeader + n + hexTrailer, nil
	case b[0] == SOH:
		if len(b) < asciiHeader {
			if !isHexChars(b[1:]) {
				return 0, fmt.Errorf("%w: ASCII header is not hex characters", ErrFormat)
			}
			return 0, nil
		}
		if !isHexChars(b[1 : asciiHeader-1]) {
			return 0, fmt.Errorf("%w: ASCII header is not hex characters", ErrFormat)
		}
		v, _ := strconv.ParseUint(string(b[19:23]), 16, 16)
		_, n, err := dirLen(uint16(v))
		if err != nil {
			return 0, err
		}
		if b[23] != STX && b[23] != SYN {
			return 0, fmt.Errorf("%w: character 23 is %02X, not STX or SYN", ErrFormat, b[23])
		}
		return asciiHeader + n + asciiTrail, nil
	}
	return 0, ErrStart
}

func isHexChars(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'F' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// dirLen splits the direction-and-length field: high nibble 0 (up) or 8 (down), low 12
// bits the body length.
func dirLen(v uint16) (down bool, n int, err error) {
	switch v >> 12 {
	case 0:
	case 8:
		down = true
	default:
		return false, 0, fmt.Errorf("%w: direction nibble %X is neither 0 (up) nor 8 (down)", ErrFormat, v>>12)
	}
	return down, int(v & maxBody), nil
}

// Parse reads exactly one frame of either mode from b and checks its start, length,
// start and end characters and CRC. The returned Body aliases b.
func Parse(b []byte) (Frame, error) {
	n, err := FrameLen(b)
	if err != nil {
		return Frame{}, err
	}
	if n == 0 {
		return Frame{}, fmt.Errorf("%w: %d bytes", ErrShort, len(b))
	}
	if len(b) != n {
		return Frame{}, fmt.Errorf("%w: header states a %d-byte frame, got %d bytes", ErrLength, n, len(b))
	}
	if b[0] == SOH {
		return parseASCII(b)
	}
	return parseHEX(b)
}

func parseHEX(b []byte) (Frame, error) {
	f := Frame{Mode: HEX}
	dl := uint16(b[11])<<8 | uint16(b[12])
	f.Down, _, _ = dirLen(dl)
	n := int(dl & maxBody)
	end := hexHeader + n
	if got, want := uint16(b[end+1])<<8|uint16(b[end+2]), CRC16(b[:end+1]); got != want {
		return Frame{}, fmt.Errorf("%w: frame says %04X, computed %04X", ErrCRC, got, want)
	}
	if f.Down {
		copy(f.Station[:], b[2:7])
		f.Centre = b[7]
	} else {
		f.Centre = b[2]
		copy(f.Station[:], b[3:8])
	}
	f.Password = uint16(b[8])<<8 | uint16(b[9])
	f.Func = b[10]
	f.End = b[end]
	if !IsEnd(f.End) {
		return Frame{}, fmt.Errorf("%w: end character %02X", ErrFormat, f.End)
	}
	f.Body = b[hexHeader:end]
	if b[13] == SYN {
		if n < 3 {
			return Frame{}, fmt.Errorf("%w: SYN packet body of %d bytes has no packet numbers", ErrLength, n)
		}
		v := int(f.Body[0])<<16 | int(f.Body[1])<<8 | int(f.Body[2])
		f.Packets, f.Seq = v>>12, v&0xFFF
		f.Body = f.Body[3:]
		if err := f.checkPacket(); err != nil {
			return Frame{}, err
		}
	}
	return f, nil
}

func parseASCII(b []byte) (Frame, error) {
	f := Frame{Mode: ASCII}
	dl, _ := strconv.ParseUint(string(b[19:23]), 16, 16)
	f.Down, _, _ = dirLen(uint16(dl))
	n := int(dl & maxBody)
	end := asciiHeader + n
	crcText := b[end+1 : end+5]
	got, err := strconv.ParseUint(string(crcText), 16, 16)
	if err != nil {
		return Frame{}, fmt.Errorf("%w: CRC %q is not four hex characters", ErrFormat, crcText)
	}
	if want := CRC16(b[:end+1]); uint16(got) != want {
		return Frame{}, fmt.Errorf("%w: frame says %04X, computed %04X", ErrCRC, got, want)
	}
	var centre [1]byte
	var pw, fn [2]byte
	stationText, centreText := b[3:13], b[1:3]
	if f.Down {
		stationText, centreText = b[1:11], b[11:13]
	}
	mustHex(centre[:], centreText)
	mustHex(f.Station[:], stationText)
	mustHex(pw[:], b[13:17])
	mustHex(fn[:1], b[17:19])
	f.Centre, f.Password, f.Func = centre[0], uint16(pw[0])<<8|uint16(pw[1]), fn[0]
	f.End = b[end]
	if !IsEnd(f.End) {
		return Frame{}, fmt.Errorf("%w: end character %02X", ErrFormat, f.End)
	}
	f.Body = b[asciiHeader:end]
	if b[23] == SYN {
		if n < 6 {
			return Frame{}, fmt.Errorf("%w: SYN packet body of %d characters has no packet numbers", ErrLength, n)
		}
		total, err1 := strconv.Atoi(string(f.Body[:3]))
		seq, err2 := strconv.Atoi(string(f.Body[3:6]))
		if err1 != nil || err2 != nil {
			return Frame{}, fmt.Errorf("%w: packet numbers %q", ErrFormat, f.Body[:6])
		}
		f.Packets, f.Seq, f.Body = total, seq, f.Body[6:]
		if err := f.checkPacket(); err != nil {
			return Frame{}, err
		}
	}
	return f, nil
}

// mustHex decodes text already checked by FrameLen to be hex characters.
func mustHex(dst, text []byte) { _, _ = hex.Decode(dst, text) }

func (f Frame) checkPacket() error {
	if f.Packets < 1 || f.Seq < 1 || f.Seq > f.Packets {
		return fmt.Errorf("%w: packet %d of %d", ErrFormat, f.Seq, f.Packets)
	}
	return nil
}

// Encode returns the frame's bytes with its length and CRC. Body is written as given
// (HEX mode: bytes; ASCII mode: characters).
func (f Frame) Encode() ([]byte, error) {
	return f.AppendEncode(nil)
}

// AppendEncode appends the frame's bytes to dst.
func (f Frame) AppendEncode(dst []byte) ([]byte, error) {
	n := len(f.Body)
	start := byte(STX)
	if f.Packets > 0 {
		if err := f.checkPacket(); err != nil {
			return nil, err
		}
		start = SYN
		n += 3
		if f.Mode == ASCII {
			n += 3
		}
	}
	if n > maxBody {
		return nil, fmt.Errorf("%w: %d", ErrTooLarge, n)
	}
	if !IsEnd(f.End) {
		return nil, fmt.Errorf("%w: end character %02X", ErrFormat, f.End)
	}
	dl := uint16(n)
	if f.Down {
		dl |= 0x8000
	}
	first := len(dst)
	if f.Mode == ASCII {
		dst = append(dst, SOH)
		if f.Down {
			dst = appendHexUpper(dst, f.Station[:]...)
			dst = appendHexUpper(dst, f.Centre)
		} else {
			dst = appendHexUpper(dst, f.Centre)
			dst = appendHexUpper(dst, f.Station[:]...)
		}
		dst = appendHexUpper(dst, byte(f.Password>>8), byte(f.Password), f.Func, byte(dl>>8), byte(dl))
		dst = append(dst, start)
		if f.Packets > 0 {
			dst = fmt.Appendf(dst, "%03d%03d", f.Packets, f.Seq)
		}
		dst = append(dst, f.Body...)
		dst = append(dst, f.End)
		return fmt.Appendf(dst, "%04X", CRC16(dst[first:])), nil
	}
	dst = append(dst, 0x7E, 0x7E)
	if f.Down {
		dst = append(dst, f.Station[:]...)
		dst = append(dst, f.Centre)
	} else {
		dst = append(dst, f.Centre)
		dst = append(dst, f.Station[:]...)
	}
	dst = append(dst, byte(f.Password>>8), byte(f.Password), f.Func, byte(dl>>8), byte(dl), start)
	if f.Packets > 0 {
		v := f.Packets<<12 | f.Seq
		dst = append(dst, byte(v>>16), byte(v>>8), byte(v))
	}
	dst = append(dst, f.Body...)
	dst = append(dst, f.End)
	crc := CRC16(dst[first:])
	return append(dst, byte(crc>>8), byte(crc)), nil
}

func appendHexUpper(dst []byte, b ...byte) []byte {
	const digits = "0123456789ABCDEF"
	for _, c := range b {
		dst = append(dst, digits[c>>4], digits[c&0x0F])
	}
	return dst
}

// Split finds the next frame in a stream buffer. It returns the number of leading bytes
// that are not part of any frame (garbage to drop), the frame's length (0 while more
// bytes are needed), and for a header that cannot be a frame the error FrameLen gave —
// the caller then drops skip+1 bytes and tries again.
func Split(buf []byte) (skip, n int, err error) {
	i := Index(buf)
	if i < 0 {
		if len(buf) > 0 && buf[len(buf)-1] == 0x7E {
			return len(buf) - 1, 0, nil
		}
		return len(buf), 0, nil
	}
	n, err = FrameLen(buf[i:])
	return i, n, err
}
