package hj212

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrSplit is returned for a split packet that cannot be reassembled within the limits.
var ErrSplit = errors.New("hj212: split packet refused")

// SplitLimits bound what a Reassembler holds. Zero fields take the defaults.
type SplitLimits struct {
	MaxParts int           // largest PNUM accepted; default 64
	MaxBytes int           // data-area and frame bytes held over all pending messages; default 256 KiB
	Timeout  time.Duration // a message incomplete this long after its first part is dropped; default 2 min
}

func (l SplitLimits) withDefaults() SplitLimits {
	if l.MaxParts <= 0 {
		l.MaxParts = 64
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = 256 << 10
	}
	if l.Timeout <= 0 {
		l.Timeout = 2 * time.Minute
	}
	return l
}

// Message is a split message put back together.
type Message struct {
	// Packet is the first part's packet with the data areas of all parts joined in PNO order
	// (separated by ";"), PNUM and PNO cleared and Flag's bit D off.
	Packet Packet
	// Raw is every part's frame as received, in PNO order, concatenated.
	Raw []byte
}

// Reassembler collects the parts of split messages (Flag bit D, PNUM/PNO; Appendix C tables
// C.49/C.50). Each part carries its own QN, so parts are matched by MN, ST, CN and PNUM; a part
// numbered like one already held replaces it (a device resending a part it had no answer for).
// It is not safe for concurrent use: a gateway keeps one per connection.
type Reassembler struct {
	lim     SplitLimits
	pending map[splitKey]*partial
	held    int
}

type splitKey struct {
	mn, st, cn string
	pnum       int
}

type partial struct {
	first time.Time
	parts []Packet
	raws  [][]byte
	have  int
	size  int
}

// NewReassembler returns a Reassembler with the given limits.
func NewReassembler(lim SplitLimits) *Reassembler {
	return &Reassembler{lim: lim.withDefaults(), pending: map[splitKey]*partial{}}
}

// Held returns the bytes the pending messages hold.
func (r *Reassembler) Held() int { return r.held }

// Pending returns the number of incomplete messages held.
func (r *Reassembler) Pending() int { return len(r.pending) }

// Add takes one part (p decoded from the frame raw) and returns the whole message when this part
// completes it, nil while parts are missing. Messages older than the timeout are dropped first;
// dropped reports how many.
func (r *Reassembler) Add(p Packet, raw []byte, now time.Time) (msg *Message, dropped int, err error) {
	dropped = r.Expire(now)
	if p.PNUM < 1 || p.PNO < 1 || p.PNO > p.PNUM {
		return nil, dropped, fmt.Errorf("%w: PNO %d of PNUM %d", ErrSplit, p.PNO, p.PNUM)
	}
	if p.PNUM > r.lim.MaxParts {
		return nil, dropped, fmt.Errorf("%w: PNUM %d above the limit of %d parts", ErrSplit, p.PNUM, r.lim.MaxParts)
	}
	k := splitKey{p.MN, p.ST, p.CN, p.PNUM}
	m := r.pending[k]
	if m == nil {
		m = &partial{first: now, parts: make([]Packet, p.PNUM), raws: make([][]byte, p.PNUM)}
		r.pending[k] = m
	}
	i := p.PNO - 1
	n := len(p.CP) + len(raw)
	if m.raws[i] != nil {
		r.held -= len(m.parts[i].CP) + len(m.raws[i])
		m.size -= len(m.parts[i].CP) + len(m.raws[i])
		m.have--
	}
	if r.held+n > r.lim.MaxBytes {
		r.drop(k)
		return nil, dropped + 1, fmt.Errorf("%w: pending split messages would hold more than %d bytes", ErrSplit, r.lim.MaxBytes)
	}
	m.parts[i], m.raws[i] = p, append([]byte(nil), raw...)
	m.have++
	m.size += n
	r.held += n
	if m.have < p.PNUM {
		return nil, dropped, nil
	}
	r.drop(k)
	whole := m.parts[0]
	cps := make([]string, 0, len(m.parts))
	var rawAll []byte
	for j, part := range m.parts {
		if part.CP != "" {
			cps = append(cps, part.CP)
		}
		rawAll = append(rawAll, m.raws[j]...)
	}
	whole.CP = strings.Join(cps, ";")
	whole.PNUM, whole.PNO = 0, 0
	whole.Flag &^= FlagSplit
	return &Message{Packet: whole, Raw: rawAll}, dropped, nil
}

// Expire drops the messages whose first part is older than the timeout and returns how many.
func (r *Reassembler) Expire(now time.Time) int {
	n := 0
	for k, m := range r.pending {
		if now.Sub(m.first) > r.lim.Timeout {
			r.drop(k)
			n++
		}
	}
	return n
}

func (r *Reassembler) drop(k splitKey) {
	if m, ok := r.pending[k]; ok {
		r.held -= m.size
		delete(r.pending, k)
	}
}
