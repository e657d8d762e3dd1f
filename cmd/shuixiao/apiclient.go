package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// apiClient is a minimal client of the HTTP API for the bench and tests.
type apiClient struct {
	base, token string
	hc          *http.Client
}

func (c *apiClient) do(method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// getRaw GETs path and returns the answer as it is, whatever its status.
func (c *apiClient) getRaw(path string) (int, http.Header, []byte, error) {
	req, err := http.NewRequest("GET", c.base+path, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data, err
}

func (c *apiClient) post(path string, body, out any) error {
	_, err := c.do("POST", path, body, out)
	return err
}

func (c *apiClient) get(path string, out any) error {
	_, err := c.do("GET", path, nil, out)
	return err
}

// metrics returns the server's Prometheus samples without labels (name →
// value), or an empty map if they cannot be read.
func (c *apiClient) metrics() map[string]float64 {
	out := map[string]float64{}
	req, err := http.NewRequest("GET", c.base+"/metrics", nil)
	if err != nil {
		return out
	}
	req.Header.Set("Authorization", "Bearer "+c.token) // admin or auditor
	resp, err := c.hc.Do(req)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || strings.HasPrefix(f[0], "#") || strings.Contains(f[0], "{") {
			continue
		}
		if v, err := strconv.ParseFloat(f[1], 64); err == nil {
			out[f[0]] = v
		}
	}
	return out
}

// health returns the ledger size the server reports.
func (c *apiClient) health() (uint64, error) {
	var h struct {
		LedgerSize uint64 `json:"ledger_size"`
	}
	err := c.get("/api/v1/health", &h)
	return h.LedgerSize, err
}

func (c *apiClient) waitHealthy(d time.Duration) error {
	deadline := time.Now().Add(d)
	var err error
	for time.Now().Before(deadline) {
		if _, err = c.health(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}
