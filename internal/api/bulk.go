package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/shuixiao/shuixiao/internal/registry"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
)

// Bulk registration (internal/registry bulk.go): POST /api/v1/points/import
// and POST /api/v1/meters/import take a JSON array of what the single
// routes take, all stored or none.

// maxBulkBody bounds a bulk registration's body: 10,000 items of up to
// about 3 KB.
const maxBulkBody = 32 << 20

// decodeArray reads a JSON array of at most max objects into a slice,
// each decoded as decode decodes one request body (unknown fields refused,
// numbers and times bounded); an error names the item's index (from 0).
func decodeArray[T any](body io.Reader, max int) ([]T, error) {
	dec := json.NewDecoder(body)
	if tok, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("request body: %v", err)
	} else if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, errors.New("request body: want a JSON array")
	}
	var out []T
	for i := 0; dec.More(); i++ {
		if i == max {
			return nil, fmt.Errorf("request body: more than %d items", max)
		}
		var v T
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("item %d: %v", i, err)
		}
		one := json.NewDecoder(bytes.NewReader(raw))
		one.DisallowUnknownFields()
		if err := one.Decode(&v); err != nil {
			return nil, fmt.Errorf("item %d: %v", i, err)
		}
		if err := checkBounds(&v); err != nil {
			return nil, fmt.Errorf("item %d: %v", i, err)
		}
		out = append(out, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("request body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("request body: data after the array")
	}
	if len(out) == 0 {
		return nil, errors.New("request body: an empty array")
	}
	return out, nil
}

// decodeBulk decodes a bulk registration body, or answers why not.
func decodeBulk[T any](s *Server, w http.ResponseWriter, r *http.Request, p *Principal) ([]T, bool) {
	if !p.Admin() {
		s.fail(w, r, errorf(http.StatusForbidden, "only an admin token may change the registry"))
		return nil, false
	}
	items, err := decodeArray[T](http.MaxBytesReader(w, r.Body, maxBulkBody), registry.MaxBatch)
	if err != nil {
		s.fail(w, r, errorf(http.StatusBadRequest, "导入被拒绝，未保存任何一项 / batch refused, nothing stored: %v", err))
		return nil, false
	}
	return items, true
}

// importPoints answers POST /api/v1/points/import: new points, their
// entries on the ledger together.
func (s *Server) importPoints(w http.ResponseWriter, r *http.Request, p *Principal) {
	pts, ok := decodeBulk[meter.Point](s, w, r, p)
	if !ok {
		return
	}
	idx, err := s.points.CreateMany(r.Context(), pts, s.opts.Ingest)
	if err != nil {
		s.failBulk(w, r, err)
		return
	}
	s.invalidate()
	writeJSON(w, http.StatusCreated, map[string]any{"created": len(pts), "first_index": idx[0], "last_index": idx[len(idx)-1]})
}

// importMeters answers POST /api/v1/meters/import: meters, their key
// entries on the ledger together.
func (s *Server) importMeters(w http.ResponseWriter, r *http.Request, p *Principal) {
	reqs, ok := decodeBulk[meterRequest](s, w, r, p)
	if !ok {
		return
	}
	regs := make([]registry.Registration, len(reqs))
	for i := range reqs {
		var err error
		if regs[i], err = reqs[i].registration(); err != nil {
			s.fail(w, r, errorf(http.StatusBadRequest, "导入被拒绝，未保存任何一项 / batch refused, nothing stored: item %d, field interval_s: %v", i, err))
			return
		}
	}
	out, err := s.meters.RegisterMany(r.Context(), regs, s.opts.Ingest)
	if err != nil {
		s.failBulk(w, r, err)
		return
	}
	s.invalidate()
	created := 0
	for _, reg := range out {
		if reg.Created {
			created++
		}
	}
	writeJSON(w, http.StatusCreated, map[string]any{"created": created, "unchanged": len(out) - created})
}

// failBulk answers a refused bulk registration: 409 when its first bad
// item contradicts the registry, else 400; every bad item listed.
func (s *Server) failBulk(w http.ResponseWriter, r *http.Request, err error) {
	var be *registry.BatchError
	if !errors.As(err, &be) {
		s.failRegistry(w, r, err)
		return
	}
	status := http.StatusBadRequest
	if errors.Is(err, registry.ErrConflict) || errors.Is(err, store.ErrExists) {
		status = http.StatusConflict
	}
	s.fail(w, r, errorf(status, "导入被拒绝，未保存任何一项 / %v", err))
}

// bulkDocs describe the bulk registration routes in the OpenAPI document.
var bulkDocs = []opDoc{
	{method: "POST", path: "/api/v1/points/import", summary: "Create up to 10,000 metering points in one request (admin): a JSON array of what POST /api/v1/points takes (a parent may be an earlier item); all created or none, every bad item named by index and field; their ledger entries appended together", body: "[metering point, …]"},
	{method: "POST", path: "/api/v1/meters/import", summary: "Register up to 10,000 meters in one request (admin): a JSON array of what POST /api/v1/meters takes; all registered or none, every bad item named by index and field; their key entries appended together", body: `[{"id","point","key","signed","gateway","collector","interval_s","mqtt_password"}, …]`},
}

func init() { opDocs = append(opDocs, bulkDocs...) }
