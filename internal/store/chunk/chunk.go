// Package chunk encodes a block of one meter's readings compactly, for stores
// that keep readings as per-series chunks (the layout of Prometheus' TSDB
// blocks and of compressed TimescaleDB hypertables; reference/platform.md
// §3.3 measured why: per-series reads without a per-row B-tree).
//
// A chunk is a version byte, the record count, and the records in strictly
// increasing seq order. Each record stores:
//
//   - seq as the gap to the previous seq minus one (0 for consecutive seqs);
//   - device time as a delta of deltas (a steady reporting interval costs a
//     byte), receive time as the change of the transport delay;
//   - ledger index as a delta, flags, and the 32-byte note hash verbatim;
//   - the channel list only when it changes (one zero byte otherwise);
//   - each value as a scaled decimal m·10⁻ᵉ when that reproduces the float64
//     exactly (meters send decimals: a totaliser that grows by 0.023 m³ costs
//     one or two bytes as the change of m), else the raw IEEE 754 bits.
//
// Decoding never panics and bounds everything it allocates; FuzzDecode
// checks it.
package chunk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Version is the first byte of every chunk.
const Version = 1

// Limits a decoder enforces.
const (
	MaxRecords = 1 << 16
	MaxValues  = 64
)

// Value is one channel value; channels are numbered by the store.
type Value struct {
	Channel uint32
	V       float64
}

// Record is one reading of a chunk. Times are Unix milliseconds.
type Record struct {
	Seq    uint64
	T      int64 // device time
	Recv   int64 // receive time
	Index  uint64
	Flags  uint32
	Hash   [32]byte
	Values []Value
}

// ErrCorrupt is returned for data that is not a valid chunk.
var ErrCorrupt = errors.New("corrupt chunk")

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

const (
	maxExact  = 1 << 53 // integers up to this convert to float64 exactly
	rawCode   = 15      // escape code: raw float64 bits follow
	maxScaleE = len(pow10) - 1
)

// channelState is the previous value of one channel as a scaled decimal.
type channelState struct {
	ch uint32
	e  int // -1: no decimal yet, the next value escapes
	m  int64
}

// states keeps channelStates by channel and the current channel list's
// states in list order.
type states struct {
	all []channelState
	cur []int // index into all, per position of the current list
}

func (s *states) setList(chans []uint32) {
	s.cur = s.cur[:0]
	for _, ch := range chans {
		k := -1
		for i := range s.all {
			if s.all[i].ch == ch {
				k = i
				break
			}
		}
		if k < 0 {
			k = len(s.all)
			s.all = append(s.all, channelState{ch: ch, e: -1})
		}
		s.cur = append(s.cur, k)
	}
}

// decimal finds e and m with float64(m)/10^e == v, trying the channel's
// previous scale first so that its deltas stay small.
func decimal(v float64, hint int) (int, int64, bool) {
	if math.Float64bits(v) == 1<<63 { // -0 would decode as +0
		return 0, 0, false
	}
	try := func(e int) (int64, bool) {
		x := v * pow10[e]
		if math.Abs(x) >= maxExact {
			return 0, false
		}
		m := math.Round(x)
		return int64(m), m/pow10[e] == v
	}
	if hint >= 0 {
		if m, ok := try(hint); ok {
			return hint, m, true
		}
	}
	for e := 0; e <= maxScaleE; e++ {
		if m, ok := try(e); ok {
			return e, m, true
		}
	}
	return 0, 0, false
}

func zigzag(x int64) uint64   { return uint64(x<<1) ^ uint64(x>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// Encode appends the encoding of recs to dst. Records must have strictly
// increasing Seq, 1–MaxValues values each with distinct channels, and
// finite values.
func Encode(dst []byte, recs []Record) ([]byte, error) {
	if len(recs) == 0 || len(recs) > MaxRecords {
		return dst, fmt.Errorf("chunk: %d records (want 1-%d)", len(recs), MaxRecords)
	}
	dst = append(dst, Version)
	dst = binary.AppendUvarint(dst, uint64(len(recs)))
	var (
		st                     states
		prevChans              []uint32
		prevT, prevDT, prevOff int64
		prevSeq, prevIdx       uint64
		chans                  []uint32
	)
	for i := range recs {
		r := &recs[i]
		if len(r.Values) == 0 || len(r.Values) > MaxValues {
			return dst, fmt.Errorf("chunk: record seq %d has %d values", r.Seq, len(r.Values))
		}
		off := r.Recv - r.T
		if i == 0 {
			dst = binary.AppendUvarint(dst, r.Seq)
			dst = binary.AppendVarint(dst, r.T)
			dst = binary.AppendVarint(dst, off)
			dst = binary.AppendUvarint(dst, r.Index)
		} else {
			if r.Seq <= prevSeq {
				return dst, fmt.Errorf("chunk: seq %d after %d", r.Seq, prevSeq)
			}
			dt := r.T - prevT
			dst = binary.AppendUvarint(dst, r.Seq-prevSeq-1)
			dst = binary.AppendVarint(dst, dt-prevDT)
			dst = binary.AppendVarint(dst, off-prevOff)
			dst = binary.AppendVarint(dst, int64(r.Index-prevIdx))
			prevDT = dt
		}
		prevSeq, prevT, prevOff, prevIdx = r.Seq, r.T, off, r.Index
		dst = binary.AppendUvarint(dst, uint64(r.Flags))
		dst = append(dst, r.Hash[:]...)

		chans = chans[:0]
		for j, v := range r.Values {
			for _, c := range chans[:j] {
				if c == v.Channel {
					return dst, fmt.Errorf("chunk: record seq %d repeats channel %d", r.Seq, c)
				}
			}
			chans = append(chans, v.Channel)
		}
		if i > 0 && equal(chans, prevChans) {
			dst = append(dst, 0)
		} else {
			dst = binary.AppendUvarint(dst, uint64(len(chans)+1))
			for _, c := range chans {
				dst = binary.AppendUvarint(dst, uint64(c))
			}
			st.setList(chans)
			prevChans = append(prevChans[:0], chans...)
		}
		for j, v := range r.Values {
			if math.IsNaN(v.V) || math.IsInf(v.V, 0) {
				return dst, fmt.Errorf("chunk: record seq %d: value %v", r.Seq, v.V)
			}
			cs := &st.all[st.cur[j]]
			e, m, ok := decimal(v.V, cs.e)
			switch {
			case ok && e == cs.e:
				dst = binary.AppendUvarint(dst, zigzag(m-cs.m)<<1)
			case ok:
				dst = binary.AppendUvarint(dst, uint64(e)<<1|1)
				dst = binary.AppendVarint(dst, m)
			default:
				dst = binary.AppendUvarint(dst, rawCode<<1|1)
				dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.V))
				cs.e = -1
				continue
			}
			cs.e, cs.m = e, m
		}
	}
	return dst, nil
}

func equal(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Decoder reads a chunk record by record.
type Decoder struct {
	data                   []byte
	n, i                   int
	err                    error
	st                     states
	chans                  []uint32
	prevT, prevDT, prevOff int64
	prevSeq, prevIdx       uint64
}

// NewDecoder reads a chunk's header.
func NewDecoder(data []byte) (*Decoder, error) {
	d := &Decoder{}
	return d, d.Reset(data)
}

// Reset makes d read another chunk, keeping its buffers.
func (d *Decoder) Reset(data []byte) error {
	*d = Decoder{st: states{all: d.st.all[:0], cur: d.st.cur[:0]}, chans: d.chans[:0]}
	if len(data) < 2 || data[0] != Version {
		d.err = fmt.Errorf("%w: bad header", ErrCorrupt)
		return d.err
	}
	n, k := binary.Uvarint(data[1:])
	if k <= 0 || n == 0 || n > MaxRecords {
		d.err = fmt.Errorf("%w: bad record count", ErrCorrupt)
		return d.err
	}
	d.data, d.n = data[1+k:], int(n)
	return nil
}

// Len returns the number of records in the chunk.
func (d *Decoder) Len() int { return d.n }

// Err returns the error that stopped Next, if any.
func (d *Decoder) Err() error { return d.err }

func (d *Decoder) uvarint() uint64 {
	v, k := binary.Uvarint(d.data)
	if k <= 0 {
		d.fail("truncated varint")
		return 0
	}
	d.data = d.data[k:]
	return v
}

func (d *Decoder) varint() int64 {
	v, k := binary.Varint(d.data)
	if k <= 0 {
		d.fail("truncated varint")
		return 0
	}
	d.data = d.data[k:]
	return v
}

func (d *Decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: record %d: %s", ErrCorrupt, d.i, what)
	}
}

// Next decodes the next record into r, reusing r.Values; it returns false
// at the end of the chunk or on error (see Err).
func (d *Decoder) Next(r *Record) bool {
	if d.err != nil || d.i >= d.n {
		if d.err == nil && len(d.data) != 0 {
			d.fail("trailing bytes")
		}
		return false
	}
	if d.i == 0 {
		r.Seq = d.uvarint()
		r.T = d.varint()
		d.prevOff = d.varint()
		r.Index = d.uvarint()
	} else {
		gap := d.uvarint()
		r.Seq = d.prevSeq + gap + 1
		if r.Seq <= d.prevSeq {
			d.fail("seq overflow")
		}
		d.prevDT += d.varint()
		r.T = d.prevT + d.prevDT
		d.prevOff += d.varint()
		r.Index = d.prevIdx + uint64(d.varint())
	}
	r.Recv = r.T + d.prevOff
	d.prevSeq, d.prevT, d.prevIdx = r.Seq, r.T, r.Index
	flags := d.uvarint()
	if flags > math.MaxUint32 {
		d.fail("flags out of range")
	}
	r.Flags = uint32(flags)
	if len(d.data) < 32 {
		d.fail("truncated hash")
		return false
	}
	copy(r.Hash[:], d.data[:32])
	d.data = d.data[32:]

	switch k := d.uvarint(); {
	case d.err != nil:
		return false
	case k == 0:
		if d.i == 0 {
			d.fail("first record without channel list")
			return false
		}
	case k-1 > MaxValues || k-1 == 0:
		d.fail("bad channel count")
		return false
	default:
		d.chans = d.chans[:0]
		for j := uint64(0); j < k-1; j++ {
			c := d.uvarint()
			if c > math.MaxUint32 {
				d.fail("channel out of range")
				return false
			}
			for _, p := range d.chans {
				if p == uint32(c) {
					d.fail("repeated channel")
					return false
				}
			}
			d.chans = append(d.chans, uint32(c))
		}
		d.st.setList(d.chans)
	}
	r.Values = r.Values[:0]
	for j, ch := range d.chans {
		cs := &d.st.all[d.st.cur[j]]
		w := d.uvarint()
		var v float64
		switch {
		case w&1 == 0:
			if cs.e < 0 {
				d.fail("delta without scale")
				return false
			}
			cs.m += unzigzag(w >> 1)
			if cs.m >= maxExact || cs.m <= -maxExact {
				d.fail("mantissa out of range")
				return false
			}
			v = float64(cs.m) / pow10[cs.e]
		case w>>1 <= uint64(maxScaleE):
			m := d.varint()
			if m >= maxExact || m <= -maxExact {
				d.fail("mantissa out of range")
				return false
			}
			cs.e, cs.m = int(w>>1), m
			v = float64(m) / pow10[cs.e]
		case w>>1 == rawCode:
			if len(d.data) < 8 {
				d.fail("truncated float")
				return false
			}
			v = math.Float64frombits(binary.LittleEndian.Uint64(d.data))
			d.data = d.data[8:]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				d.fail("value not finite")
				return false
			}
			cs.e = -1
		default:
			d.fail("bad value code")
			return false
		}
		r.Values = append(r.Values, Value{Channel: ch, V: v})
	}
	if d.err != nil {
		return false
	}
	d.i++
	return true
}

// Decode decodes a whole chunk. The records' values share one allocation.
func Decode(data []byte) ([]Record, error) {
	d, err := NewDecoder(data)
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, d.Len())
	var vals []Value
	var r Record
	for d.Next(&r) {
		if cap(vals)-len(vals) < len(r.Values) {
			vals = make([]Value, 0, max(len(r.Values)*(d.Len()-len(out)), len(r.Values)))
		}
		start := len(vals)
		vals = append(vals, r.Values...)
		rec := r
		rec.Values = vals[start:len(vals):len(vals)]
		out = append(out, rec)
	}
	if d.Err() != nil {
		return nil, d.Err()
	}
	return out, nil
}
