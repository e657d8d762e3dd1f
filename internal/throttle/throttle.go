// Package throttle keeps token buckets per key (a remote host, a device, a
// token) in a table whose size is bounded whatever keys a stranger makes
// up, and names the key of a remote address. The broker throttles failed
// MQTT logins and publishes with it, the API failed authentications.
package throttle

import (
	"net"
	"sync"
	"time"
)

// Limit is a token bucket: Burst events at once, refilled at Rate per
// second. A negative Rate turns the limit off.
type Limit struct {
	Rate  float64
	Burst int
}

func (l Limit) Off() bool { return l.Rate < 0 }

// Table keeps one token bucket per key, at most max of them: when full,
// buckets that have refilled (and so remember nothing) are forgotten, and
// until some have, new keys share one overflow bucket. Memory stays bounded
// whatever keys a stranger makes up.
type Table struct {
	limit Limit
	max   int

	mu    sync.Mutex
	m     map[string]*bucket
	swept time.Time // the last sweep of a full table
}

type bucket struct {
	tokens float64
	at     time.Time
}

// overflowKey names the bucket that keys share once the table is full; no
// host or device is named so (device IDs and hosts are not empty).
const overflowKey = ""

func New(l Limit, max int) *Table {
	return &Table{limit: l, max: max, m: map[string]*bucket{}}
}

// refill brings b up to now; the caller holds mu.
func (bs *Table) refill(b *bucket, now time.Time) {
	if d := now.Sub(b.at).Seconds(); d > 0 {
		b.tokens = min(float64(bs.limit.Burst), b.tokens+d*bs.limit.Rate)
		b.at = now
	}
}

// lookup returns key's bucket, making a full one if needed; the caller
// holds mu.
func (bs *Table) lookup(key string, now time.Time) *bucket {
	if b, ok := bs.m[key]; ok {
		bs.refill(b, now)
		return b
	}
	if len(bs.m) >= bs.max {
		// At most one sweep a second: under a flood of new keys each would
		// walk the whole table.
		if now.Sub(bs.swept) >= time.Second {
			bs.swept = now
			for k, b := range bs.m {
				if bs.refill(b, now); b.tokens >= float64(bs.limit.Burst) {
					delete(bs.m, k)
				}
			}
		}
		if len(bs.m) >= bs.max {
			key = overflowKey
			if b, ok := bs.m[key]; ok {
				return b
			}
		}
	}
	b := &bucket{tokens: float64(bs.limit.Burst), at: now}
	bs.m[key] = b
	return b
}

// Over reports whether key has no token left, without taking one; first as
// for Take.
func (bs *Table) Over(key string, now time.Time) (over, first bool) {
	if bs.limit.Off() {
		return false, false
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b := bs.lookup(key, now)
	if b.tokens >= 1 {
		return false, false
	}
	return true, bs.refused(b)
}

// Take takes a token of key and reports whether there was one. A refusal
// reports first unless another was reported within the last half token's
// refill, so that a caller can tell of a key over its limit now and then
// rather than at every event.
func (bs *Table) Take(key string, now time.Time) (ok, first bool) {
	if bs.limit.Off() {
		return true, false
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b := bs.lookup(key, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, false
	}
	return false, bs.refused(b)
}

// refused marks a refusal on b and reports whether it is to be told; the
// caller holds mu.
func (bs *Table) refused(b *bucket) bool {
	if b.tokens < 0 {
		return false
	}
	// Remembers that this refusal was told, until half a token refills.
	b.tokens = -0.5
	return true
}

// HostKey is the throttling key of a remote address: the host, and for
// IPv6 its /64, since one site is usually given a whole /64.
func HostKey(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() != nil {
		return host
	}
	return (&net.IPNet{IP: ip.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}
