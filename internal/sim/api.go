package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/meter"
)

// API is a client of the parts of the shuixiao HTTP API (docs/api.md) the
// simulator uses: registration with the admin token and read-back.
type API struct {
	Base  string // e.g. http://127.0.0.1:8080
	Token string
	HTTP  *http.Client
}

// APIError is an HTTP error answer.
type APIError struct {
	Status  int
	Message string
	Path    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s: HTTP %d: %s", e.Path, e.Status, e.Message)
}

// IsExists reports whether err means the object already exists (409).
func IsExists(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusConflict
}

// IsNotFound reports whether err is a 404.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

func (a *API) do(ctx context.Context, method, path string, body, out any) error {
	_, err := a.doStatus(ctx, method, path, body, out)
	return err
}

// doStatus is do returning the HTTP status of a successful answer too.
func (a *API) doStatus(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(a.Base, "/")+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token)
	}
	hc := a.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(raw))
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		return resp.StatusCode, &APIError{Status: resp.StatusCode, Message: msg, Path: method + " " + path}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// Health checks GET /api/v1/health.
func (a *API) Health(ctx context.Context) error {
	return a.do(ctx, http.MethodGet, "/api/v1/health", nil, nil)
}

// CreatePark registers a park (admin).
func (a *API) CreatePark(ctx context.Context, p meter.Park) error {
	return a.do(ctx, http.MethodPost, "/api/v1/parks", p, nil)
}

// CreateEnterprise registers an enterprise (admin).
func (a *API) CreateEnterprise(ctx context.Context, e meter.Enterprise) error {
	return a.do(ctx, http.MethodPost, "/api/v1/enterprises", e, nil)
}

// CreatePoint registers a metering point (admin).
func (a *API) CreatePoint(ctx context.Context, p meter.Point) error {
	return a.do(ctx, http.MethodPost, "/api/v1/points", p, nil)
}

// MeterRegistration is the body of POST /api/v1/meters.
type MeterRegistration struct {
	ID           string `json:"id"`
	Point        string `json:"point"`
	Key          string `json:"key,omitempty"`
	Signed       string `json:"signed"`
	Gateway      string `json:"gateway,omitempty"` // the gateway that signs for a legacy device (no key)
	IntervalS    int    `json:"interval_s"`
	MQTTPassword string `json:"mqtt_password,omitempty"`
}

// MeterInfo is a meter as GET /api/v1/meters/{id} returns it.
type MeterInfo struct {
	ID         string `json:"id"`
	Point      string `json:"point"`
	Enterprise string `json:"enterprise"`
	Key        string `json:"key"`
	Signed     string `json:"signed"`
	Revoked    bool   `json:"revoked"`
	LastSeq    uint64 `json:"last_seq"`
	LastIndex  int64  `json:"last_index"`
	LastTime   string `json:"last_time"`
	Status     string `json:"status"`
}

// RegisterMeter registers a meter's key and MQTT password (admin); the
// registration is a ledger entry whose index is returned. created is false
// when the server already had the meter with this key and point (200).
func (a *API) RegisterMeter(ctx context.Context, m MeterRegistration) (index int64, created bool, err error) {
	var out struct {
		Index int64 `json:"index"`
	}
	status, err := a.doStatus(ctx, http.MethodPost, "/api/v1/meters", m, &out)
	return out.Index, status == http.StatusCreated, err
}

// PutDeviceMapping creates or replaces a legacy device's mapping (admin).
func (a *API) PutDeviceMapping(ctx context.Context, d meter.DeviceMapping) error {
	return a.do(ctx, http.MethodPost, "/api/v1/gateway-devices", d, nil)
}

// RevokeMeter revokes a meter's key (admin).
func (a *API) RevokeMeter(ctx context.Context, id, reason string) (index int64, err error) {
	var out struct {
		Index int64 `json:"index"`
	}
	err = a.do(ctx, http.MethodPost, "/api/v1/meters/"+url.PathEscape(id)+"/revoke", map[string]string{"reason": reason}, &out)
	return out.Index, err
}

// Meter fetches one meter.
func (a *API) Meter(ctx context.Context, id string) (MeterInfo, error) {
	var m MeterInfo
	err := a.do(ctx, http.MethodGet, "/api/v1/meters/"+url.PathEscape(id), nil, &m)
	return m, err
}

// ReadingInfo is a stored reading as GET /api/v1/readings returns it.
type ReadingInfo struct {
	Meter    string             `json:"meter"`
	Seq      uint64             `json:"seq"`
	Index    int64              `json:"index"`
	Time     time.Time          `json:"time"`
	Received time.Time          `json:"received"`
	Flags    []string           `json:"flags"`
	Values   map[string]float64 `json:"values"`
}

// Readings fetches a meter's readings between from and to (all pages;
// limit 0 = no limit, newest first when desc).
func (a *API) Readings(ctx context.Context, meterID string, from, to time.Time, limit int, desc bool) ([]ReadingInfo, error) {
	var all []ReadingInfo
	cursor := ""
	for {
		q := url.Values{"meter": {meterID}}
		if !from.IsZero() {
			q.Set("from", from.Format(time.RFC3339Nano))
		}
		if !to.IsZero() {
			q.Set("to", to.Format(time.RFC3339Nano))
		}
		if limit > 0 {
			q.Set("limit", fmt.Sprint(limit))
		}
		// Always explicit: the docs show order=desc as an option, the
		// server defaults to newest first.
		q.Set("order", map[bool]string{true: "desc", false: "asc"}[desc])
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Items []ReadingInfo `json:"items"`
			Next  string        `json:"next"`
		}
		if err := a.do(ctx, http.MethodGet, "/api/v1/readings?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.Next == "" || (limit > 0 && len(all) >= limit) {
			return all, nil
		}
		cursor = page.Next
	}
}

// Rejection is one recent rejection.
type Rejection struct {
	Time   time.Time `json:"time"`
	Meter  string    `json:"meter"`
	Reason string    `json:"reason"`
	Detail string    `json:"detail"`
	Source string    `json:"source"`
}

// Rejections is GET /api/v1/rejections.
type Rejections struct {
	Total    int64            `json:"total"`
	ByReason map[string]int64 `json:"by_reason"`
	Recent   []Rejection      `json:"recent"`
}

// Rejections fetches the rejection counters and recent rejections.
func (a *API) Rejections(ctx context.Context, limit int) (Rejections, error) {
	var r Rejections
	err := a.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/rejections?limit=%d", limit), nil, &r)
	return r, err
}
