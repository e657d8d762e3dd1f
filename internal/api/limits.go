package api

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	xrate "golang.org/x/time/rate"

	"github.com/shuixiao/shuixiao/internal/throttle"
)

// RequestLimit is each token's budget of API requests: Burst at once, Rate
// a second after that. A negative Rate turns it off; the zero value means
// DefaultRequestLimit.
type RequestLimit struct {
	Rate  float64
	Burst int
}

// DefaultRequestLimit is generous: a console page or a script registering
// a thousand meters stays well inside it; a loop hammering the API does not.
var DefaultRequestLimit = RequestLimit{Rate: 200, Burst: 2000}

// DefaultFailedAuth is each client host's budget of failed authentications
// (unknown or revoked tokens): 20 at once, then one every 2 s. Clients
// behind one proxy share a host.
var DefaultFailedAuth = throttle.Limit{Rate: 0.5, Burst: 20}

// maxAuthHosts bounds the hosts whose failed authentications are counted.
const maxAuthHosts = 10_000

// tokenLimiter keeps one token bucket per API token. Tokens are created by
// administrators, so the map is as bounded as the token table.
type tokenLimiter struct {
	limit RequestLimit
	mu    sync.Mutex
	m     map[string]*xrate.Limiter
}

// allow takes one request from token's budget, or returns how long until
// there is one.
func (tl *tokenLimiter) allow(token string, now time.Time) (bool, time.Duration) {
	if tl.limit.Rate < 0 {
		return true, 0
	}
	tl.mu.Lock()
	lim, ok := tl.m[token]
	if !ok {
		if tl.m == nil {
			tl.m = map[string]*xrate.Limiter{}
		}
		lim = xrate.NewLimiter(xrate.Limit(tl.limit.Rate), tl.limit.Burst)
		tl.m[token] = lim
	}
	tl.mu.Unlock()
	if lim.AllowN(now, 1) {
		return true, 0
	}
	wait := time.Duration((1 - lim.TokensAt(now)) / tl.limit.Rate * float64(time.Second))
	return false, wait
}

// overLimit answers 429 with Retry-After when the caller's token has spent
// its budget, and reports whether it did.
func (s *Server) overLimit(w http.ResponseWriter, p *Principal) bool {
	ok, wait := s.requests.allow(p.Token.ID, s.opts.Now())
	if ok {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	writeError(w, http.StatusTooManyRequests, "token %s is over its request rate (%g a second after a burst of %d); retry later",
		p.Token.ID, s.requests.limit.Rate, s.requests.limit.Burst)
	return true
}

// exportTimeout bounds a long response such as a CSV export.
const exportTimeout = 10 * time.Minute

// streaming gives a long response (a CSV export) exportTimeout instead of
// the server's read and write timeouts, which are sized for ordinary
// requests.
func streaming(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Now().Add(exportTimeout))
}
