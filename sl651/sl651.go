// Package sl651 reads and writes the frames of SL 651-2014 《水文监测数据通信规约》
// (hydrological telemetry data communication protocol), the protocol of the RTUs at
// water-intake points (station type I, 49H) and rivers: HEX/BCD frames (start 7E7EH) and
// ASCII frames (start SOH), the CRC-16 both modes end with, the message body of serial
// number, send time, station, observation time (TT) and elements with their data
// definitions (Appendix C identifier table in data/elements.csv), multi-packet messages
// (SYN, M3 mode) and the centre's confirmation frames.
//
// Layouts follow the standard's Tables 10–25 as transcribed in the project's reference
// (standards.md §6); CRC and the decode of the published sample frames are checked by the
// tests. The ASCII-mode body layout and the multi-packet split are as open-source
// implementations do them and are not checked against a captured frame (see Frame).
// The package does no I/O.
package sl651

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Control characters (SL 651-2014 Table 10).
const (
	SOH = 0x01 // ASCII frame start
	STX = 0x02 // body start
	ETX = 0x03 // end of message, nothing follows
	EOT = 0x04 // downlink end: exit, the station may go offline
	ENQ = 0x05 // downlink end: query
	ACK = 0x06 // downlink end: acknowledged
	NAK = 0x15 // downlink end: resend
	SYN = 0x16 // multi-packet body start
	ETB = 0x17 // end of packet, more follow
	ESC = 0x1B // downlink end: keep the station online (10 minutes)
)

// Function codes used by this package (SL 651-2014 Appendix B).
const (
	FnLinkKeep    = 0x2F // 链路维持报
	FnTest        = 0x30 // 测试报
	FnUniform     = 0x31 // 均匀时段水文信息报
	FnTimed       = 0x32 // 遥测站定时报
	FnAdded       = 0x33 // 遥测站加报报
	FnHourly      = 0x34 // 遥测站小时报
	FnManual      = 0x35 // 遥测站人工置数报
	FnPicture     = 0x36 // 遥测站图片报或中心站查询遥测站图片采集信息
	FnQueryRT     = 0x37 // 中心站查询遥测站实时数据
	FnQueryPeriod = 0x38 // 中心站查询遥测站时段数据
	FnQueryManual = 0x39 // 中心站查询遥测站人工置数
	FnQueryElems  = 0x3A // 中心站查询遥测站指定要素数据
)

// CarriesElements reports whether an uplink body of function fn is serial, send time,
// station, observation time and Appendix C elements (Tables 24/25 and the query replies
// that repeat that layout). Other bodies (configuration tables, pictures, clocks) use
// other identifier tables and are kept raw.
func CarriesElements(fn byte) bool {
	switch fn {
	case FnTest, FnUniform, FnTimed, FnAdded, FnHourly, FnManual, FnQueryRT, FnQueryPeriod, FnQueryManual, FnQueryElems:
		return true
	}
	return false
}

// Beijing is the zone of every time an SL 651 station sends (BCD, no zone on the wire).
var Beijing = time.FixedZone("CST", 8*60*60)

// Errors a frame can fail with; the returned error wraps one of them with details.
var (
	ErrShort      = errors.New("sl651: frame incomplete")
	ErrStart      = errors.New("sl651: no frame start (7E7E or SOH)")
	ErrLength     = errors.New("sl651: length does not match")
	ErrCRC        = errors.New("sl651: CRC mismatch")
	ErrFormat     = errors.New("sl651: malformed field")
	ErrTooLarge   = errors.New("sl651: body longer than 4095 bytes")
	ErrReassembly = errors.New("sl651: multi-packet message")
)

// CRC16 is the check of SL 651-2014 §6.5 over every byte before it, polynomial
// X16+X15+X2+1 in its reflected form (0xA001), initial value FFFFH, no final XOR — the
// parameters of CRC-16/MODBUS. SL 651 transmits it high byte first (HEX mode) or as four
// hex characters (ASCII mode); Modbus RTU sends the low byte first.
func CRC16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// Station is a telemetry station address (遥测站地址), five bytes A5..A1. Hydrological
// stations are 00 + 8 BCD digits; water-resources stations carry an administrative code
// and a binary number. Its string form is the ten hex digits as sent.
type Station [5]byte

// String returns the address as ten upper-case hex digits.
func (s Station) String() string { return strings.ToUpper(hex.EncodeToString(s[:])) }

// ParseStation reads a station address written as ten hex digits.
func ParseStation(s string) (Station, error) {
	var st Station
	if len(s) != 10 {
		return st, fmt.Errorf("%w: station %q is not 10 hex digits", ErrFormat, s)
	}
	if _, err := hex.Decode(st[:], []byte(s)); err != nil {
		return st, fmt.Errorf("%w: station %q: %v", ErrFormat, s, err)
	}
	return st, nil
}
