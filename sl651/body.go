package sl651

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Message is a decoded body (SL 651-2014 Tables 24/25): serial number (流水号), send
// time (发报时间), the station group (F1F1: address and 分类码), and the elements, each
// with the observation time (TT, F0F0) in force where it stands. Bodies whose function
// carries no Appendix C elements (downlinks, configuration, pictures) keep what follows
// the send time in Rest.
type Message struct {
	Serial      uint16
	SendTime    time.Time
	HasStation  bool
	Station     Station
	StationType byte // 遥测站分类码, an ASCII letter: 'H' river, 'I' water intake, …
	Elements    []Element
	Rest        []byte
}

// Element is one identifier and its data. Bytes and Decimals are the definition byte's
// (HEX mode) or the written value's (ASCII mode); a builder leaves them 0 to use the
// identifier table's N(D,d).
type Element struct {
	ID       uint16    // identifier byte, or FFxxH for a user extension
	Time     time.Time // observation time in force; zero when the body states none
	Value    float64   // BCD and Binary codings
	Missing  bool      // data all FFH: not measured
	Bytes    int
	Decimals int
	Series   []float64 // DRP and DRZ codings: twelve 5-minute values, NaN where missing
	Text     []byte    // Text coding: the data as sent
}

// Name is the key the element's value is reported under (see ElementName).
func (e Element) Name() string { return ElementName(e.ID) }

func (e Element) coding() Coding {
	if e.ID > 0xFF {
		return BCD
	}
	if d, ok := LookupElement(byte(e.ID)); ok {
		return d.Coding
	}
	return BCD
}

// DataTime is the time a message's data stand for: the first observation time, or the
// send time when the body states none (link keep-alive).
func (m Message) DataTime() time.Time {
	for _, e := range m.Elements {
		if !e.Time.IsZero() {
			return e.Time
		}
	}
	return m.SendTime
}

// Decode reads a frame's body. Uplinks of the report functions (30H–35H, 37H–3AH) are
// decoded element by element; other bodies as serial, send time and Rest. A packet of a
// multi-packet message must be reassembled first.
func Decode(f Frame) (Message, error) {
	if f.Packets > 0 {
		return Message{}, fmt.Errorf("%w: packet %d of %d is not a whole message", ErrReassembly, f.Seq, f.Packets)
	}
	elems := !f.Down && CarriesElements(f.Func)
	if f.Mode == ASCII {
		return decodeASCII(f.Body, elems)
	}
	return decodeHEX(f.Body, elems)
}

func decodeHEX(b []byte, elems bool) (Message, error) {
	var m Message
	if len(b) < 8 {
		if len(b) == 0 && !elems {
			return m, nil
		}
		return m, fmt.Errorf("%w: body of %d bytes has no serial and send time", ErrLength, len(b))
	}
	m.Serial = uint16(b[0])<<8 | uint16(b[1])
	t, err := bcdTime(b[2:8])
	if err != nil {
		return m, fmt.Errorf("send time: %w", err)
	}
	m.SendTime = t
	b = b[8:]
	if !elems {
		m.Rest = b
		return m, nil
	}
	var obs time.Time
	for len(b) > 0 {
		if len(b) < 2 {
			return m, fmt.Errorf("%w: identifier %02X without a definition byte", ErrLength, b[0])
		}
		id, def := uint16(b[0]), b[1]
		switch {
		case id == 0xF0:
			if def != 0xF0 || len(b) < 7 {
				return m, fmt.Errorf("%w: observation time group F0 %02X", ErrFormat, def)
			}
			if obs, err = bcdTime(b[2:7]); err != nil {
				return m, fmt.Errorf("observation time: %w", err)
			}
			b = b[7:]
			continue
		case id == 0xF1:
			if def != 0xF1 || len(b) < 8 {
				return m, fmt.Errorf("%w: station group F1 %02X", ErrFormat, def)
			}
			m.HasStation = true
			copy(m.Station[:], b[2:7])
			m.StationType = b[7]
			b = b[8:]
			continue
		case id == 0xFF:
			if len(b) < 3 {
				return m, fmt.Errorf("%w: extension identifier FF %02X without a definition byte", ErrLength, def)
			}
			id, def = 0xFF00|uint16(b[1]), b[2]
			b = b[1:]
		}
		n := int(def >> 3)
		if len(b) < 2+n {
			return m, fmt.Errorf("%w: element %s states %d data bytes, %d left", ErrLength, ElementName(id), n, len(b)-2)
		}
		e := Element{ID: id, Time: obs, Bytes: n, Decimals: int(def & 7)}
		if err := e.setData(b[2 : 2+n]); err != nil {
			return m, fmt.Errorf("element %s: %w", e.Name(), err)
		}
		m.Elements = append(m.Elements, e)
		b = b[2+n:]
	}
	return m, nil
}

// setData decodes an element's data bytes by its coding.
func (e *Element) setData(d []byte) error {
	switch e.coding() {
	case Text:
		e.Text = d
		return nil
	case DRP, DRZ:
		w := 1
		scale := 10.0
		if e.coding() == DRZ {
			w, scale = 2, 100
		}
		if len(d)%w != 0 {
			return fmt.Errorf("%w: %d bytes is not a whole number of %d-byte values", ErrFormat, len(d), w)
		}
		e.Series = make([]float64, 0, len(d)/w)
		for i := 0; i < len(d); i += w {
			v, all := 0, true
			for _, c := range d[i : i+w] {
				v = v<<8 | int(c)
				all = all && c == 0xFF
			}
			if all {
				e.Series = append(e.Series, math.NaN())
			} else {
				e.Series = append(e.Series, float64(v)/scale)
			}
		}
		return nil
	}
	if allFF(d) {
		e.Missing = true
		return nil
	}
	if e.coding() == Binary {
		if len(d) > 6 {
			return fmt.Errorf("%w: %d-byte binary value, more than a float64 holds exactly", ErrFormat, len(d))
		}
		var v uint64
		for _, c := range d {
			v = v<<8 | uint64(c)
		}
		e.Value = float64(v)
		return nil
	}
	v, err := bcdValue(d, e.Decimals)
	e.Value = v
	return err
}

func allFF(d []byte) bool {
	for _, c := range d {
		if c != 0xFF {
			return false
		}
	}
	return len(d) > 0
}

// maxDigits is the most significant BCD digits a value may have: every integer below
// 10^15 is exact in a float64 (the largest element of Appendix C, N(11,3), has 11).
const maxDigits = 15

// bcdValue reads BCD digits with decimals implied; a leading FFH byte (or F nibble) marks
// a negative value (SL 651-2014 §6.6.3).
func bcdValue(d []byte, decimals int) (float64, error) {
	if len(d) == 0 {
		return 0, fmt.Errorf("%w: no data bytes", ErrLength)
	}
	neg := false
	nibbles := make([]byte, 0, 2*len(d))
	for _, c := range d {
		nibbles = append(nibbles, c>>4, c&0x0F)
	}
	switch {
	case d[0] == 0xFF:
		neg, nibbles = true, nibbles[2:]
	case d[0]>>4 == 0x0F:
		neg, nibbles = true, nibbles[1:]
	}
	digits := make([]byte, 0, len(nibbles)+2)
	for _, n := range nibbles {
		if n > 9 {
			return 0, fmt.Errorf("%w: % X is not BCD", ErrFormat, d)
		}
		if n != 0 || len(digits) > 0 {
			digits = append(digits, '0'+n)
		}
	}
	if len(digits) > maxDigits {
		return 0, fmt.Errorf("%w: %d significant digits, more than a float64 holds exactly (%d)", ErrFormat, len(digits), maxDigits)
	}
	for len(digits) <= decimals {
		digits = append([]byte{'0'}, digits...)
	}
	s := string(digits[:len(digits)-decimals]) + "." + string(digits[len(digits)-decimals:])
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if neg {
		v = -v
	}
	return v, nil
}

// appendBCD writes v as nbytes of BCD with decimals implied (negative: FFH then nbytes−1).
func appendBCD(dst []byte, v float64, nbytes, decimals int) ([]byte, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, fmt.Errorf("%w: value %v", ErrFormat, v)
	}
	digits := strconv.FormatFloat(math.Round(math.Abs(v)*math.Pow10(decimals)), 'f', 0, 64)
	room := 2 * nbytes
	prefix := ""
	if v < 0 && digits != "0" {
		// FFH then the digits; when that leaves too little room, one F nibble.
		prefix, room = "FF", room-2
		if len(digits) > room {
			prefix, room = "F", room+1
		}
	}
	if len(digits) > room || nbytes < 1 {
		return nil, fmt.Errorf("%w: %v does not fit %d BCD bytes with %d decimals", ErrFormat, v, nbytes, decimals)
	}
	digits = prefix + strings.Repeat("0", room-len(digits)) + digits
	for i := 0; i < len(digits); i += 2 {
		dst = append(dst, nibble(digits[i])<<4|nibble(digits[i+1]))
	}
	return dst, nil
}

func nibble(c byte) byte {
	if c == 'F' {
		return 0x0F
	}
	return c - '0'
}

// bcdTime reads YYMMDDhhmm[ss] in BCD as a Beijing time in 2000–2099.
func bcdTime(b []byte) (time.Time, error) {
	f := make([]int, len(b))
	for i, c := range b {
		if c>>4 > 9 || c&0x0F > 9 {
			return time.Time{}, fmt.Errorf("%w: time % X is not BCD", ErrFormat, b)
		}
		f[i] = int(c>>4)*10 + int(c&0x0F)
	}
	sec := 0
	if len(f) == 6 {
		sec = f[5]
	}
	return civil(2000+f[0], f[1], f[2], f[3], f[4], sec)
}

// civil builds a Beijing time and refuses fields out of range (time.Date would normalise them).
func civil(y, mo, d, h, mi, s int) (time.Time, error) {
	t := time.Date(y, time.Month(mo), d, h, mi, s, 0, Beijing)
	if t.Year() != y || int(t.Month()) != mo || t.Day() != d || t.Hour() != h || t.Minute() != mi || t.Second() != s {
		return time.Time{}, fmt.Errorf("%w: no such time %04d-%02d-%02d %02d:%02d:%02d", ErrFormat, y, mo, d, h, mi, s)
	}
	return t, nil
}

func appendBCDTime(dst []byte, t time.Time, seconds bool) ([]byte, error) {
	t = t.In(Beijing)
	if t.Year() < 2000 || t.Year() > 2099 {
		return nil, fmt.Errorf("%w: year %d outside 2000–2099", ErrFormat, t.Year())
	}
	f := []int{t.Year() - 2000, int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second()}
	if !seconds {
		f = f[:5]
	}
	for _, v := range f {
		dst = append(dst, byte(v/10)<<4|byte(v%10))
	}
	return dst, nil
}

// EncodeBody writes the message as a body in the given mode; Decode reads it back.
func (m Message) EncodeBody(mode Mode) ([]byte, error) {
	if mode == ASCII {
		return m.encodeASCII()
	}
	b := []byte{byte(m.Serial >> 8), byte(m.Serial)}
	b, err := appendBCDTime(b, m.SendTime, true)
	if err != nil {
		return nil, fmt.Errorf("send time: %w", err)
	}
	if m.HasStation {
		b = append(append(b, 0xF1, 0xF1), m.Station[:]...)
		b = append(b, m.StationType)
	}
	var obs time.Time
	for _, e := range m.Elements {
		if !e.Time.IsZero() && !e.Time.Equal(obs) {
			obs = e.Time
			if b, err = appendBCDTime(append(b, 0xF0, 0xF0), obs, false); err != nil {
				return nil, fmt.Errorf("observation time: %w", err)
			}
		}
		if b, err = e.appendHEX(b); err != nil {
			return nil, fmt.Errorf("element %s: %w", e.Name(), err)
		}
	}
	return append(b, m.Rest...), nil
}

// size returns the element's data bytes and decimals: its own, or the table's.
func (e Element) size() (int, int, error) {
	if e.Bytes > 0 || e.Text != nil {
		return e.Bytes, e.Decimals, nil
	}
	if e.ID <= 0xFF {
		if d, ok := LookupElement(byte(e.ID)); ok {
			return (d.Digits + 1) / 2, d.Decimals, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: no size given and none in the table", ErrFormat)
}

func (e Element) appendHEX(b []byte) ([]byte, error) {
	data, n, dec, err := e.data()
	if err != nil {
		return nil, err
	}
	if n > 31 || dec > 7 {
		return nil, fmt.Errorf("%w: %d bytes, %d decimals do not fit the definition byte", ErrFormat, n, dec)
	}
	if e.ID > 0xFF {
		b = append(b, 0xFF, byte(e.ID))
	} else {
		b = append(b, byte(e.ID))
	}
	b = append(b, defByte(n, dec))
	return append(b, data...), nil
}

// data returns the element's data bytes and the definition it is written with.
func (e Element) data() ([]byte, int, int, error) {
	switch e.coding() {
	case Text:
		return e.Text, len(e.Text), 0, nil
	case DRP, DRZ:
		w, scale := 1, 10.0
		if e.coding() == DRZ {
			w, scale = 2, 100
		}
		var out []byte
		for _, v := range e.Series {
			x := uint64(1)<<(8*w) - 1
			if !math.IsNaN(v) {
				r := math.Round(v * scale)
				if r < 0 || r >= float64(x) {
					return nil, 0, 0, fmt.Errorf("%w: series value %v out of range", ErrFormat, v)
				}
				x = uint64(r)
			}
			for i := w - 1; i >= 0; i-- {
				out = append(out, byte(x>>(8*i)))
			}
		}
		return out, len(out), 0, nil
	}
	n, dec, err := e.size()
	if err != nil {
		return nil, 0, 0, err
	}
	if e.Missing {
		out := make([]byte, n)
		for i := range out {
			out[i] = 0xFF
		}
		return out, n, dec, nil
	}
	if e.coding() == Binary {
		if e.Value < 0 || e.Value != math.Trunc(e.Value) || n > 6 || e.Value >= math.Ldexp(1, 8*n) {
			return nil, 0, 0, fmt.Errorf("%w: %v is not a %d-byte unsigned integer", ErrFormat, e.Value, n)
		}
		v := uint64(e.Value)
		out := make([]byte, n)
		for i := n - 1; i >= 0; i-- {
			out[i] = byte(v)
			v >>= 8
		}
		return out, n, 0, nil
	}
	out, err := appendBCD(nil, e.Value, n, dec)
	return out, n, dec, err
}

// ASCII mode (SL 651-2014 §6.6.4, Tables 16/17): the body is space-separated fields —
// serial (four hex characters), send time (YYMMDDhhmmss), "ST" station type, "TT"
// observation time (YYMMDDhhmm), then mnemonic and decimal value pairs — and ends with a
// space. The field order follows the HEX body; it is not checked against a captured frame.

func decodeASCII(b []byte, elems bool) (Message, error) {
	var m Message
	for _, c := range b {
		if c < 0x20 || c > 0x7E {
			return m, fmt.Errorf("%w: ASCII body has byte %02X", ErrFormat, c)
		}
	}
	tok := strings.Fields(string(b))
	if len(tok) == 0 && !elems {
		return m, nil
	}
	if len(tok) > 0 && len(tok[0]) == 16 { // serial and send time written together
		tok = append([]string{tok[0][:4], tok[0][4:]}, tok[1:]...)
	}
	if len(tok) < 2 || len(tok[0]) != 4 || len(tok[1]) != 12 {
		return m, fmt.Errorf("%w: ASCII body does not start with serial and send time", ErrFormat)
	}
	serial, err := strconv.ParseUint(tok[0], 16, 16)
	if err != nil {
		return m, fmt.Errorf("%w: serial %q", ErrFormat, tok[0])
	}
	m.Serial = uint16(serial)
	if m.SendTime, err = textTime(tok[1]); err != nil {
		return m, fmt.Errorf("send time: %w", err)
	}
	tok = tok[2:]
	if !elems {
		m.Rest = []byte(strings.Join(tok, " "))
		return m, nil
	}
	var obs time.Time
	for len(tok) > 0 {
		name := tok[0]
		switch name {
		case "ST":
			if len(tok) < 3 || len(tok[2]) != 1 {
				return m, fmt.Errorf("%w: ST group", ErrFormat)
			}
			if m.Station, err = ParseStation(tok[1]); err != nil {
				return m, err
			}
			m.HasStation, m.StationType = true, tok[2][0]
			tok = tok[3:]
			continue
		case "TT":
			if len(tok) < 2 {
				return m, fmt.Errorf("%w: TT without a time", ErrFormat)
			}
			if obs, err = textTime(tok[1]); err != nil {
				return m, fmt.Errorf("observation time: %w", err)
			}
			tok = tok[2:]
			continue
		}
		if len(tok) < 2 {
			return m, fmt.Errorf("%w: element %s without a value", ErrFormat, name)
		}
		id, ok := elementID(name)
		if !ok {
			return m, fmt.Errorf("%w: unknown identifier %q", ErrFormat, name)
		}
		e := Element{ID: id, Time: obs}
		if err := e.setText(tok[1]); err != nil {
			return m, fmt.Errorf("element %s: %w", name, err)
		}
		m.Elements = append(m.Elements, e)
		tok = tok[2:]
	}
	return m, nil
}

// setText reads an ASCII-mode value: a decimal number, or for Text, DRP and DRZ codings
// the data bytes as hex characters.
func (e *Element) setText(s string) error {
	switch e.coding() {
	case Text, DRP, DRZ:
		d, err := hex.DecodeString(s)
		if err != nil {
			return fmt.Errorf("%w: %q is not hex data", ErrFormat, s)
		}
		e.Bytes = len(d)
		return e.setData(d)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || strings.ContainsAny(s, "eExXpP_") {
		return fmt.Errorf("%w: %q is not a decimal number", ErrFormat, s)
	}
	e.Value = v
	if i := strings.IndexByte(s, '.'); i >= 0 {
		e.Decimals = len(s) - i - 1
	}
	if d, ok := LookupElement(byte(e.ID)); ok && e.ID <= 0xFF {
		e.Bytes = (d.Digits + 1) / 2
	}
	return nil
}

func textTime(s string) (time.Time, error) {
	if len(s) != 10 && len(s) != 12 {
		return time.Time{}, fmt.Errorf("%w: time %q", ErrFormat, s)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: time %q", ErrFormat, s)
	}
	return bcdTime(b)
}

func (m Message) encodeASCII() ([]byte, error) {
	var sb strings.Builder
	t, err := appendBCDTime(nil, m.SendTime, true)
	if err != nil {
		return nil, fmt.Errorf("send time: %w", err)
	}
	fmt.Fprintf(&sb, "%04X %X ", m.Serial, t)
	if m.HasStation {
		if m.StationType < 0x21 || m.StationType > 0x7E {
			return nil, fmt.Errorf("%w: station type %02X is not a letter", ErrFormat, m.StationType)
		}
		fmt.Fprintf(&sb, "ST %s %c ", m.Station, m.StationType)
	}
	var obs time.Time
	for _, e := range m.Elements {
		if !e.Time.IsZero() && !e.Time.Equal(obs) {
			obs = e.Time
			t, err := appendBCDTime(nil, obs, false)
			if err != nil {
				return nil, fmt.Errorf("observation time: %w", err)
			}
			fmt.Fprintf(&sb, "TT %X ", t)
		}
		v, err := e.text()
		if err != nil {
			return nil, fmt.Errorf("element %s: %w", e.Name(), err)
		}
		fmt.Fprintf(&sb, "%s %s ", e.Name(), v)
	}
	if len(m.Rest) > 0 {
		sb.Write(m.Rest)
		sb.WriteByte(' ')
	}
	return []byte(sb.String()), nil
}

func (e Element) text() (string, error) {
	switch e.coding() {
	case Text, DRP, DRZ:
		d, _, _, err := e.data()
		return strings.ToUpper(hex.EncodeToString(d)), err
	}
	if e.Missing {
		return "", fmt.Errorf("%w: ASCII mode has no missing-value marker", ErrFormat)
	}
	_, dec, err := e.size()
	if err != nil {
		dec = e.Decimals
	}
	if math.IsNaN(e.Value) || math.IsInf(e.Value, 0) {
		return "", fmt.Errorf("%w: value %v", ErrFormat, e.Value)
	}
	return strconv.FormatFloat(e.Value, 'f', dec, 64), nil
}
