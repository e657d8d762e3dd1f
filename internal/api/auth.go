package api

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/internal/throttle"
	"github.com/shuixiao/shuixiao/internal/tokens"
	"github.com/shuixiao/shuixiao/meter"
)

// Principal is the authenticated caller.
type Principal struct {
	Token store.Token
	hash  [32]byte // of the token's secret
}

// Role returns the caller's role.
func (p *Principal) Role() store.Role { return p.Token.Role }

// Admin reports whether the caller may change everything.
func (p *Principal) Admin() bool { return p.Token.Role == store.RoleAdmin }

// SeesAll reports whether the caller has no tenant restriction.
func (p *Principal) SeesAll() bool {
	switch p.Token.Role {
	case store.RoleAdmin, store.RoleAuditor:
		return true
	case store.RoleRegulator:
		return p.Token.Scope == ""
	}
	return false
}

// CanSeeEnterprise reports whether the caller may see an enterprise.
func (p *Principal) CanSeeEnterprise(e meter.Enterprise) bool {
	if p.SeesAll() {
		return true
	}
	switch p.Token.Role {
	case store.RoleRegulator:
		return inRegion(e.Region, p.Token.Scope)
	case store.RolePark:
		return e.Park != "" && e.Park == p.Token.Scope
	case store.RoleEnterprise:
		return e.ID == p.Token.Scope
	}
	return false
}

// sees is the caller's enterprise scope as the use cases take it:
// CanSeeEnterprise, or nil for a caller who sees every enterprise.
func (p *Principal) sees() func(meter.Enterprise) bool {
	if p.SeesAll() {
		return nil
	}
	return p.CanSeeEnterprise
}

// CanSeePark reports whether the caller may see a park as a whole.
func (p *Principal) CanSeePark(pk meter.Park) bool {
	if p.SeesAll() {
		return true
	}
	switch p.Token.Role {
	case store.RoleRegulator:
		return inRegion(pk.Region, p.Token.Scope)
	case store.RolePark:
		return pk.ID == p.Token.Scope
	}
	return false
}

// CanHandleAlarms reports whether the caller may acknowledge and clear
// alarms (of what it can see).
func (p *Principal) CanHandleAlarms() bool { return p.Token.Role != store.RoleAuditor }

// tenant returns the park or enterprise a park or enterprise token is
// confined to (both empty for other roles).
func (p *Principal) tenant() (park, enterprise string) {
	switch p.Token.Role {
	case store.RolePark:
		return p.Token.Scope, ""
	case store.RoleEnterprise:
		return "", p.Token.Scope
	}
	return "", ""
}

// filter narrows a registry filter to the caller's tenant.
func (p *Principal) filter(f store.Filter) store.Filter {
	switch p.Token.Role {
	case store.RoleRegulator:
		if p.Token.Scope != "" && f.Region == "" {
			f.Region = p.Token.Scope
		}
	case store.RolePark:
		f.Park = p.Token.Scope
	case store.RoleEnterprise:
		f.Enterprise = p.Token.Scope
	}
	return f
}

// inRegion reports whether code lies in region (a province code covers its
// cities, a city code its districts).
func inRegion(code, region string) bool {
	switch {
	case region == "":
		return true
	case len(region) == 6 && strings.HasSuffix(region, "0000"):
		return strings.HasPrefix(code, region[:2])
	case len(region) == 6 && strings.HasSuffix(region, "00"):
		return strings.HasPrefix(code, region[:4])
	}
	return code == region
}

var errForbidden = errorf(http.StatusForbidden, "access denied: outside this token's scope (无权访问)")

func forbidden() error { return errForbidden }

type tokenCache struct {
	mu sync.Mutex
	m  map[[32]byte]cachedToken
}

type cachedToken struct {
	tok     store.Token
	expires time.Time
}

// authenticated wraps a handler with bearer-token authentication. The
// token is taken from the Authorization header only: a token in a URL ends
// up in proxies' logs, browser history and Referer headers.
func (s *Server) authenticated(h func(http.ResponseWriter, *http.Request, *Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secret := ""
		if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
			secret = strings.TrimSpace(strings.TrimPrefix(a, "Bearer "))
		}
		if secret == "" {
			if writeMethod(r.Pattern) { // a read without a token is no attempt to authenticate
				s.failedAuth(r, "no token")
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="shuixiao"`)
			writeError(w, http.StatusUnauthorized, "a token is required: Authorization: Bearer <token>")
			return
		}
		s.serveAs(w, r, store.HashToken(secret), h)
	}
}

// serveAs runs h as the token whose secret hashes to hash, or answers 401.
func (s *Server) serveAs(w http.ResponseWriter, r *http.Request, hash [32]byte, h func(http.ResponseWriter, *http.Request, *Principal)) {
	host := throttle.HostKey(r.RemoteAddr)
	if over, _ := s.authFails.Over(host, s.opts.Now()); over {
		// A host that keeps presenting unknown tokens is refused before any
		// look-up: guessing costs it time, and the store nothing.
		// throttle.Table marks a refusal by going half a token below
		// empty: the host may try again once one and a half have refilled.
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(1.5/s.opts.FailedAuth.Rate)))))
		writeError(w, http.StatusTooManyRequests, "too many failed authentications from %s; retry later", host)
		return
	}
	tok, err := s.lookupToken(r.Context(), hash)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.authFails.Take(host, s.opts.Now())
			s.failedAuth(r, "unknown or revoked token")
			w.Header().Set("WWW-Authenticate", `Bearer realm="shuixiao", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unknown or revoked token")
			return
		}
		s.fail(w, r, err)
		return
	}
	p := &Principal{Token: tok, hash: hash}
	if s.overLimit(w, p) {
		return
	}
	h(w, r, p)
}

// lookupToken finds a token by the hash of its secret, caching answers for
// 10 s so that a revocation takes effect within that time.
func (s *Server) lookupToken(ctx context.Context, h [32]byte) (store.Token, error) {
	now := s.opts.Now()
	s.tokens.mu.Lock()
	if c, ok := s.tokens.m[h]; ok && now.Before(c.expires) {
		s.tokens.mu.Unlock()
		return c.tok, nil
	}
	s.tokens.mu.Unlock()
	tok, err := s.opts.Store.TokenByHash(ctx, h)
	if err != nil {
		return store.Token{}, err
	}
	s.tokens.mu.Lock()
	if s.tokens.m == nil || len(s.tokens.m) > 10000 {
		s.tokens.m = map[[32]byte]cachedToken{}
	}
	s.tokens.m[h] = cachedToken{tok: tok, expires: now.Add(10 * time.Second)}
	s.tokens.mu.Unlock()
	return tok, nil
}

// AuditorsOnly wraps a handler served beside the API (the ledger's entry
// bundles, /metrics) so that only admin and auditor tokens reach it: 401
// without a token, 403 for the other roles.
func (s *Server) AuditorsOnly(h http.Handler) http.Handler {
	return s.authenticated(func(w http.ResponseWriter, r *http.Request, p *Principal) {
		if p.Role() != store.RoleAdmin && p.Role() != store.RoleAuditor {
			s.fail(w, r, errorf(http.StatusForbidden, "only admin and auditor tokens may read this (仅限管理员和审计令牌)"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Stream tickets: EventSource cannot set an Authorization header, so the
// console first asks, with its token in the header, for a ticket, and opens
// the stream with ?ticket=. A ticket opens one stream, within ticketTTL,
// as the token that asked for it (checked again when it is used, so a
// revoked token's tickets open nothing).
const (
	ticketTTL  = time.Minute
	maxTickets = 10000
)

type ticketBook struct {
	mu sync.Mutex
	m  map[[32]byte]streamTicket // by hash of the ticket
}

type streamTicket struct {
	token   [32]byte // hash of the token's secret
	expires time.Time
}

// issue makes a ticket for the token hashing to token.
func (b *ticketBook) issue(token [32]byte, now time.Time) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, t := range b.m {
		if !now.Before(t.expires) {
			delete(b.m, k)
		}
	}
	if len(b.m) >= maxTickets {
		return "", errorf(http.StatusTooManyRequests, "too many stream tickets outstanding; try again in a minute")
	}
	if b.m == nil {
		b.m = map[[32]byte]streamTicket{}
	}
	ticket := tokens.NewSecret()
	b.m[store.HashToken(ticket)] = streamTicket{token: token, expires: now.Add(ticketTTL)}
	return ticket, nil
}

// redeem uses up a ticket and returns its token's hash.
func (b *ticketBook) redeem(ticket string, now time.Time) ([32]byte, bool) {
	h := store.HashToken(ticket)
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.m[h]
	delete(b.m, h)
	return t.token, ok && now.Before(t.expires)
}

// streamTicket answers POST /api/v1/stream/ticket.
func (s *Server) streamTicket(w http.ResponseWriter, r *http.Request, p *Principal) {
	now := s.opts.Now()
	ticket, err := s.tickets.issue(p.hash, now)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"ticket": ticket, "expires": now.Add(ticketTTL)})
}

// ticketed wraps the stream: a ?ticket= from POST /api/v1/stream/ticket,
// or the Authorization header as everywhere else.
func (s *Server) ticketed(h func(http.ResponseWriter, *http.Request, *Principal)) http.HandlerFunc {
	withHeader := s.authenticated(h)
	return func(w http.ResponseWriter, r *http.Request) {
		ticket := r.URL.Query().Get("ticket")
		if ticket == "" {
			withHeader(w, r)
			return
		}
		token, ok := s.tickets.redeem(ticket, s.opts.Now())
		if !ok {
			writeError(w, http.StatusUnauthorized, "unknown, used or expired stream ticket: ask POST /api/v1/stream/ticket for another")
			return
		}
		s.serveAs(w, r, token, h)
	}
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, p *Principal) {
	writeJSON(w, http.StatusOK, map[string]any{"role": p.Token.Role, "scope": p.Token.Scope, "name": p.Token.Name, "id": p.Token.ID})
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !p.Admin() {
		s.fail(w, r, forbidden())
		return
	}
	ts, err := s.tokenService().List(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ts)
}

// createToken issues a token (tokens.Service.Create); the secret is in the
// answer and nowhere else.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !p.Admin() {
		s.fail(w, r, forbidden())
		return
	}
	var req struct {
		ID    string     `json:"id"`
		Name  string     `json:"name"`
		Role  store.Role `json:"role"`
		Scope string     `json:"scope"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	tok, secret, err := s.tokenService().Create(r.Context(), tokens.Request{ID: req.ID, Name: req.Name, Role: req.Role, Scope: req.Scope})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": tok, "secret": secret})
}

// revokeToken revokes a token (tokens.Service.Revoke) and drops the
// authentication cache, so that it stops working at once here.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p *Principal) {
	if !p.Admin() {
		s.fail(w, r, forbidden())
		return
	}
	if err := s.tokenService().Revoke(r.Context(), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	s.tokens.mu.Lock()
	s.tokens.m = nil
	s.tokens.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"revoked": r.PathValue("id")})
}

// tokenService runs the token use cases over the server's store.
func (s *Server) tokenService() *tokens.Service {
	return &tokens.Service{Store: s.opts.Store, Now: s.opts.Now}
}
