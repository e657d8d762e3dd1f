package api

import (
	"net/http"

	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/quarantine"
)

// quarantine lists the ledger entries the store set aside instead of
// committing them (quarantine.Record), newest first: for admins and auditors,
// who see the whole ledger.
func (s *Server) quarantine(w http.ResponseWriter, r *http.Request, p *Principal) {
	if p.Role() != store.RoleAdmin && p.Role() != store.RoleAuditor {
		s.fail(w, r, forbidden())
		return
	}
	limit, err := intParam(r, "limit", quarantine.DefaultLimit, 1, quarantine.MaxLimit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	qs, err := s.opts.Store.Quarantined(r.Context(), quarantine.Filter{Meter: r.URL.Query().Get("meter"), Limit: limit})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": qs})
}
