// Package szy206 reads and writes the frames of SZY 206-2016 《水资源监测数据传输规约》
// (water-resources monitoring data transmission protocol, the protocol of the intake
// meters and RTUs of 取水户; SL/T 427-2021 continues the same frame family): the frame
// 68H L 68H C A AFN data CS 16H with its CRC-8 check, the control field (direction,
// split frame, FCB, function code), the address (administrative code and station), the
// link check (AFN 02H) and the self-reported real-time data (AFN C0H) with flow
// (瞬时流量), cumulative volume (累计水量) and the other elements of data/elements.csv,
// the alarm and terminal status words and the time label Tp.
//
// No text of the standard was available. The frame layout, the CRC and the C0H layout
// are as two open-source implementations agree (see the project's reference,
// standards.md §7), and the CRC is checked by the tests against the check value of
// CRC-8 poly E5H and against two frames published with one of them; element sizes are in
// data/elements.csv, every row marked unverified. The package does no I/O.
package szy206

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Frame markers.
const (
	Start = 0x68
	End   = 0x16
)

// Application function codes (AFN) this package decodes or answers.
const (
	AFNLink     = 0x02 // 链路检测: login F0H, logout F1H, keep-alive F2H
	AFNQueryRT  = 0xB0 // 查询遥测终端实时值
	AFNSelfRT   = 0xC0 // 遥测终端自报实时数据
	AFNAlarm    = 0x81 // 随机自报报警数据
	AFNManual   = 0x82 // 人工置数
	LinkLogin   = 0xF0
	LinkLogout  = 0xF1
	LinkKeepAlv = 0xF2
)

// Errors a frame can fail with; returned errors wrap one of them with details.
var (
	ErrShort       = errors.New("szy206: frame incomplete")
	ErrStart       = errors.New("szy206: no frame start (68H L 68H)")
	ErrLength      = errors.New("szy206: length does not match")
	ErrCRC         = errors.New("szy206: CRC mismatch")
	ErrFormat      = errors.New("szy206: malformed field")
	ErrUnsupported = errors.New("szy206: unsupported function")
)

// CRC8 is the check byte CS over the user data area (C through the end of the data):
// polynomial X7+X6+X5+X2+1 (E5H), initial value 0, most significant bit first, no
// reflection, no final XOR. Its check value for "123456789" is F7H.
func CRC8(b []byte) byte {
	var crc byte
	for _, c := range b {
		crc ^= c
		for range 8 {
			if crc&0x80 != 0 {
				crc = crc<<1 ^ 0xE5
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// Control is the control field C: D7 direction (1 = up from the terminal), D6 DIV (a
// split frame, one DIVS byte follows C), D5–D4 FCB, D3–D0 the function code that says
// what kind of data the frame carries (3 = flow and water volume, …).
type Control byte

// NewControl builds a control field.
func NewControl(up, split bool, fcb, function byte) Control {
	c := Control(fcb&3)<<4 | Control(function&0x0F)
	if up {
		c |= 0x80
	}
	if split {
		c |= 0x40
	}
	return c
}

// Up reports the direction bit: terminal → centre.
func (c Control) Up() bool { return c&0x80 != 0 }

// Split reports the DIV bit.
func (c Control) Split() bool { return c&0x40 != 0 }

// FCB returns the frame count bits.
func (c Control) FCB() byte { return byte(c>>4) & 3 }

// Function returns the function code D3–D0.
func (c Control) Function() byte { return byte(c) & 0x0F }

// Address is the address field A: A1, three BCD bytes of the GB/T 2260 administrative
// code, then A2, the station number in two binary bytes (SL/T 427 also allows 00H and an
// eight-digit station code). Its string form is the ten hex digits as sent.
type Address [5]byte

// String returns the address as ten upper-case hex digits.
func (a Address) String() string { return strings.ToUpper(hex.EncodeToString(a[:])) }

// Region returns A1 as six digits (the administrative code, e.g. "430100" for Changsha).
func (a Address) Region() string { return hex.EncodeToString(a[:3]) }

// Station returns A2 read low byte first, as the open-source implementations read it.
func (a Address) Station() uint16 { return uint16(a[3]) | uint16(a[4])<<8 }

// ParseAddress reads an address written as ten hex digits.
func ParseAddress(s string) (Address, error) {
	var a Address
	if len(s) != 10 {
		return a, fmt.Errorf("%w: address %q is not 10 hex digits", ErrFormat, s)
	}
	if _, err := hex.Decode(a[:], []byte(s)); err != nil {
		return a, fmt.Errorf("%w: address %q: %v", ErrFormat, s, err)
	}
	return a, nil
}
