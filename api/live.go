package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/ingest"
	"github.com/shuixiao/shuixiao/store"
)

// Seen is the latest admitted reading of a meter.
type Seen struct {
	Seq        uint64
	Index      uint64
	Time       time.Time // device time
	Received   time.Time
	Enterprise string
	Values     []store.Value
	Flags      store.Flags
}

// Live keeps each meter's latest reading in memory and fans committed
// readings and alarms out to server-sent-event subscribers.
type Live struct {
	mu   sync.RWMutex
	seen map[string]Seen

	subMu sync.Mutex
	subs  map[*subscriber]struct{}
}

type subscriber struct {
	enterprise string // "" for every enterprise the caller may see
	allow      func(enterprise string) bool
	ch         chan liveEvent
	dropped    int
}

type liveEvent struct {
	kind string
	data []byte
}

// NewLive returns an empty Live.
func NewLive() *Live {
	return &Live{seen: map[string]Seen{}, subs: map[*subscriber]struct{}{}}
}

// Load seeds the latest readings from the store's admission states at start.
func (l *Live) Load(states []store.MeterState, enterpriseOf func(meter string) string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, st := range states {
		l.seen[st.Meter] = Seen{Seq: st.Seq, Index: st.Index, Time: st.Time, Received: st.Time, Enterprise: enterpriseOf(st.Meter)}
	}
}

// Seen returns a meter's latest reading.
func (l *Live) Seen(meterID string) (Seen, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	s, ok := l.seen[meterID]
	return s, ok
}

// Snapshot copies every meter's latest reading.
func (l *Live) Snapshot() map[string]Seen {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make(map[string]Seen, len(l.seen))
	for k, v := range l.seen {
		out[k] = v
	}
	return out
}

type readingEvent struct {
	Meter      string             `json:"meter"`
	Enterprise string             `json:"enterprise"`
	Seq        uint64             `json:"seq"`
	Index      uint64             `json:"index"`
	Time       time.Time          `json:"time"`
	Values     map[string]float64 `json:"values"`
	Flags      []string           `json:"flags"`
}

// Committed records a commit of the ingest pipeline.
func (l *Live) Committed(c *ingest.Committed) {
	l.mu.Lock()
	for i, r := range c.Readings {
		l.seen[r.Meter] = Seen{Seq: r.Seq, Index: r.Index, Time: r.Time, Received: r.Received,
			Enterprise: c.Enterprise[i], Values: r.Values, Flags: r.Flags}
	}
	l.mu.Unlock()
	l.subMu.Lock()
	n := len(l.subs)
	l.subMu.Unlock()
	if n == 0 {
		return
	}
	for i, r := range c.Readings {
		ev := readingEvent{Meter: r.Meter, Enterprise: c.Enterprise[i], Seq: r.Seq, Index: r.Index, Time: r.Time,
			Values: make(map[string]float64, len(r.Values)), Flags: nonNil(r.Flags.Names())}
		for _, v := range r.Values {
			ev.Values[v.Channel] = v.Value
		}
		data, _ := json.Marshal(ev)
		l.broadcast(c.Enterprise[i], liveEvent{kind: "reading", data: data})
	}
}

// Alarm sends an alarm to the subscribers that may see it.
func (l *Live) Alarm(a alarm.Alarm) {
	data, _ := json.Marshal(a)
	l.broadcast(a.Enterprise, liveEvent{kind: "alarm", data: data})
}

func (l *Live) broadcast(enterprise string, ev liveEvent) {
	l.subMu.Lock()
	defer l.subMu.Unlock()
	for s := range l.subs {
		if s.enterprise != "" && s.enterprise != enterprise {
			continue
		}
		if !s.allow(enterprise) {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			s.dropped++ // a slow client loses events rather than slowing ingest
		}
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// stream serves server-sent events: "reading" and "alarm".
func (s *Server) stream(w http.ResponseWriter, r *http.Request, p *Principal) {
	ent := r.URL.Query().Get("enterprise")
	if ent != "" {
		if _, err := s.enterprise(r.Context(), p, ent); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		s.fail(w, r, errorf(http.StatusInternalServerError, "streaming not supported"))
		return
	}
	// Enterprise visibility is decided once per enterprise and remembered.
	var visMu sync.Mutex
	visible := map[string]bool{}
	allow := func(e string) bool {
		if p.SeesAll() {
			return true
		}
		visMu.Lock()
		defer visMu.Unlock()
		v, ok := visible[e]
		if !ok {
			ent, err := s.opts.Store.Enterprise(r.Context(), e)
			v = err == nil && p.CanSeeEnterprise(ent)
			visible[e] = v
		}
		return v
	}
	sub := &subscriber{enterprise: ent, allow: allow, ch: make(chan liveEvent, 256)}
	live := s.opts.Live
	live.subMu.Lock()
	live.subs[sub] = struct{}{}
	live.subMu.Unlock()
	defer func() {
		live.subMu.Lock()
		delete(live.subs, sub)
		live.subMu.Unlock()
	}()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n: connected\n\n")
	flusher.Flush()
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case ev := <-sub.ch:
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.kind, ev.data)
			// Send what else is queued before flushing.
			for n := 0; n < 64; n++ {
				select {
				case ev = <-sub.ch:
					fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.kind, ev.data)
					continue
				default:
				}
				break
			}
			flusher.Flush()
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			flusher.Flush()
		}
	}
}
