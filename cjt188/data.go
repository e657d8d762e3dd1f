package cjt188

import (
	"fmt"
	"math"
	"time"
)

// China is the zone of a meter's clock (Beijing time, UTC+8, no daylight saving).
var China = time.FixedZone("CST", 8*3600)

// Unit is a unit code of the read-metering-data payload.
type Unit struct {
	Code     byte
	Name     string  // as written in reports: "m3", "L" …
	ToM3     float64 // factor to cubic metres; 0: not a volume
	Verified bool    // seen in a checked sample frame (only 2CH so far)
}

// Units are the unit codes known from implementations; only 2CH (m³) was seen in a
// checked sample, the others are unverified.
var Units = []Unit{
	{Code: 0x2C, Name: "m3", ToM3: 1, Verified: true},
	{Code: 0x29, Name: "L", ToM3: 0.001},
	{Code: 0x35, Name: "m3/h"},
	{Code: 0x32, Name: "L/h"},
	{Code: 0x05, Name: "kWh"},
	{Code: 0x11, Name: "GJ"},
}

// LookupUnit returns the unit of a code.
func LookupUnit(code byte) (Unit, bool) {
	for _, u := range Units {
		if u.Code == code {
			return u, true
		}
	}
	return Unit{}, false
}

// Quantity is a 4-byte BCD value (2 decimals, low byte first) with its unit code.
type Quantity struct {
	Value float64
	Unit  byte
}

// M3 returns the quantity in cubic metres, or an error when its unit is unknown or no
// volume.
func (q Quantity) M3() (float64, error) {
	u, ok := LookupUnit(q.Unit)
	if !ok {
		return 0, fmt.Errorf("unit code %02XH is unknown", q.Unit)
	}
	if u.ToM3 == 0 {
		return 0, fmt.Errorf("unit %s (%02XH) is no volume", u.Name, q.Unit)
	}
	return q.Value * u.ToM3, nil
}

// MeterData is the payload of a read-metering-data reply (DI 90 1F) of a water or gas
// meter: DI0 DI1 SER, current cumulative flow, settlement-day cumulative flow, the
// meter's real time and its status ST.
type MeterData struct {
	SER        byte
	Total      Quantity  // 当前累积流量
	Settlement Quantity  // 结算日累积流量
	Time       time.Time // 实时时间, Beijing time; zero when the meter sent all zeros
	Status     [2]byte   // ST as sent
}

// MeterDataLen is the length of the DI 90 1F reply's DATA.
const MeterDataLen = 3 + 5 + 5 + 7 + 2

// DecodeMeterData reads the DATA of a read-metering-data reply.
func DecodeMeterData(data []byte) (MeterData, error) {
	var d MeterData
	if len(data) < 2 || data[0] != DIMeterData[0] || data[1] != DIMeterData[1] {
		return d, fmt.Errorf("%w: DI: want 90 1F (read metering data)", ErrData)
	}
	if len(data) != MeterDataLen {
		return d, fmt.Errorf("%w: DI 90 1F data of %d bytes, want %d", ErrData, len(data), MeterDataLen)
	}
	d.SER = data[2]
	var err error
	if d.Total.Value, err = bcdValue(data[3:7]); err != nil {
		return d, fmt.Errorf("%w: current cumulative flow: %v", ErrData, err)
	}
	d.Total.Unit = data[7]
	if d.Settlement.Value, err = bcdValue(data[8:12]); err != nil {
		return d, fmt.Errorf("%w: settlement-day cumulative flow: %v", ErrData, err)
	}
	d.Settlement.Unit = data[12]
	if d.Time, err = decodeTime(data[13:20]); err != nil {
		return d, fmt.Errorf("%w: real time: %v", ErrData, err)
	}
	copy(d.Status[:], data[20:22])
	return d, nil
}

// Encode writes the DATA of a read-metering-data reply (for tests and simulators).
// Values are rounded to 2 decimals and must lie in 0-999999.99; the zero time is
// written as all zeros (the meter's clock not set).
func (d MeterData) Encode() ([]byte, error) {
	out := make([]byte, 0, MeterDataLen)
	out = append(out, DIMeterData[0], DIMeterData[1], d.SER)
	for _, q := range []struct {
		name string
		q    Quantity
	}{{"current cumulative flow", d.Total}, {"settlement-day cumulative flow", d.Settlement}} {
		b, err := bcdEncode(q.q.Value)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrData, q.name, err)
		}
		out = append(out, b[:]...)
		out = append(out, q.q.Unit)
	}
	t, err := encodeTime(d.Time)
	if err != nil {
		return nil, fmt.Errorf("%w: real time: %v", ErrData, err)
	}
	out = append(out, t[:]...)
	return append(out, d.Status[:]...), nil
}

// Values returns the payload as named values: total_m3 and settlement_m3 (in cubic
// metres, from the unit code). A quantity whose unit is unknown or no volume is an error.
func (d MeterData) Values() (map[string]float64, error) {
	total, err := d.Total.M3()
	if err != nil {
		return nil, fmt.Errorf("%w: current cumulative flow: %v", ErrData, err)
	}
	settle, err := d.Settlement.M3()
	if err != nil {
		return nil, fmt.Errorf("%w: settlement-day cumulative flow: %v", ErrData, err)
	}
	return map[string]float64{"total_m3": total, "settlement_m3": settle}, nil
}

// Valve states of ST byte 0 bits D0–D1 (unverified: some firmware uses other bits).
const (
	ValveOpen     = "open"
	ValveClosed   = "closed"
	ValveAbnormal = "abnormal"
	ValveUnknown  = "unknown"
)

// Valve reads ST byte 0 bits D0–D1: 00 open, 01 closed, 11 abnormal. Unverified: the
// layout comes from one implementation, another masks bits 6–7; vendors configure it.
func (d MeterData) Valve() string {
	switch d.Status[0] & 0x03 {
	case 0:
		return ValveOpen
	case 1:
		return ValveClosed
	case 3:
		return ValveAbnormal
	}
	return ValveUnknown
}

// BatteryLow reads ST byte 0 bit D2 (电池欠压). Unverified, as Valve.
func (d MeterData) BatteryLow() bool { return d.Status[0]&0x04 != 0 }

// ReadData returns the request for a meter's metering data (C 01H, DI 90 1F).
func ReadData(t byte, a Address, ser byte) Frame {
	return Frame{Type: t, Address: a, Control: CtrlReadData, Data: []byte{DIMeterData[0], DIMeterData[1], ser}}
}

// ReadAddress returns the request for the address of the one meter on the bus (C 03H,
// DI 81 0A, broadcast address).
func ReadAddress(t byte, ser byte) Frame {
	return Frame{Type: t, Address: BroadcastAddress, Control: CtrlReadAddress, Data: []byte{DIAddress[0], DIAddress[1], ser}}
}

// MeterDataReply returns a meter's reply (C 81H) carrying d.
func MeterDataReply(t byte, a Address, d MeterData) (Frame, error) {
	data, err := d.Encode()
	if err != nil {
		return Frame{}, err
	}
	return Frame{Type: t, Address: a, Control: CtrlReadData | CtrlReply, Data: data}, nil
}

// bcdValue reads 4 BCD bytes, low byte first, as a number with 2 decimals.
func bcdValue(b []byte) (float64, error) {
	var n uint64
	for i := len(b) - 1; i >= 0; i-- {
		if !bcdByte(b[i]) {
			return 0, fmt.Errorf("byte %d (%02XH) is not BCD", i, b[i])
		}
		n = n*100 + uint64(b[i]>>4)*10 + uint64(b[i]&0x0F)
	}
	return float64(n) / 100, nil
}

// bcdEncode writes v (0 … 999999.99) as 4 BCD bytes with 2 decimals, low byte first.
func bcdEncode(v float64) ([4]byte, error) {
	var b [4]byte
	if math.IsNaN(v) || v < 0 || v > 999999.99 {
		return b, fmt.Errorf("%v outside 0-999999.99", v)
	}
	n := uint64(math.Round(v * 100))
	for i := range b {
		d := n % 100
		b[i] = byte(d/10)<<4 | byte(d%10)
		n /= 100
	}
	return b, nil
}

// decodeTime reads 7 BCD bytes ss mm hh DD MM YY(low) YY(high). All zeros: not set.
// The byte order is from implementations (unverified against the standard's text).
func decodeTime(b []byte) (time.Time, error) {
	zero := true
	var d [7]int
	for i, c := range b {
		if c != 0 {
			zero = false
		}
		if !bcdByte(c) {
			return time.Time{}, fmt.Errorf("byte %d (%02XH) is not BCD", i, c)
		}
		d[i] = int(c>>4)*10 + int(c&0x0F)
	}
	if zero {
		return time.Time{}, nil
	}
	year := d[6]*100 + d[5]
	t := time.Date(year, time.Month(d[4]), d[3], d[2], d[1], d[0], 0, China)
	if t.Year() != year || int(t.Month()) != d[4] || t.Day() != d[3] || t.Hour() != d[2] || t.Minute() != d[1] || t.Second() != d[0] {
		return time.Time{}, fmt.Errorf("%04d-%02d-%02d %02d:%02d:%02d is no date", year, d[4], d[3], d[2], d[1], d[0])
	}
	return t, nil
}

// encodeTime writes t in Beijing time as decodeTime reads it; the zero time as zeros.
func encodeTime(t time.Time) ([7]byte, error) {
	var b [7]byte
	if t.IsZero() {
		return b, nil
	}
	t = t.In(China)
	if t.Year() < 0 || t.Year() > 9999 {
		return b, fmt.Errorf("year %d outside 0-9999", t.Year())
	}
	for i, v := range []int{t.Second(), t.Minute(), t.Hour(), t.Day(), int(t.Month()), t.Year() % 100, t.Year() / 100} {
		b[i] = byte(v/10)<<4 | byte(v%10)
	}
	return b, nil
}
