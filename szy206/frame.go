package szy206

import "fmt"

// MaxFrame is the longest frame: L is one byte.
const MaxFrame = 255 + 5

// Frame is one SZY 206 frame: 68H L 68H C [DIVS] A AFN data CS 16H. Data is everything
// after AFN up to CS (the application data and, where the AFN carries them, the password
// PW and the time label Tp).
type Frame struct {
	Control Control
	DIVS    byte // split frames: count-down 255…1, 1 the last; only with Control.Split()
	Address Address
	AFN     byte
	Data    []byte
}

// Index returns the offset of the first byte in b that may start a frame, or -1.
func Index(b []byte) int {
	for i, c := range b {
		if c == Start && (i+2 >= len(b) || b[i+2] == Start) {
			return i
		}
	}
	return -1
}

// FrameLen returns the length of the frame b starts with, as its header states, or 0
// with a nil error while b is too short to tell; ErrStart or ErrFormat when b cannot
// start a frame. It does not check the CRC.
func FrameLen(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if b[0] != Start || len(b) >= 3 && b[2] != Start {
		return 0, ErrStart
	}
	if len(b) < 3 {
		return 0, nil
	}
	if b[1] < 7 {
		return 0, fmt.Errorf("%w: L = %d, less than C, A and AFN", ErrFormat, b[1])
	}
	return int(b[1]) + 5, nil
}

// Split finds the next frame in a stream buffer: the count of leading bytes that belong
// to no frame, the frame's length (0 while more bytes are needed), and FrameLen's error
// for a header that cannot be a frame (drop skip+1 bytes and try again).
func Split(buf []byte) (skip, n int, err error) {
	i := Index(buf)
	if i < 0 {
		return len(buf), 0, nil
	}
	n, err = FrameLen(buf[i:])
	return i, n, err
}

// Parse reads exactly one frame and checks its markers, length and CRC. Data aliases b.
func Parse(b []byte) (Frame, error) {
	n, err := FrameLen(b)
	if err != nil {
		return Frame{}, err
	}
	if n == 0 {
		return Frame{}, fmt.Errorf("%w: %d bytes", ErrShort, len(b))
	}
	if len(b) != n {
		return Frame{}, fmt.Errorf("%w: L states a %d-byte frame, got %d bytes", ErrLength, n, len(b))
	}
	if b[n-1] != End {
		return Frame{}, fmt.Errorf("%w: last byte %02X, not 16H", ErrFormat, b[n-1])
	}
	user := b[3 : n-2]
	if got, want := b[n-2], CRC8(user); got != want {
		return Frame{}, fmt.Errorf("%w: frame says %02X, computed %02X", ErrCRC, got, want)
	}
	f := Frame{Control: Control(user[0])}
	user = user[1:]
	if f.Control.Split() {
		if len(user) < 7 {
			return Frame{}, fmt.Errorf("%w: split frame without room for DIVS, A and AFN", ErrLength)
		}
		f.DIVS, user = user[0], user[1:]
		if f.DIVS == 0 {
			return Frame{}, fmt.Errorf("%w: DIVS 0", ErrFormat)
		}
	}
	copy(f.Address[:], user[:5])
	f.AFN = user[5]
	f.Data = user[6:]
	return f, nil
}

// Encode returns the frame's bytes with L and CS.
func (f Frame) Encode() ([]byte, error) {
	l := 7 + len(f.Data)
	if f.Control.Split() {
		l++
		if f.DIVS == 0 {
			return nil, fmt.Errorf("%w: split frame with DIVS 0", ErrFormat)
		}
	}
	if l > 255 {
		return nil, fmt.Errorf("%w: user data of %d bytes, more than L can state", ErrLength, l)
	}
	b := make([]byte, 0, l+5)
	b = append(b, Start, byte(l), Start, byte(f.Control))
	if f.Control.Split() {
		b = append(b, f.DIVS)
	}
	b = append(b, f.Address[:]...)
	b = append(b, f.AFN)
	b = append(b, f.Data...)
	return append(b, CRC8(b[3:]), End), nil
}

// Reply returns the centre's answer to an uplink that asks for one: a link check
// (AFN 02H) is answered with C = 00H, the same AFN and data 00H (the reference's
// constructed frame); a self-report (C0H, 81H, 82H) with the direction bit cleared,
// the same AFN and data 00H (as the JetLinks codec answers). Other frames get no reply
// (ok false).
func Reply(up Frame) (Frame, bool) {
	if !up.Control.Up() {
		return Frame{}, false
	}
	switch up.AFN {
	case AFNLink:
		return Frame{Control: 0, Address: up.Address, AFN: AFNLink, Data: []byte{0x00}}, true
	case AFNSelfRT, AFNAlarm, AFNManual:
		return Frame{Control: up.Control &^ 0xC0, Address: up.Address, AFN: up.AFN, Data: []byte{0x00}}, true
	}
	return Frame{}, false
}

// Joiner joins split frames (DIV set, DIVS counting down to 1) of one address and AFN
// into one frame whose data is theirs in order. A connection owns one; not safe for
// concurrent use.
type Joiner struct {
	// MaxBytes bounds the data held for one message (default 64 KiB).
	MaxBytes int
	cur      *Frame
	next     byte
	raw      []byte
}

// Add takes a frame and its raw bytes; it returns the whole frame, the raw bytes of its
// parts, and true when the frame was not split or its last part has come.
func (j *Joiner) Add(f Frame, raw []byte) (Frame, []byte, bool, error) {
	if !f.Control.Split() {
		if j.cur != nil {
			j.cur = nil
			return f, raw, true, fmt.Errorf("%w: split message abandoned by an unsplit frame", ErrFormat)
		}
		return f, raw, true, nil
	}
	maxBytes := j.MaxBytes
	if maxBytes <= 0 {
		maxBytes = 64 << 10
	}
	if j.cur == nil || j.cur.Address != f.Address || j.cur.AFN != f.AFN || f.DIVS != j.next {
		if j.cur != nil && f.DIVS != j.next {
			j.cur = nil
			return Frame{}, nil, false, fmt.Errorf("%w: split frame %d where %d was due", ErrFormat, f.DIVS, j.next)
		}
		c := f
		c.Data = nil
		j.cur, j.raw = &c, nil
	}
	j.cur.Data = append(j.cur.Data, f.Data...)
	j.raw = append(j.raw, raw...)
	if len(j.raw) > maxBytes {
		j.cur = nil
		return Frame{}, nil, false, fmt.Errorf("%w: split message over %d bytes", ErrLength, maxBytes)
	}
	if f.DIVS > 1 {
		j.next = f.DIVS - 1
		return Frame{}, nil, false, nil
	}
	w := *j.cur
	w.Control &^= 0x40
	w.DIVS = 0
	raws := j.raw
	j.cur, j.raw = nil, nil
	return w, raws, true, nil
}
