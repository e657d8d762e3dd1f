// Package cjt188 reads and writes the frames of CJ/T 188 (户用计量仪表数据传输技术条件, the
// 2004 edition and the 2018 edition, which keeps the 2004 frame family), the protocol of
// household and utility water, heat and gas meters on M-Bus, RS-485 and NB-IoT:
//
//	[FE …] 68H | T | A0…A6 (BCD, low byte first) | C | L | DATA (L bytes) | CS | 16H
//
// CS is the sum of the bytes from 68H to the end of DATA, modulo 256. The standard's text
// was not available when this package was written: the layout, the control codes, the
// read-metering-data payload (DI 90 1F) and the unit codes come from open-source
// implementations (see the reference notes), and one request/reply pair was checked by hand.
// Facts seen in one implementation only are marked unverified where they are used.
//
// The package is pure: no I/O. Parse checks one frame, Split finds frames in a byte
// stream, Build writes a frame (read requests for a meter, replies for tests) and
// DecodeMeterData reads the DI 90 1F payload into named values.
package cjt188

import (
	"errors"
	"fmt"
)

// Frame bytes.
const (
	Preamble byte = 0xFE // wake-up bytes before 68H; any number, skipped
	Start    byte = 0x68
	End      byte = 0x16
)

// Meter types (T). Water 10H–19H, heat 20H–29H, gas 30H–39H, electricity 40H–49H. The
// codes 10H, 30H and 40H are seen in implementations; the others are unverified.
const (
	TypeColdWater   byte = 0x10 // 冷水水表
	TypeHotWater    byte = 0x11 // 生活热水水表 (unverified)
	TypeDrinking    byte = 0x12 // 直饮水水表 (unverified)
	TypeReuseWater  byte = 0x13 // 中水水表 (unverified)
	TypeHeat        byte = 0x20 // 热量表 (unverified)
	TypeGas         byte = 0x30 // 燃气表
	TypeElectricity byte = 0x40 // 电度表
)

// Control codes (C): a request, and its reply with bit 7 set; an error reply also sets bit 6.
const (
	CtrlReadData      byte = 0x01 // 读数据 → 81H
	CtrlReadAddress   byte = 0x03 // 读地址 → 83H
	CtrlWriteData     byte = 0x04 // 写数据 → 84H
	CtrlReadKey       byte = 0x09 // 读密钥 → 89H
	CtrlWriteAddress  byte = 0x15 // 写地址 → 95H
	CtrlWriteSyncData byte = 0x16 // 写机电同步数据 → 96H

	CtrlReply byte = 0x80 // bit 7: the meter answers
	CtrlError byte = 0x40 // bit 6: the answer is an error
)

// DI (data identifier) of the read-metering-data request and reply, as on the wire.
var DIMeterData = [2]byte{0x90, 0x1F}

// DIAddress is the DI of a read-address request (81 0A on the wire in implementations;
// unverified).
var DIAddress = [2]byte{0x81, 0x0A}

// BroadcastAddress (all AAH) is the address a read-address request goes to when the
// meter's own address is unknown.
var BroadcastAddress = Address{0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA}

// MinFrame is the shortest frame: 68 T A×7 C L CS 16 with no data.
const MinFrame = 13

// MaxFrame is the longest frame: L is one byte.
const MaxFrame = MinFrame + 255

// Errors of Parse; the returned errors wrap one of them and name the field.
var (
	ErrShort    = errors.New("cjt188: frame too short")
	ErrStart    = errors.New("cjt188: no start byte 68H")
	ErrLength   = errors.New("cjt188: length does not match")
	ErrChecksum = errors.New("cjt188: checksum (CS) does not match")
	ErrEnd      = errors.New("cjt188: no end byte 16H")
	ErrAddress  = errors.New("cjt188: address is not BCD")
	ErrData     = errors.New("cjt188: bad data")
)

// Address is a meter's address A0…A6 as on the wire: BCD, low byte first. Its String is
// the 14 digits high byte first (A6…A0), as printed on the meter.
type Address [7]byte

// String returns the 14 digits, A6 first; bytes that are not BCD (AAH broadcast) print as
// two hex digits.
func (a Address) String() string {
	b := make([]byte, 0, 14)
	for i := 6; i >= 0; i-- {
		b = fmt.Appendf(b, "%02X", a[i])
	}
	return string(b)
}

// IsBCD reports whether every byte of a is two decimal digits.
func (a Address) IsBCD() bool {
	for _, c := range a {
		if !bcdByte(c) {
			return false
		}
	}
	return true
}

// ParseAddress reads 14 decimal digits (high first, as printed) into an Address.
func ParseAddress(s string) (Address, error) {
	var a Address
	if len(s) != 14 {
		return a, fmt.Errorf("%w: address %q: want 14 digits", ErrAddress, s)
	}
	for i := 0; i < 7; i++ {
		hi, lo := s[2*i], s[2*i+1]
		if hi < '0' || hi > '9' || lo < '0' || lo > '9' {
			return a, fmt.Errorf("%w: address %q: want 14 digits", ErrAddress, s)
		}
		a[6-i] = (hi-'0')<<4 | (lo - '0')
	}
	return a, nil
}

// Frame is one CJ/T 188 frame. Data is the DATA field: for read requests and replies, DI0
// DI1 SER and the payload.
type Frame struct {
	Type    byte
	Address Address
	Control byte
	Data    []byte
}

// Reply reports whether the frame comes from the meter (C bit 7).
func (f Frame) Reply() bool { return f.Control&CtrlReply != 0 }

// Error reports whether the frame is a meter's error reply (C bits 7 and 6).
func (f Frame) Error() bool { return f.Control&(CtrlReply|CtrlError) == CtrlReply|CtrlError }

// Function is the control code without the reply and error bits (01H read data …).
func (f Frame) Function() byte { return f.Control &^ (CtrlReply | CtrlError) }

// Checksum is CJ/T 188's CS: the byte sum of b modulo 256.
func Checksum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return s
}

// Build writes the frame, preceded by preamble FEH bytes (meters on M-Bus expect two to
// four; NB-IoT platforms usually deliver none).
func (f Frame) Build(preamble int) ([]byte, error) {
	if len(f.Data) > 255 {
		return nil, fmt.Errorf("%w: data of %d bytes, L holds 255", ErrLength, len(f.Data))
	}
	if preamble < 0 || preamble > 16 {
		return nil, fmt.Errorf("cjt188: preamble of %d bytes: want 0-16", preamble)
	}
	out := make([]byte, 0, preamble+MinFrame+len(f.Data))
	for range preamble {
		out = append(out, Preamble)
	}
	start := len(out)
	out = append(out, Start, f.Type)
	out = append(out, f.Address[:]...)
	out = append(out, f.Control, byte(len(f.Data)))
	out = append(out, f.Data...)
	out = append(out, Checksum(out[start:]), End)
	return out, nil
}

// FrameLen returns the length of the frame b starts with (b[0] must be 68H), or 0 while
// b is too short to tell.
func FrameLen(b []byte) int {
	if len(b) < 11 {
		return 0
	}
	return MinFrame + int(b[10])
}

// Parse checks one frame: leading FEH bytes are skipped; then the start byte, the length
// L against the bytes received, CS and the end byte. Nothing may follow the end byte. The
// address must be BCD or the AAH broadcast. Data is a copy.
func Parse(b []byte) (Frame, error) {
	i := 0
	for i < len(b) && b[i] == Preamble {
		i++
	}
	b = b[i:]
	if len(b) == 0 {
		return Frame{}, fmt.Errorf("%w: no bytes after %d preamble bytes", ErrShort, i)
	}
	if b[0] != Start {
		return Frame{}, fmt.Errorf("%w: start byte is %02XH", ErrStart, b[0])
	}
	if len(b) < MinFrame {
		return Frame{}, fmt.Errorf("%w: %d bytes, a frame has at least %d", ErrShort, len(b), MinFrame)
	}
	n := FrameLen(b)
	if len(b) != n {
		return Frame{}, fmt.Errorf("%w: L=%d says %d bytes, got %d", ErrLength, b[10], n, len(b))
	}
	if cs := Checksum(b[:n-2]); cs != b[n-2] {
		return Frame{}, fmt.Errorf("%w: CS is %02XH, the bytes sum to %02XH", ErrChecksum, b[n-2], cs)
	}
	if b[n-1] != End {
		return Frame{}, fmt.Errorf("%w: end byte is %02XH", ErrEnd, b[n-1])
	}
	var f Frame
	f.Type = b[1]
	copy(f.Address[:], b[2:9])
	if !f.Address.IsBCD() && f.Address != BroadcastAddress {
		return Frame{}, fmt.Errorf("%w: address %s", ErrAddress, f.Address)
	}
	f.Control = b[9]
	f.Data = append([]byte(nil), b[11:n-2]...)
	return f, nil
}

// Split finds the first frame in a byte stream: it returns the frame's bytes (from 68H),
// the bytes consumed and ok. Bytes before a 68H that starts no valid frame are skipped
// one at a time (resync); while the frame at the head is incomplete it returns
// consumed = the garbage skipped and ok false, so the caller reads more.
func Split(b []byte) (frame []byte, consumed int, ok bool) {
	for i := 0; i < len(b); i++ {
		if b[i] != Start {
			continue
		}
		n := FrameLen(b[i:])
		if n == 0 || len(b)-i < n {
			return nil, i, false
		}
		cand := b[i : i+n]
		if _, err := Parse(cand); err == nil {
			return cand, i + n, true
		}
	}
	return nil, len(b), false
}

func bcdByte(c byte) bool { return c>>4 <= 9 && c&0x0F <= 9 }
