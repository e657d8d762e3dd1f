package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/alarms"
	"github.com/shuixiao/shuixiao/reading"
	"github.com/shuixiao/shuixiao/rejection"
)

// EntryReader reads ledger entries; the ledger implements it. The API uses
// it to confine receipts to the caller's own meters.
type EntryReader interface {
	Entry(ctx context.Context, i uint64) ([]byte, error)
}

func (s *Server) ledgerKey(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, s.opts.Ledger.VerifierKey())
}

type signatureLine struct {
	Name  string    `json:"name"`
	KeyID string    `json:"key_id"`
	Time  time.Time `json:"time,omitzero"` // cosignatures carry their time
	Log   bool      `json:"log"`
}

// signatures lists the signature lines of a signed note.
func signatures(signed []byte, origin string) []signatureLine {
	i := bytes.LastIndex(signed, []byte("\n\n"))
	if i < 0 {
		return nil
	}
	var out []signatureLine
	sc := bufio.NewScanner(bytes.NewReader(signed[i+2:]))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "— ")
		if !ok {
			continue
		}
		name, b64, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(sig) < 4 {
			continue
		}
		sl := signatureLine{Name: name, KeyID: fmt.Sprintf("%08x", sig[:4]), Log: name == origin}
		// A cosignature/v1 signature is keyID(4) || timestamp(8) || Ed25519(64).
		if !sl.Log && len(sig) == 4+8+64 {
			sl.Time = time.Unix(int64(binary.BigEndian.Uint64(sig[4:12])), 0)
		}
		out = append(out, sl)
	}
	return out
}

type policyWitness struct {
	Name    string // the policy's alias
	KeyName string // the name in the witness's key, which its cosignatures carry
	KeyID   string // hex key ID from the vkey
	Key     string
	URL     string
}

// policyWitnesses reads the witness lines of a Sigsum-format policy.
func policyWitnesses(policy string) (ws []policyWitness, quorum string) {
	for _, line := range strings.Split(policy, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "witness" {
			pw := policyWitness{Name: f[1], Key: f[2]}
			if parts := strings.SplitN(f[2], "+", 3); len(parts) == 3 {
				pw.KeyName, pw.KeyID = parts[0], parts[1]
			}
			if len(f) >= 4 {
				pw.URL = f[3]
			}
			ws = append(ws, pw)
		}
		if len(f) >= 2 && f[0] == "quorum" {
			quorum = strings.Join(f[1:], " ")
		}
	}
	return ws, quorum
}

func (s *Server) ledgerStatus(w http.ResponseWriter, r *http.Request, p *Principal) {
	ctx := r.Context()
	size, err := s.opts.Ledger.Size(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := map[string]any{"origin": s.opts.Ledger.Origin(), "size": size, "key": s.opts.Ledger.VerifierKey()}
	cp, err := s.opts.Ledger.Checkpoint(ctx)
	if err == nil {
		out["checkpoint"] = string(cp)
		lines := strings.SplitN(string(cp), "\n", 4)
		if len(lines) >= 3 {
			if n, err := strconv.ParseUint(lines[1], 10, 64); err == nil {
				out["checkpoint_size"] = n
			}
			out["root"] = lines[2]
		}
	}
	sigs := signatures(cp, s.opts.Ledger.Origin())
	witnesses := []map[string]any{}
	pws, quorum := policyWitnesses(s.opts.WitnessPolicy)
	for _, pw := range pws {
		wm := map[string]any{"name": pw.Name, "key": pw.Key, "url": pw.URL, "cosigned": false}
		for _, sl := range sigs {
			if sl.Name == pw.KeyName && sl.KeyID == pw.KeyID {
				wm["cosigned"], wm["time"], wm["key_id"] = true, sl.Time, sl.KeyID
			}
		}
		witnesses = append(witnesses, wm)
	}
	// Cosignatures by witnesses outside the policy are shown too.
	for _, sl := range sigs {
		known := sl.Log
		for _, pw := range pws {
			known = known || (sl.Name == pw.KeyName && sl.KeyID == pw.KeyID)
		}
		if !known {
			witnesses = append(witnesses, map[string]any{"name": sl.Name, "cosigned": true, "time": sl.Time, "key_id": sl.KeyID})
		}
	}
	out["witnesses"] = witnesses
	out["policy"] = map[string]any{"quorum": quorum, "n": len(pws), "text": s.opts.WitnessPolicy}
	writeJSON(w, http.StatusOK, out)
}

// entryInScope reads ledger entry idx and checks the caller may see it: a
// reading of one of its meters, or anything for callers without a tenant.
func (s *Server) entryInScope(ctx context.Context, p *Principal, idx uint64) ([]byte, error) {
	er, ok := s.opts.Ledger.(EntryReader)
	if !ok {
		return nil, errorf(http.StatusNotImplemented, "this ledger cannot read entries")
	}
	entry, err := er.Entry(ctx, idx)
	if err != nil {
		return nil, errorf(http.StatusNotFound, "no ledger entry %d: %v", idx, err)
	}
	if p.SeesAll() {
		return entry, nil
	}
	if reading.Kind(entry) == reading.CommandHeader {
		// A command entry belongs to the enterprise whose plant it commands.
		c, err := reading.ParseCommandEntry(entry)
		if err != nil || c.Enterprise == "" {
			return nil, forbidden()
		}
		if _, err := s.enterprise(ctx, p, c.Enterprise); err != nil {
			return nil, err
		}
		return entry, nil
	}
	if reading.Kind(entry) == reading.RightHeader {
		// A certificate entry belongs to the enterprises it names (certificates.go).
		for _, id := range certificateEntryParties(entry) {
			if _, err := s.enterprise(ctx, p, id); err == nil {
				return entry, nil
			}
		}
		return nil, forbidden()
	}
	rd, err := reading.Parse(entry)
	if err != nil {
		return nil, forbidden() // key entries are for admins, regulators and auditors
	}
	if _, _, _, err := s.meterInScope(ctx, p, rd.Meter); err != nil {
		return nil, err
	}
	return entry, nil
}

func indexParam(r *http.Request) (uint64, error) {
	idx, err := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	if err != nil {
		return 0, errorf(http.StatusBadRequest, "parameter index: want a ledger index")
	}
	return idx, nil
}

// proof returns the receipt of a ledger entry the caller may see.
func (s *Server) proof(w http.ResponseWriter, r *http.Request, p *Principal) {
	idx, err := indexParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.entryInScope(r.Context(), p, idx); err != nil {
		s.fail(w, r, err)
		return
	}
	pr, err := s.opts.Ledger.Proof(r.Context(), idx)
	if err != nil {
		s.fail(w, r, errorf(http.StatusNotFound, "no receipt for index %d yet: %v", idx, err))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if r.URL.Query().Get("download") != "" {
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="receipt-%d.tlog-proof"`, idx))
	}
	w.Write(pr)
}

// entry returns a ledger entry's exact bytes: a meter's signed reading (so
// a device that lost its state can resume its prev chain) or a key entry.
func (s *Server) entry(w http.ResponseWriter, r *http.Request, p *Principal) {
	idx, err := indexParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	e, err := s.entryInScope(r.Context(), p, idx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(e)
}

// rejections answers the totals of refused readings by reason, a page of
// the counters by (reason, meter) and the newest rejections. The counters
// are paged (limit, after=next of the previous page): one per meter ID a
// client made up would otherwise make the answer as large as it liked.
func (s *Server) rejections(w http.ResponseWriter, r *http.Request, p *Principal) {
	ctx := r.Context()
	limit, err := intParam(r, "limit", 100, 1, 1000)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	f := rejection.Filter{Meter: q.Get("meter"), Reason: q.Get("reason")}
	pf := f
	pf.Limit = limit
	if pf.AfterReason, pf.AfterMeter, err = parseRejectionCursor(q.Get("after")); err != nil {
		s.fail(w, r, err)
		return
	}
	all, err := s.opts.Store.RejectionCounts(ctx, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	counts, err := s.opts.Store.RejectionCounts(ctx, pf)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	next := ""
	if len(counts) == limit {
		next = rejectionCursor(counts[len(counts)-1])
	}
	recent, err := s.opts.Store.RecentRejections(ctx, f, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !p.SeesAll() {
		// A tenant sees only rejections of its own meters.
		mine := map[string]bool{}
		visible := func(m string) bool {
			if m == "" {
				return false
			}
			v, ok := mine[m]
			if !ok {
				_, _, _, err := s.meterInScope(ctx, p, m)
				v = err == nil
				mine[m] = v
			}
			return v
		}
		keep := func(cs []rejection.Count) []rejection.Count {
			var out []rejection.Count
			for _, c := range cs {
				if visible(c.Meter) {
					out = append(out, c)
				}
			}
			return out
		}
		all, counts = keep(all), keep(counts)
		var r2 []rejection.Rejection
		for _, rj := range recent {
			if visible(rj.Meter) {
				r2 = append(r2, rj)
			}
		}
		recent = r2
	}
	byReason := rejection.TotalsByReason(all)
	var total uint64
	for _, n := range byReason {
		total += n
	}
	if counts == nil {
		counts = []rejection.Count{}
	}
	if recent == nil {
		recent = []rejection.Rejection{}
	}
	out := map[string]any{"total": total, "by_reason": byReason, "counts": counts, "recent": recent}
	if next != "" {
		out["next"] = next
	}
	writeJSON(w, http.StatusOK, out)
}

// rejectionCursor names the place after a counter in the paged list.
func rejectionCursor(c rejection.Count) string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.Reason + "\x00" + c.Meter))
}

// parseRejectionCursor reads a rejectionCursor ("" from the start).
func parseRejectionCursor(v string) (reason, meter string, err error) {
	if v == "" {
		return "", "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	reason, meter, ok := strings.Cut(string(b), "\x00")
	if err != nil || !ok || reason == "" {
		return "", "", errorf(http.StatusBadRequest, "parameter after: %q is not the next of a page of rejections", v)
	}
	return reason, meter, nil
}

func (s *Server) listAlarms(w http.ResponseWriter, r *http.Request, p *Principal) {
	q := r.URL.Query()
	f := alarm.Filter{Kind: q.Get("kind"), Enterprise: q.Get("enterprise"), Meter: q.Get("meter"), Limit: 1000}
	switch st := q.Get("state"); st {
	case "", "open":
		f.Open = true
	case "all":
	case "active", "acked", "cleared":
		f.State = alarm.State(st)
	default:
		s.fail(w, r, errorf(http.StatusBadRequest, "parameter state: active|acked|cleared|open|all"))
		return
	}
	if f.Enterprise != "" {
		if _, err := s.enterprise(r.Context(), p, f.Enterprise); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if park, ent := p.tenant(); park != "" {
		f.Park = park
	} else if ent != "" {
		f.Enterprise = ent
	}
	as, err := s.alarms.List(r.Context(), f, p.sees())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, as)
}

// alarmByPath returns the alarm of the path if the caller may see it.
func (s *Server) alarmByPath(r *http.Request, p *Principal) (alarm.Alarm, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return alarm.Alarm{}, errorf(http.StatusBadRequest, "alarm id must be a number")
	}
	a, err := s.alarms.Get(r.Context(), id, p.sees())
	if errors.Is(err, alarms.ErrOutsideScope) {
		return a, forbidden()
	}
	return a, err
}

func (s *Server) ackAlarm(w http.ResponseWriter, r *http.Request, p *Principal) {
	s.alarmAction(w, r, p, s.alarms.Ack)
}

func (s *Server) clearAlarm(w http.ResponseWriter, r *http.Request, p *Principal) {
	s.alarmAction(w, r, p, s.alarms.Clear)
}

// alarmAction answers an operator's change of an alarm (internal/alarms):
// the caller must handle alarms and see this one; the body's note is
// optional.
func (s *Server) alarmAction(w http.ResponseWriter, r *http.Request, p *Principal,
	act func(ctx context.Context, a alarm.Alarm, by, note string) (alarm.Alarm, error)) {
	if !p.CanHandleAlarms() {
		s.fail(w, r, errorf(http.StatusForbidden, "an auditor token cannot change alarms"))
		return
	}
	a, err := s.alarmByPath(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req struct {
		Note string `json:"note"`
	}
	if r.ContentLength > 0 {
		if err := decode(r, &req); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	by := p.Token.ID
	if p.Token.Name != "" {
		by = p.Token.Name
	}
	a, err = act(r.Context(), a, by, req.Note)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) alarmHistory(w http.ResponseWriter, r *http.Request, p *Principal) {
	a, err := s.alarmByPath(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h, err := s.opts.Store.AlarmHistory(r.Context(), a.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}
