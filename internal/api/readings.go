package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/internal/ingest"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/reading"
)

type readingItem struct {
	Meter    string             `json:"meter"`
	Seq      uint64             `json:"seq"`
	Index    uint64             `json:"index"`
	Time     time.Time          `json:"time"`
	Received time.Time          `json:"received"`
	Flags    []string           `json:"flags"`
	Trust    string             `json:"trust"` // meter-signed or gateway-signed
	Values   map[string]float64 `json:"values"`
}

func encodeCursor(c *store.Cursor) string {
	if c == nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d:%d", c.Time.UnixMilli(), c.Seq)))
}

func decodeCursor(s string) (*store.Cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		ms, seq, ok := strings.Cut(string(b), ":")
		if ok {
			t, err1 := strconv.ParseInt(ms, 10, 64)
			n, err2 := strconv.ParseUint(seq, 10, 64)
			if err1 == nil && err2 == nil {
				return &store.Cursor{Time: time.UnixMilli(t), Seq: n}, nil
			}
		}
	}
	return nil, errorf(http.StatusBadRequest, "parameter cursor: not a cursor this server issued")
}

func (s *Server) readings(w http.ResponseWriter, r *http.Request, p *Principal) {
	q := r.URL.Query()
	id := q.Get("meter")
	if id == "" {
		s.fail(w, r, errorf(http.StatusBadRequest, "parameter meter is required"))
		return
	}
	m, _, _, err := s.meterInScope(r.Context(), p, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	from, err := s.timeParam(r, "from", time.Time{})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	to, err := s.timeParam(r, "to", time.Time{})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	limit, err := intParam(r, "limit", 500, 1, store.MaxPageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cur, err := decodeCursor(q.Get("cursor"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	order := q.Get("order")
	if order != "" && order != "asc" && order != "desc" {
		s.fail(w, r, errorf(http.StatusBadRequest, "parameter order: asc or desc"))
		return
	}
	rq := store.ReadingQuery{Meter: id, From: from, To: to, Desc: order != "asc", Limit: limit, After: cur}
	if q.Get("format") == "csv" {
		m, _ := s.opts.Store.Meter(r.Context(), id)
		pt, _ := s.opts.Store.Point(r.Context(), m.Point)
		var chans []string
		for _, c := range pt.Channels {
			chans = append(chans, c.Name)
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-readings.csv"`, id))
		streaming(w) // a whole range of readings can take longer than the server's write timeout
		rq.Limit = 0
		sent := &countingWriter{w: w}
		if err := store.WriteReadingsCSV(r.Context(), sent, s.opts.Store, rq, chans, s.loc(r)); err != nil {
			s.abortStream(w, r, sent.n, err)
		}
		return
	}
	page, err := s.opts.Store.Readings(r.Context(), rq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items := make([]readingItem, 0, len(page.Readings))
	loc := s.loc(r)
	for _, rd := range page.Readings {
		it := readingItem{Meter: rd.Meter, Seq: rd.Seq, Index: rd.Index, Time: rd.Time.In(loc), Received: rd.Received.In(loc),
			Flags: nonNil(rd.Flags.Names()), Trust: m.Trust(), Values: make(map[string]float64, len(rd.Values))}
		for _, v := range rd.Values {
			it.Values[v.Channel] = v.Value
		}
		items = append(items, it)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next": encodeCursor(page.Next), "trust": m.Trust(), "gateway": m.Gateway})
}

// series answers one channel of a meter or point, aggregated.
func (s *Server) series(w http.ResponseWriter, r *http.Request, p *Principal) {
	q := r.URL.Query()
	ser := store.Series{Meter: q.Get("meter"), Point: q.Get("point"), Channel: q.Get("channel")}
	if err := ser.Validate(); err != nil {
		s.fail(w, r, errorf(http.StatusBadRequest, "series: %v (give meter or point, and channel)", err))
		return
	}
	var pt meter.Point
	var err error
	if ser.Meter != "" {
		_, pt, _, err = s.meterInScope(r.Context(), p, ser.Meter)
	} else {
		pt, err = s.opts.Store.Point(r.Context(), ser.Point)
		if err == nil {
			_, err = s.enterprise(r.Context(), p, pt.Enterprise)
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ch, ok := pt.Channel(ser.Channel)
	if !ok {
		s.fail(w, r, errorf(http.StatusBadRequest, "point %s has no channel %s", pt.ID, ser.Channel))
		return
	}
	now := s.opts.Now()
	to, err := s.timeParam(r, "to", now)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	from, err := s.timeParam(r, "from", to.Add(-24*time.Hour))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !from.Before(to) {
		s.fail(w, r, errorf(http.StatusBadRequest, "from must be before to"))
		return
	}
	iv := store.Interval(q.Get("interval"))
	if iv == "" {
		iv = store.Min15
	}
	fn := store.Fn(q.Get("fn"))
	if fn == "" {
		fn = store.Avg
		if ch.Kind != meter.Rate {
			fn = store.Delta
		}
	}
	if !iv.Valid() || !fn.Valid() {
		s.fail(w, r, errorf(http.StatusBadRequest, "interval must be raw|15m|1h|1d|1mo and fn avg|min|max|last|sum|delta"))
		return
	}
	buckets, err := s.opts.Store.Aggregate(r.Context(), store.AggregateQuery{Series: ser, From: from, To: to, Interval: iv, Fn: fn, Location: s.loc(r)})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if q.Get("format") == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s-%s-%s.csv"`, strings.TrimPrefix(ser.Meter+ser.Point, ""), ser.Channel, iv, fn))
		if err := store.WriteBucketsCSV(w, buckets, s.loc(r)); err != nil {
			s.opts.Logger.Error("series CSV", "error", err)
		}
		return
	}
	ts := make([]time.Time, len(buckets))
	vs := make([]*float64, len(buckets))
	loc := s.loc(r)
	for i, b := range buckets {
		ts[i] = b.Start.In(loc)
		if b.Valid && !math.IsNaN(b.Value) {
			v := b.Value
			vs[i] = &v
		}
	}
	trust, err := s.seriesTrust(r.Context(), ser)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"meter": ser.Meter, "point": ser.Point, "channel": ser.Channel, "unit": ch.Unit,
		"kind": ch.Kind, "interval": iv, "fn": fn, "t": ts, "v": vs, "trust": trust})
}

// ingestBatch takes signed readings over HTTP (gateways, telecom IoT
// platforms). Each reading is answered like an MQTT publish.
func (s *Server) ingestBatch(w http.ResponseWriter, r *http.Request, p *Principal) {
	if p.Role() != store.RoleAdmin && p.Role() != store.RoleEnterprise {
		s.fail(w, r, errorf(http.StatusForbidden, "only admin and enterprise tokens may submit readings"))
		return
	}
	var req struct {
		Readings []string `json:"readings"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<20)
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if len(req.Readings) == 0 || len(req.Readings) > 1000 {
		s.fail(w, r, errorf(http.StatusBadRequest, "readings: give 1 to 1000 signed notes"))
		return
	}
	type result struct {
		Index     *uint64  `json:"index,omitempty"`
		Duplicate bool     `json:"duplicate,omitempty"`
		Flags     []string `json:"flags,omitempty"`
		Error     string   `json:"error,omitempty"`
		Reason    string   `json:"reason,omitempty"`
	}
	results := make([]result, len(req.Readings))
	var wg sync.WaitGroup
	for i, note := range req.Readings {
		raw := []byte(note)
		if p.Role() == store.RoleEnterprise {
			if rd, err := reading.Parse(raw); err == nil {
				if _, _, e, err := s.meterInScope(r.Context(), p, rd.Meter); err != nil || e.ID != p.Token.Scope {
					results[i] = result{Error: "meter " + rd.Meter + " does not belong to this enterprise", Reason: "forbidden"}
					continue
				}
			}
		}
		wg.Add(1)
		s.opts.Ingest.Submit(raw, "", "http:"+r.RemoteAddr, func(res ingest.Result) {
			defer wg.Done()
			if res.Reject != nil {
				results[i] = result{Error: res.Reject.Detail, Reason: res.Reject.Reason}
				return
			}
			idx := res.Index
			results[i] = result{Index: &idx, Duplicate: res.Duplicate, Flags: res.Flags.Names()}
		})
	}
	wg.Wait()
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

// countingWriter counts the bytes that reached the client.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// abortStream ends a streamed export that failed. If nothing was sent yet
// the failure is answered as any other; otherwise the status line is gone,
// and the connection is broken (http.ErrAbortHandler) so that the client
// sees an incomplete transfer instead of a file that looks whole.
func (s *Server) abortStream(w http.ResponseWriter, r *http.Request, sent int64, err error) {
	if sent == 0 {
		w.Header().Del("Content-Disposition")
		s.fail(w, r, err)
		return
	}
	if errors.Is(err, context.Canceled) {
		return // the client went away
	}
	s.opts.Logger.Error("api: streamed export failed after its start; connection aborted", "path", r.URL.Path, "sent_bytes", sent, "error", err)
	panic(http.ErrAbortHandler)
}

// seriesTrust is the trust of a series: its meter's, or that of every
// meter registered on its point (a point's figures sum them).
func (s *Server) seriesTrust(ctx context.Context, ser store.Series) (meter.TrustSummary, error) {
	if ser.Meter != "" {
		m, err := s.opts.Store.Meter(ctx, ser.Meter)
		if err != nil {
			return meter.TrustSummary{}, err
		}
		return meter.TrustOf([]meter.Meter{m}), nil
	}
	ms, err := s.opts.Store.Meters(ctx, store.Filter{Point: ser.Point})
	if err != nil {
		return meter.TrustSummary{}, err
	}
	return meter.TrustOf(ms), nil
}
