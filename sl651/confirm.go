package sl651

import (
	"fmt"
	"time"
)

// Confirm returns the centre's confirmation of an uplink frame (M2/M3 modes, §6.2): a
// downlink to the same station with the same centre address, password and function
// code whose body echoes the uplink's serial number and send time, ended by end — ESC
// to keep the station online, EOT to let it go. This is the layout of the published
// confirmation frames (standards.md §6.4, frames 4 and 6).
func Confirm(up Frame, end byte) (Frame, error) {
	if up.Down {
		return Frame{}, fmt.Errorf("%w: a downlink is not confirmed", ErrFormat)
	}
	if end != ESC && end != EOT && end != ACK && end != NAK {
		return Frame{}, fmt.Errorf("%w: %02X does not end a confirmation", ErrFormat, end)
	}
	n := 8
	if up.Mode == ASCII {
		n = 17 // "SSSS YYMMDDhhmmss"
		if len(up.Body) >= 16 && up.Body[4] != ' ' {
			n = 16
		}
	}
	if len(up.Body) < n {
		return Frame{}, fmt.Errorf("%w: body of %d has no serial and send time to echo", ErrLength, len(up.Body))
	}
	body := append([]byte(nil), up.Body[:n]...)
	if up.Mode == ASCII {
		body = append(body, ' ')
	}
	return Frame{Mode: up.Mode, Down: true, Centre: up.Centre, Station: up.Station, Password: up.Password,
		Func: up.Func, Body: body, End: end}, nil
}

// Reassembler joins the packets of multi-packet (M3) messages: packets of one station,
// centre and function code with the same total, numbered 1…total, arriving in any order.
// The joined body is the packets' bodies in number order: the first packet carries serial,
// send time, station and observation time, later packets only the continuation, the packet
// numbers count in the body length and the centre answers once the last packet has come —
// as an RTU firmware builds them (GitHub xiaozhuweini/fyyp_rtu components/ptcl/sl651.c) and
// an open-source decoder joins them (wainshine/SL651). A Reassembler is not safe for
// concurrent use; a connection owns one.
type Reassembler struct {
	// MaxBytes bounds the bytes held for one message (default 64 KiB); a message that
	// would exceed it is dropped with an error.
	MaxBytes int
	// Timeout drops a message whose next packet has not come within it (default 5 min).
	Timeout time.Duration

	partial map[packetKey]*partialMessage
}

type packetKey struct {
	mode    Mode
	centre  byte
	station Station
	fn      byte
	total   int
}

type partialMessage struct {
	first   Frame
	parts   map[int]packetPart
	bytes   int
	last    byte
	touched time.Time
}

type packetPart struct{ body, raw []byte }

// Whole is a reassembled message: a frame that starts with STX and holds every packet's
// body, and the raw bytes of every packet in number order.
type Whole struct {
	Frame Frame
	Raw   []byte
}

// Add takes one packet and its raw bytes at time now. It returns the whole message and
// true once every packet has come. Packets arriving twice replace the earlier copy.
func (r *Reassembler) Add(f Frame, raw []byte, now time.Time) (Whole, bool, error) {
	if f.Packets == 0 {
		return Whole{Frame: f, Raw: raw}, true, nil
	}
	if r.partial == nil {
		r.partial = map[packetKey]*partialMessage{}
	}
	r.Expire(now)
	maxBytes := r.MaxBytes
	if maxBytes <= 0 {
		maxBytes = 64 << 10
	}
	k := packetKey{f.Mode, f.Centre, f.Station, f.Func, f.Packets}
	p := r.partial[k]
	if p == nil {
		p = &partialMessage{first: f, parts: map[int]packetPart{}}
		r.partial[k] = p
	}
	if old, ok := p.parts[f.Seq]; ok {
		p.bytes -= len(old.raw)
	}
	p.bytes += len(raw)
	if p.bytes > maxBytes {
		delete(r.partial, k)
		return Whole{}, false, fmt.Errorf("%w: station %s function %02X over %d bytes", ErrReassembly, f.Station, f.Func, maxBytes)
	}
	p.parts[f.Seq] = packetPart{body: append([]byte(nil), f.Body...), raw: append([]byte(nil), raw...)}
	p.touched = now
	if f.Seq == f.Packets {
		p.last = f.End
	}
	if len(p.parts) < f.Packets {
		return Whole{}, false, nil
	}
	delete(r.partial, k)
	w := Whole{Frame: p.first}
	w.Frame.Packets, w.Frame.Seq, w.Frame.Body, w.Frame.End = 0, 0, nil, p.last
	for i := 1; i <= f.Packets; i++ {
		w.Frame.Body = append(w.Frame.Body, p.parts[i].body...)
		w.Raw = append(w.Raw, p.parts[i].raw...)
	}
	return w, true, nil
}

// Expire drops messages not added to within the timeout and returns how many.
func (r *Reassembler) Expire(now time.Time) int {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	n := 0
	for k, p := range r.partial {
		if now.Sub(p.touched) > timeout {
			delete(r.partial, k)
			n++
		}
	}
	return n
}

// Pending is the number of messages waiting for packets.
func (r *Reassembler) Pending() int { return len(r.partial) }
