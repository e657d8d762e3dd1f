package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/api"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
	tokensvc "github.com/shuixiao/shuixiao/internal/tokens"
	"github.com/shuixiao/shuixiao/meter"
)

// limitedServer serves the API with admin tokens a, b and c.
func limitedServer(t *testing.T, opts api.Options) (*httptest.Server, map[string]string) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "store.db"), sqlite.Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tok := map[string]string{}
	for _, id := range []string{"a", "b", "c"} {
		secret := tokensvc.NewSecret()
		if err := st.CreateToken(context.Background(), store.Token{ID: id, Role: store.RoleAdmin, Created: time.Now()}, store.HashToken(secret)); err != nil {
			t.Fatal(err)
		}
		tok[id] = secret
	}
	opts.Store, opts.Logger = st, quiet
	srv := httptest.NewServer(api.New(opts))
	t.Cleanup(srv.Close)
	return srv, tok
}

func get(t *testing.T, srv *httptest.Server, token, path string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestRequestRateLimit(t *testing.T) {
	srv, tok := limitedServer(t, api.Options{Requests: api.RequestLimit{Rate: 0.5, Burst: 3}})
	for i := 0; i < 3; i++ {
		resp := get(t, srv, tok["a"], "/api/v1/me")
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
	resp := get(t, srv, tok["a"], "/api/v1/me")
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("over the budget: %d, want 429", resp.StatusCode)
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 2 {
		t.Errorf("Retry-After %q, want 1-2 s", resp.Header.Get("Retry-After"))
	}
	// Another token has its own budget.
	resp = get(t, srv, tok["b"], "/api/v1/me")
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("token b: %d", resp.StatusCode)
	}
}

func TestLiveStreamCaps(t *testing.T) {
	live := api.NewLive()
	live.MaxSubscribers, live.MaxSubscribersPerToken = 3, 2
	srv, tok := limitedServer(t, api.Options{Live: live})
	open := func(who string) *http.Response {
		resp := get(t, srv, tok[who], "/api/v1/stream")
		if resp.StatusCode == 200 {
			t.Cleanup(func() { resp.Body.Close() })
		} else {
			resp.Body.Close()
		}
		return resp
	}
	for i, c := range []struct {
		who  string
		want int
	}{{"a", 200}, {"a", 200}, {"a", 429}, {"b", 200}, {"c", 503}} {
		resp := open(c.who)
		if resp.StatusCode != c.want {
			t.Fatalf("stream %d of %s: %d, want %d", i, c.who, resp.StatusCode, c.want)
		}
		if c.want != 200 && resp.Header.Get("Retry-After") == "" {
			t.Errorf("stream %d: no Retry-After", i)
		}
	}
	if n := live.Subscribers(); n != 3 {
		t.Errorf("%d subscribers", n)
	}
}

// slowRegistry is a store whose enterprise look-ups wait for release.
type slowRegistry struct {
	store.Store
	release chan struct{}
}

func (s slowRegistry) Enterprise(ctx context.Context, id string) (meter.Enterprise, error) {
	<-s.release
	return s.Store.Enterprise(ctx, id)
}

// Fanning events out never waits for a subscriber's look-ups: a tenant's
// stream decides what it may see in its own goroutine, so a slow store (or
// a slow client) cannot hold up ingest.
func TestLiveBroadcastDoesNotWaitForLookups(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "store.db"), sqlite.Options{ManualCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	secret := tokensvc.NewSecret()
	if err := st.CreateToken(context.Background(), store.Token{ID: "tenant", Role: store.RoleRegulator, Scope: "43", Created: time.Now()}, store.HashToken(secret)); err != nil {
		t.Fatal(err)
	}
	slow := slowRegistry{Store: st, release: make(chan struct{})}
	live := api.NewLive()
	srv := httptest.NewServer(api.New(api.Options{Store: slow, Live: live, Logger: quiet}))
	defer srv.Close()
	defer close(slow.release)
	resp := get(t, srv, secret, "/api/v1/stream")
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("stream: %d", resp.StatusCode)
	}
	done := make(chan struct{})
	go func() {
		for i := 0; i < 5000; i++ {
			live.Alarm(alarm.Alarm{ID: int64(i), Enterprise: fmt.Sprintf("E%d", i)})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("broadcasting waited for the stream's enterprise look-up")
	}
	if live.Dropped() != 1 {
		t.Errorf("dropped %d streams, want the stuck one", live.Dropped())
	}
}
