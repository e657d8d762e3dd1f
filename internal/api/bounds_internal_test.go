package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/control"
	"github.com/shuixiao/shuixiao/meter"
)

// TestWriteJSONUnencodable: an answer that cannot be encoded is a 500 with
// a message and one log line, never a 200 with an empty body.
func TestWriteJSONUnencodable(t *testing.T) {
	var logged bytes.Buffer
	r := httptest.NewRequest("GET", "/api/v1/workorders", nil)
	rec := httptest.NewRecorder()
	w := &responseWriter{ResponseWriter: rec, log: slog.New(slog.NewTextHandler(&logged, nil)), r: r}
	writeJSON(w, http.StatusOK, []map[string]float64{{"water_lost_m3": math.Inf(1)}})
	var body struct{ Error string }
	if rec.Code != http.StatusInternalServerError || json.Unmarshal(rec.Body.Bytes(), &body) != nil || !strings.Contains(body.Error, "cannot be encoded") {
		t.Fatalf("HTTP %d %q", rec.Code, rec.Body.String())
	}
	if rec.Header().Get("Content-Length") != "" && rec.Header().Get("Content-Length") != itoa(rec.Body.Len()) {
		t.Errorf("Content-Length %s for %d bytes", rec.Header().Get("Content-Length"), rec.Body.Len())
	}
	if n := strings.Count(logged.String(), "cannot be encoded"); n != 1 || !strings.Contains(logged.String(), "/api/v1/workorders") {
		t.Errorf("log: %q", logged.String())
	}
	rec = httptest.NewRecorder()
	writeJSON(rec, http.StatusCreated, map[string]float64{"x": 1})
	if rec.Code != http.StatusCreated || rec.Body.String() != "{\"x\":1}\n" {
		t.Errorf("HTTP %d %q", rec.Code, rec.Body.String())
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestCheckBounds covers the walk over request types: nested structs,
// slices, maps, pointers, bounds tags and times.
func TestCheckBounds(t *testing.T) {
	type inner struct {
		V float64 `json:"v"`
	}
	type req struct {
		Flow  float64            `json:"flow" bounds:"0,10"`
		N     int                `json:"n" bounds:"1,5"`
		At    time.Time          `json:"at"`
		List  []inner            `json:"list"`
		Map   map[string]float64 `json:"map"`
		Ptr   *inner             `json:"ptr"`
		inner                    // embedded, no name: fields at this level
		Raw   json.RawMessage    `json:"raw"`
	}
	ok := req{Flow: 5, N: 3, At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), List: []inner{{1}}, Map: map[string]float64{"a": 1}, Ptr: &inner{2}}
	if err := checkBounds(&ok); err != nil {
		t.Fatal(err)
	}
	for field, edit := range map[string]func(r *req){
		"flow":      func(r *req) { r.Flow = 11 },
		"n":         func(r *req) { r.N = 0 },
		"at":        func(r *req) { r.At = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) },
		"list[0].v": func(r *req) { r.List[0].V = 1e300 },
		"map.a":     func(r *req) { r.Map["a"] = math.NaN() },
		"ptr.v":     func(r *req) { r.Ptr.V = -1e16 },
		"v:":        func(r *req) { r.inner.V = math.Inf(-1) },
	} {
		r := ok
		r.List = []inner{{1}}
		r.Map = map[string]float64{"a": 1}
		r.Ptr = &inner{2}
		edit(&r)
		err := checkBounds(&r)
		var he *httpError
		if err == nil || !strings.HasPrefix(err.Error(), field) || !asHTTP(err, &he) || he.status != http.StatusBadRequest {
			t.Errorf("%s: %v", field, err)
		}
	}
	type badTag struct {
		X float64 `json:"x" bounds:"10"`
	}
	if err := checkBounds(&badTag{}); err == nil || asHTTP(err, new(*httpError)) {
		t.Errorf("malformed tag: %v", err)
	}
}

func asHTTP(err error, he **httpError) bool {
	e, ok := err.(*httpError)
	*he = e
	return ok
}

// FuzzRequestBodies decodes random bodies into the API's named request
// types as the handlers do. Whatever is accepted has every number and time
// in bounds, and encodes back (no NaN or ±Inf can come through).
func FuzzRequestBodies(f *testing.F) {
	for _, seed := range []string{
		`{"name":"cycles","value":1e308,"reason":"x"}`,
		`{"mode":"manual","value":-1e15,"reason":""}`,
		`{"id":"P1","enterprise":"E1","level":1,"channels":[{"name":"total_m3","min":0,"max":1e12}]}`,
		`{"id":"C1","enterprise":"E1","time_scale":1e300,"updated":"0001-01-02T00:00:00Z"}`,
		`{"value":1e-320}`, `{"value":-0}`, `{"updated":"9999-12-31T23:59:59Z"}`,
		`{"channels":[{"min":-1e16}]}`, `{"value":123456789012345678901234567890}`,
	} {
		f.Add([]byte(seed))
	}
	types := []func() any{
		func() any { return new(setpointRequest) },
		func() any { return new(modeRequest) },
		func() any { return new(control.PlantConfig) },
		func() any { return new(meter.Point) },
		func() any { return new(meter.Enterprise) },
		func() any { return new(networkRequest) },
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, mk := range types {
			v := mk()
			r := httptest.NewRequest("POST", "/api/v1/x", bytes.NewReader(body))
			err := decode(r, v)
			if err != nil {
				var he *httpError
				if !asHTTP(err, &he) || he.status != http.StatusBadRequest {
					t.Fatalf("%T: %v is not a 400", v, err)
				}
				continue
			}
			if _, err := encodeJSON(v); err != nil {
				t.Fatalf("%T accepted %q and cannot encode it: %v", v, body, err)
			}
		}
	})
}
