package szy206

import (
	"embed"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/internal/table"
)

// Beijing is the zone of the terminal's time label.
var Beijing = time.FixedZone("CST", 8*60*60)

//go:embed data/elements.csv
var dataFiles embed.FS

// ElementDef is one row of data/elements.csv: how the data of a control-field function
// code is laid out.
type ElementDef struct {
	Function byte
	Name     string // key of decoded values: "flow" → "flow1", "flow2", … when Repeat
	Quantity string
	Unit     string
	Bytes    int
	Decimals int
	Signed   bool
	Repeat   bool
	Verified bool
}

var elements = mustLoadElements()

func mustLoadElements() map[byte][]ElementDef {
	m, err := loadElements()
	if err != nil {
		panic(err) // the embedded table is part of the program; TestElementTable reads it
	}
	return m
}

func loadElements() (map[byte][]ElementDef, error) {
	const name = "data/elements.csv"
	h, rows, err := table.Read(dataFiles, name)
	if err != nil {
		return nil, err
	}
	m := map[byte][]ElementDef{}
	for i, r := range rows {
		fn, err1 := strconv.ParseUint(r[h["function"]], 10, 4)
		n, err2 := strconv.Atoi(r[h["bytes"]])
		dec, err3 := strconv.Atoi(r[h["decimals"]])
		if err1 != nil || err2 != nil || err3 != nil || n < 1 || n > 7 || dec < 0 || dec > 2*n {
			return nil, fmt.Errorf("%s row %d: bad function, bytes or decimals", name, i+1)
		}
		m[byte(fn)] = append(m[byte(fn)], ElementDef{Function: byte(fn), Name: r[h["name"]], Quantity: r[h["quantity"]],
			Unit: r[h["unit"]], Bytes: n, Decimals: dec, Signed: r[h["signed"]] == "yes", Repeat: r[h["repeat"]] == "yes",
			Verified: r[h["verified"]] == "yes"})
	}
	return m, nil
}

// Elements returns the layout of a function code's data (nil if the table has none).
func Elements(function byte) []ElementDef { return elements[function] }

// Options are the per-device choices the frame does not state.
type Options struct {
	// TpLen is the time label's length: 5 (SZY 206-2016: second, minute, hour, day,
	// allowed delay; the default) or 7 (SL/T 427-2021: … day, month, year, delay).
	TpLen int
	// FlowOnly says a flow report (function 3) carries flows only; by default each flow
	// is followed by its cumulative volume when the data is a whole number of pairs.
	FlowOnly bool
}

func (o Options) tpLen() int {
	if o.TpLen == 7 {
		return 7
	}
	return 5
}

// Value is one decoded element.
type Value struct {
	Name    string // "flow1", "volume1", "level1", "rain", …
	Value   float64
	Missing bool // AAH or FFH fill: not measured
}

// Report is the data of a self-report (AFN C0H): the values of the control field's
// function, the alarm word and terminal status word (two bytes each, as sent) and the
// time label.
type Report struct {
	Function byte
	Values   []Value
	Alarm    [2]byte
	Status   [2]byte
	Time     time.Time
	Delay    byte // allowed transmission delay (minutes), as sent
}

// DecodeReport reads a self-report frame (AFN C0H). A five-byte time label has no month
// and year; they are those of the latest such time not after now plus one day.
func DecodeReport(f Frame, o Options, now time.Time) (Report, error) {
	if f.AFN != AFNSelfRT {
		return Report{}, fmt.Errorf("%w: AFN %02X is not a self-report (C0H)", ErrUnsupported, f.AFN)
	}
	r := Report{Function: f.Control.Function()}
	defs := elements[r.Function]
	if defs == nil {
		return r, fmt.Errorf("%w: control function %d", ErrUnsupported, r.Function)
	}
	tp := o.tpLen()
	d := f.Data
	if len(d) < 4+tp {
		return r, fmt.Errorf("%w: %d data bytes, no room for alarm, status and a %d-byte time label", ErrLength, len(d), tp)
	}
	body, tail := d[:len(d)-4-tp], d[len(d)-4-tp:]
	copy(r.Alarm[:], tail[0:2])
	copy(r.Status[:], tail[2:4])
	t, err := tpTime(tail[4:], now)
	if err != nil {
		return r, fmt.Errorf("time label: %w", err)
	}
	r.Time, r.Delay = t, tail[len(tail)-1]
	if r.Values, err = decodeValues(body, defs, o); err != nil {
		return r, err
	}
	return r, nil
}

// entry returns the element layout one entry of the data has: for function 3 the flow and
// (unless flow-only or the data are not whole pairs) the volume.
func entry(defs []ElementDef, n int, o Options) []ElementDef {
	if len(defs) < 2 {
		return defs
	}
	pair := defs[0].Bytes + defs[1].Bytes
	if o.FlowOnly || n%pair != 0 {
		return defs[:1]
	}
	return defs[:2]
}

func decodeValues(b []byte, defs []ElementDef, o Options) ([]Value, error) {
	e := entry(defs, len(b), o)
	size := 0
	for _, d := range e {
		size += d.Bytes
	}
	if len(b) == 0 || len(b)%size != 0 || !e[0].Repeat && len(b) != size {
		return nil, fmt.Errorf("%w: %d data bytes are not whole %s entries of %d bytes", ErrLength, len(b), e[0].Name, size)
	}
	var out []Value
	for i := 0; len(b) > 0; i++ {
		for _, d := range e {
			v := Value{Name: d.Name}
			if d.Repeat {
				v.Name += strconv.Itoa(i + 1)
			}
			var err error
			v.Value, v.Missing, err = bcdLE(b[:d.Bytes], d.Decimals, d.Signed)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", v.Name, err)
			}
			out = append(out, v)
			b = b[d.Bytes:]
		}
	}
	return out, nil
}

// bcdLE reads BCD digits sent low byte first; with signed, a top nibble F marks a
// negative value. All-AAH or all-FFH data is the fill for "not measured".
func bcdLE(d []byte, decimals int, signed bool) (float64, bool, error) {
	if fill(d, 0xAA) || fill(d, 0xFF) {
		return 0, true, nil
	}
	var digits []byte
	neg := false
	for i := len(d) - 1; i >= 0; i-- {
		for k, n := range []byte{d[i] >> 4, d[i] & 0x0F} {
			if i == len(d)-1 && k == 0 && signed && n == 0x0F {
				neg = true
				continue
			}
			if n > 9 {
				return 0, false, fmt.Errorf("%w: % X is not BCD", ErrFormat, d)
			}
			digits = append(digits, '0'+n)
		}
	}
	for len(digits) <= decimals {
		digits = append([]byte{'0'}, digits...)
	}
	s := string(digits[:len(digits)-decimals]) + "." + string(digits[len(digits)-decimals:])
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if neg {
		v = -v
	}
	return v, false, nil
}

func fill(d []byte, c byte) bool {
	for _, x := range d {
		if x != c {
			return false
		}
	}
	return len(d) > 0
}

func appendBCDLE(dst []byte, v float64, n, decimals int, signed bool) ([]byte, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 && !signed {
		return nil, fmt.Errorf("%w: value %v", ErrFormat, v)
	}
	digits := strconv.FormatFloat(math.Round(math.Abs(v)*math.Pow10(decimals)), 'f', 0, 64)
	room := 2 * n
	prefix := ""
	if v < 0 && digits != "0" {
		prefix, room = "F", room-1
	}
	if len(digits) > room {
		return nil, fmt.Errorf("%w: %v does not fit %d BCD bytes with %d decimals", ErrFormat, v, n, decimals)
	}
	digits = prefix + strings.Repeat("0", room-len(digits)) + digits
	out := make([]byte, n)
	for i := range n { // digits are most significant first; bytes go low first
		hi, lo := digits[2*i], digits[2*i+1]
		out[n-1-i] = nib(hi)<<4 | nib(lo)
	}
	return append(dst, out...), nil
}

// defOf finds the row a value name ("flow2") belongs to.
func defOf(defs []ElementDef, name string) (ElementDef, bool) {
	base := strings.TrimRight(name, "0123456789")
	for _, d := range defs {
		if d.Name == base && (d.Repeat != (base == name)) {
			return d, true
		}
	}
	return ElementDef{}, false
}

func nib(c byte) byte {
	if c == 'F' {
		return 0x0F
	}
	return c - '0'
}

// tpTime reads the time label: second, minute, hour, day (and with seven bytes month,
// year) in BCD, then the delay byte.
func tpTime(b []byte, now time.Time) (time.Time, error) {
	f := make([]int, len(b)-1)
	for i, c := range b[:len(b)-1] {
		if c>>4 > 9 || c&0x0F > 9 {
			return time.Time{}, fmt.Errorf("%w: % X is not BCD", ErrFormat, b)
		}
		f[i] = int(c>>4)*10 + int(c&0x0F)
	}
	sec, mi, h, day := f[0], f[1], f[2], f[3]
	if sec > 59 || mi > 59 || h > 23 || day < 1 || day > 31 {
		return time.Time{}, fmt.Errorf("%w: no such time: day %d %02d:%02d:%02d", ErrFormat, day, h, mi, sec)
	}
	if len(f) == 6 {
		t := time.Date(2000+f[5], time.Month(f[4]), day, h, mi, sec, 0, Beijing)
		if t.Day() != day || int(t.Month()) != f[4] {
			return time.Time{}, fmt.Errorf("%w: no such date 20%02d-%02d-%02d", ErrFormat, f[5], f[4], day)
		}
		return t, nil
	}
	now = now.In(Beijing)
	limit := now.Add(24 * time.Hour)
	for back := 0; back < 3; back++ { // a day 29–31 is found within two months back
		t := time.Date(now.Year(), now.Month()-time.Month(back), day, h, mi, sec, 0, Beijing)
		if t.Day() == day && !t.After(limit) {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: day %d not found near %s", ErrFormat, day, now.Format("2006-01"))
}

func appendTp(dst []byte, t time.Time, delay byte, tpLen int) []byte {
	t = t.In(Beijing)
	f := []int{t.Second(), t.Minute(), t.Hour(), t.Day()}
	if tpLen == 7 {
		f = append(f, int(t.Month()), t.Year()%100)
	}
	for _, v := range f {
		dst = append(dst, byte(v/10)<<4|byte(v%10))
	}
	return append(dst, delay)
}

// EncodeReport writes a self-report's data (values, alarm, status, time label) as
// DecodeReport reads it. Values are written in order with the sizes of the function's
// table rows; the names are not written.
func EncodeReport(r Report, o Options) ([]byte, error) {
	defs := elements[r.Function]
	if defs == nil {
		return nil, fmt.Errorf("%w: control function %d", ErrUnsupported, r.Function)
	}
	if len(r.Values) == 0 {
		return nil, fmt.Errorf("%w: no values", ErrFormat)
	}
	var b []byte
	for _, v := range r.Values {
		d, ok := defOf(defs, v.Name)
		if !ok {
			return nil, fmt.Errorf("%w: %q is not an element of function %d", ErrFormat, v.Name, r.Function)
		}
		if v.Missing {
			b = append(b, []byte(strings.Repeat("\xAA", d.Bytes))...)
			continue
		}
		var err error
		if b, err = appendBCDLE(b, v.Value, d.Bytes, d.Decimals, d.Signed); err != nil {
			return nil, fmt.Errorf("%s: %w", v.Name, err)
		}
	}
	b = append(b, r.Alarm[:]...)
	b = append(b, r.Status[:]...)
	return appendTp(b, r.Time, r.Delay, o.tpLen()), nil
}
