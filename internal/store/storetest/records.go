package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/quarantine"
	"github.com/shuixiao/shuixiao/rejection"
)

func testRejections(t *testing.T, s store.Store) {
	ctx := context.Background()
	fixture(t, s)
	t0 := day(2)
	var rejs []rejection.Rejection
	for i := 0; i < 30; i++ {
		rejs = append(rejs, rejection.Rejection{Time: t0.Add(time.Duration(i) * time.Second), Meter: "M-1", Reason: "bad-signature", Detail: fmt.Sprint("attempt ", i), Source: "10.0.0.7:5123"})
	}
	rejs = append(rejs,
		rejection.Rejection{Time: t0.Add(time.Minute), Reason: "unknown-key", Detail: strings.Repeat("x", 2000), Source: "10.0.0.8:1"},
		rejection.Rejection{Time: t0.Add(2 * time.Minute), Meter: "M-2", Reason: "replay"},
	)
	// Rejections travel with readings in one commit, or alone.
	must(t, s.Commit(ctx, &store.Batch{Readings: []store.Reading{rd("M-1", 1, t0, 1, total(1))}, Rejections: rejs[:20]}))
	must(t, s.Commit(ctx, &store.Batch{Rejections: rejs[20:]}))
	counts, err := s.RejectionCounts(ctx, rejection.Filter{})
	must(t, err)
	want := []rejection.Count{
		{Reason: "bad-signature", Meter: "M-1", Count: 30, Last: t0.Add(29 * time.Second)},
		{Reason: "replay", Meter: "M-2", Count: 1, Last: t0.Add(2 * time.Minute)},
		{Reason: "unknown-key", Meter: "", Count: 1, Last: t0.Add(time.Minute)},
	}
	if len(counts) != len(want) {
		t.Fatalf("counts %+v", counts)
	}
	for i := range want {
		c, w := counts[i], want[i]
		if c.Reason != w.Reason || c.Meter != w.Meter || c.Count != w.Count || !c.Last.Equal(w.Last) {
			t.Errorf("count %d: %+v, want %+v", i, c, w)
		}
	}
	if tot := rejection.TotalsByReason(counts); tot["bad-signature"] != 30 || tot["replay"] != 1 {
		t.Errorf("totals %v", tot)
	}
	// Pages of counters resume after the last one.
	page, err := s.RejectionCounts(ctx, rejection.Filter{Limit: 2})
	must(t, err)
	rest, err := s.RejectionCounts(ctx, rejection.Filter{Limit: 2, AfterReason: page[1].Reason, AfterMeter: page[1].Meter})
	must(t, err)
	if len(page) != 2 || len(rest) != 1 || page[1].Reason != "replay" || rest[0].Reason != "unknown-key" {
		t.Errorf("pages of counts: %+v then %+v", page, rest)
	}
	counts, err = s.RejectionCounts(ctx, rejection.Filter{Meter: "M-2"})
	must(t, err)
	if len(counts) != 1 || counts[0].Reason != "replay" {
		t.Errorf("counts of M-2: %+v", counts)
	}
	// The log keeps one row per (reason, meter, source): 30 attempts are
	// one row with their count, first and last time and the last detail.
	recent, err := s.RecentRejections(ctx, rejection.Filter{}, 5)
	must(t, err)
	if len(recent) != 3 || recent[0].Reason != "replay" || recent[1].Reason != "unknown-key" || recent[2].Detail != "attempt 29" {
		t.Fatalf("recent: %+v", recent)
	}
	if len(recent[1].Detail) != rejection.MaxDetail || recent[1].Source != "10.0.0.8:1" || recent[1].Count != 1 {
		t.Errorf("detail not bounded: %d bytes", len(recent[1].Detail))
	}
	recent, err = s.RecentRejections(ctx, rejection.Filter{Meter: "M-1", Reason: "bad-signature"}, 0)
	must(t, err)
	if len(recent) != 1 || recent[0].Count != 30 || !recent[0].First.Equal(t0) || !recent[0].Time.Equal(t0.Add(29*time.Second)) {
		t.Errorf("recent of M-1: %+v", recent)
	}
	// A late-arriving older refusal counts but does not move the last time
	// or the detail.
	must(t, s.Commit(ctx, &store.Batch{Rejections: []rejection.Rejection{{Time: t0.Add(-time.Hour), Meter: "M-1", Reason: "bad-signature", Detail: "old", Source: "10.0.0.7:5123"}}}))
	recent, err = s.RecentRejections(ctx, rejection.Filter{Meter: "M-1", Reason: "bad-signature"}, 0)
	must(t, err)
	if len(recent) != 1 || recent[0].Count != 31 || recent[0].Detail != "attempt 29" || !recent[0].First.Equal(t0.Add(-time.Hour)) || !recent[0].Time.Equal(t0.Add(29*time.Second)) {
		t.Errorf("after an older refusal: %+v", recent)
	}
	// What a stranger claims is stored bounded: a 10 KB name and address
	// are cut to rejection.MaxKey, and a thousand refusals of the same key
	// (given pre-counted or one by one) stay one row.
	long := strings.Repeat("用", 4000)
	var junk []rejection.Rejection
	for i := 0; i < 1000; i++ {
		junk = append(junk, rejection.Rejection{Time: t0.Add(3 * time.Minute), Meter: long, Reason: "bad-username", Source: long, Detail: long})
	}
	junk = append(junk, rejection.Rejection{Time: t0.Add(4 * time.Minute), Meter: long, Reason: "bad-username", Source: long, Count: 500})
	must(t, s.Commit(ctx, &store.Batch{Rejections: junk}))
	recent, err = s.RecentRejections(ctx, rejection.Filter{Reason: "bad-username"}, 0)
	must(t, err)
	if len(recent) != 1 || recent[0].Count != 1500 || len(recent[0].Meter) > rejection.MaxKey || len(recent[0].Source) > rejection.MaxKey ||
		!strings.HasPrefix(long, recent[0].Meter) || !strings.HasPrefix(long, recent[0].Source) || len(recent[0].Detail) > rejection.MaxDetail {
		t.Fatalf("junk: %d rows, first %+.80v", len(recent), recent)
	}
	counts, err = s.RejectionCounts(ctx, rejection.Filter{Reason: "bad-username"})
	must(t, err)
	if len(counts) != 1 || counts[0].Count != 1500 || counts[0].Meter != recent[0].Meter {
		t.Errorf("junk counts: %+.80v", counts)
	}
	// Different sources of one (reason, meter) are different rows.
	must(t, s.Commit(ctx, &store.Batch{Rejections: []rejection.Rejection{
		{Time: t0.Add(5 * time.Minute), Reason: "bad-credentials", Source: "mqtt:10.0.0.9"},
		{Time: t0.Add(5 * time.Minute), Reason: "bad-credentials", Source: "mqtt:10.0.0.10"},
	}}))
	recent, err = s.RecentRejections(ctx, rejection.Filter{Reason: "bad-credentials"}, 0)
	must(t, err)
	if len(recent) != 2 {
		t.Errorf("two sources: %+v", recent)
	}
	wantErr(t, "rejection without reason", s.Commit(ctx, &store.Batch{Rejections: []rejection.Rejection{{Time: t0}}}), store.ErrInvalid)
}

func testAlarms(t *testing.T, s store.Store) {
	ctx := context.Background()
	fixture(t, s)
	t0 := day(3)
	off, created, err := s.RaiseAlarm(ctx, alarm.Alarm{Kind: "offline", Severity: alarm.SeverityMajor, Enterprise: "E-XT-1", Point: "PT-1", Meter: "M-1", Message: "离线 3× interval", Raised: t0})
	must(t, err)
	if !created || off.ID == 0 || off.State != alarm.Active || off.Count != 1 || !off.Raised.Equal(t0) {
		t.Fatalf("raised: %+v created %v", off, created)
	}
	// The same alarm again is a repeat, not a new alarm.
	again, created, err := s.RaiseAlarm(ctx, alarm.Alarm{Kind: "offline", Severity: alarm.SeverityCritical, Enterprise: "E-XT-1", Point: "PT-1", Meter: "M-1", Message: "still offline", Raised: t0.Add(time.Hour)})
	must(t, err)
	if created || again.ID != off.ID || again.Count != 2 || !again.LastRaised.Equal(t0.Add(time.Hour)) || !again.Raised.Equal(t0) || again.Severity != alarm.SeverityCritical {
		t.Fatalf("repeat: %+v created %v", again, created)
	}
	leak, _, err := s.RaiseAlarm(ctx, alarm.Alarm{Kind: "leak", Severity: alarm.SeverityMinor, Enterprise: "E-CS-1", Message: "夜间最小流量", Raised: t0.Add(2 * time.Hour)})
	must(t, err)
	other, _, err := s.RaiseAlarm(ctx, alarm.Alarm{Kind: "offline", Severity: alarm.SeverityMajor, Enterprise: "E-XT-2", Point: "PT-3", Meter: "M-3", Raised: t0.Add(3 * time.Hour)})
	must(t, err)

	acked, err := s.AckAlarm(ctx, off.ID, "王工", t0.Add(90*time.Minute), "已派人")
	must(t, err)
	if acked.State != alarm.Acked || acked.AckedBy != "王工" || !acked.Acked.Equal(t0.Add(90*time.Minute)) {
		t.Errorf("acked: %+v", acked)
	}
	_, err = s.AckAlarm(ctx, off.ID, "x", t0, "")
	wantErr(t, "ack twice", err, store.ErrConflict)
	cleared, err := s.ClearAlarm(ctx, off.ID, "system", t0.Add(2*time.Hour), "data returned")
	must(t, err)
	if cleared.State != alarm.Cleared || cleared.ClearedBy != "system" {
		t.Errorf("cleared: %+v", cleared)
	}
	_, err = s.ClearAlarm(ctx, off.ID, "x", t0, "")
	wantErr(t, "clear twice", err, store.ErrConflict)
	_, err = s.AckAlarm(ctx, 999999, "x", t0, "")
	wantErr(t, "ack missing", err, store.ErrNotFound)
	// A cleared alarm does not absorb a new raise.
	fresh, created, err := s.RaiseAlarm(ctx, alarm.Alarm{Kind: "offline", Severity: alarm.SeverityMajor, Enterprise: "E-XT-1", Point: "PT-1", Meter: "M-1", Raised: t0.Add(5 * time.Hour)})
	must(t, err)
	if !created || fresh.ID == off.ID {
		t.Errorf("raise after clear: %+v created %v", fresh, created)
	}
	_, _, err = s.RaiseAlarm(ctx, alarm.Alarm{Kind: "x", Severity: "panic", Raised: t0})
	wantErr(t, "bad severity", err, store.ErrInvalid)

	hist, err := s.AlarmHistory(ctx, off.ID)
	must(t, err)
	var actions []string
	for _, e := range hist {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, ",") != "raise,repeat,ack,clear" || hist[2].By != "王工" || hist[2].Note != "已派人" {
		t.Errorf("history: %+v", hist)
	}

	list := func(f alarm.Filter) []int64 {
		as, err := s.Alarms(ctx, f)
		must(t, err)
		var out []int64
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	same := func(what string, got []int64, want ...int64) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	same("all, newest first", list(alarm.Filter{}), fresh.ID, other.ID, leak.ID, off.ID)
	same("open", list(alarm.Filter{Open: true}), fresh.ID, other.ID, leak.ID)
	same("cleared", list(alarm.Filter{State: alarm.Cleared}), off.ID)
	same("park P-XT", list(alarm.Filter{Park: "P-XT"}), fresh.ID, other.ID, off.ID)
	same("enterprise E-CS-1", list(alarm.Filter{Enterprise: "E-CS-1"}), leak.ID)
	same("meter M-3", list(alarm.Filter{Meter: "M-3"}), other.ID)
	same("kind offline since +1h", list(alarm.Filter{Kind: "offline", Since: t0.Add(time.Hour)}), fresh.ID, other.ID)
	same("minor", list(alarm.Filter{Severity: alarm.SeverityMinor}), leak.ID)
	same("limit", list(alarm.Filter{Limit: 2}), fresh.ID, other.ID)
}

func testTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	fixture(t, s)
	t0 := day(1)
	h1, h2, h3 := store.HashToken("secret-one"), store.HashToken("secret-two"), store.HashToken("secret-three")
	must(t, s.CreateToken(ctx, store.Token{ID: "tok-admin", Name: "初始管理员", Role: store.RoleAdmin, Created: t0}, h1))
	must(t, s.CreateToken(ctx, store.Token{ID: "tok-ent", Role: store.RoleEnterprise, Scope: "E-XT-1", Created: t0}, h2))
	wantErr(t, "duplicate id", s.CreateToken(ctx, store.Token{ID: "tok-ent", Role: store.RoleAuditor, Created: t0}, h3), store.ErrExists)
	wantErr(t, "duplicate secret", s.CreateToken(ctx, store.Token{ID: "tok-3", Role: store.RoleAuditor, Created: t0}, h1), store.ErrExists)
	wantErr(t, "park token without scope", s.CreateToken(ctx, store.Token{ID: "tok-3", Role: store.RolePark, Created: t0}, h3), store.ErrInvalid)
	wantErr(t, "park token for a missing park", s.CreateToken(ctx, store.Token{ID: "tok-3", Role: store.RolePark, Scope: "P-NONE", Created: t0}, h3), store.ErrNotFound)
	wantErr(t, "unknown role", s.CreateToken(ctx, store.Token{ID: "tok-3", Role: "root", Created: t0}, h3), store.ErrInvalid)
	for _, id := range []string{"", "-lead", "a/b", "a b", "<script>", strings.Repeat("x", 65), "tok\u202e"} {
		wantErr(t, "token id "+id, s.CreateToken(ctx, store.Token{ID: id, Role: store.RoleAuditor, Created: t0}, h3), store.ErrInvalid)
	}
	for _, name := range []string{"<img src=x>", "a\nb", "\u202egnp", strings.Repeat("名", 65)} {
		wantErr(t, "token name "+name, s.CreateToken(ctx, store.Token{ID: "tok-3", Name: name, Role: store.RoleAuditor, Created: t0}, h3), store.ErrInvalid)
	}
	must(t, s.CreateToken(ctx, store.Token{ID: "tok-park", Role: store.RolePark, Scope: "P-XT", Created: t0}, h3))

	tok, err := s.TokenByHash(ctx, h2)
	must(t, err)
	if tok.ID != "tok-ent" || tok.Role != store.RoleEnterprise || tok.Scope != "E-XT-1" || !tok.Revoked.IsZero() {
		t.Errorf("lookup: %+v", tok)
	}
	wantErr(t, "unknown secret", errOf(s.TokenByHash(ctx, store.HashToken("guess"))), store.ErrNotFound)
	must(t, s.RevokeToken(ctx, "tok-ent", t0.Add(time.Hour)))
	must(t, s.RevokeToken(ctx, "tok-ent", t0.Add(2*time.Hour))) // twice is fine
	wantErr(t, "revoked secret", errOf(s.TokenByHash(ctx, h2)), store.ErrNotFound)
	wantErr(t, "revoke missing", s.RevokeToken(ctx, "tok-none", t0), store.ErrNotFound)
	toks, err := s.Tokens(ctx)
	must(t, err)
	if len(toks) != 3 || toks[0].ID != "tok-admin" || toks[1].ID != "tok-ent" || !toks[1].Revoked.Equal(t0.Add(time.Hour)) || toks[2].Scope != "P-XT" {
		t.Errorf("tokens: %+v", toks)
	}
}

// testHostileBytes: what strangers send (a made-up meter ID with a NUL
// byte, invalid UTF-8 in a detail) is kept exactly and never fails the
// commit that carries good readings with it.
func testHostileBytes(t *testing.T, s store.Store) {
	ctx := context.Background()
	fixture(t, s)
	t0 := day(2)
	bad := rejection.Rejection{Time: t0, Meter: "m\x00\xff", Reason: "unknown-meter", Detail: "\xfe\xff\x00 bad", Source: "10.0.0.9:1\x00"}
	must(t, s.Commit(ctx, &store.Batch{Readings: []store.Reading{rd("M-1", 1, t0, 1, total(1))}, Rejections: []rejection.Rejection{bad}, LedgerSize: 2}))
	got, err := s.RecentRejections(ctx, rejection.Filter{Meter: bad.Meter}, 10)
	must(t, err)
	if len(got) != 1 || got[0].Meter != bad.Meter || got[0].Detail != bad.Detail || got[0].Source != bad.Source {
		t.Fatalf("rejections %+v, want the bytes sent", got)
	}
	if p, err := s.Readings(ctx, store.ReadingQuery{Meter: "M-1"}); err != nil || len(p.Readings) != 1 {
		t.Fatalf("the reading committed with it: %v, %v", p.Readings, err)
	}
	must(t, s.Commit(ctx, &store.Batch{Quarantined: []quarantine.Record{{Index: 1, Time: t0, Meter: bad.Meter, Reason: "invalid", Detail: bad.Detail}}}))
	qs, err := s.Quarantined(ctx, quarantine.Filter{Meter: bad.Meter})
	must(t, err)
	if len(qs) != 1 || qs[0].Meter != bad.Meter || qs[0].Detail != bad.Detail {
		t.Fatalf("quarantine %+v", qs)
	}
	id, err := s.AppendAudit(ctx, store.AuditRecord{Time: t0, Action: "login", Status: 401, Remote: "1.2.3.4\x00", Detail: bad.Detail})
	must(t, err)
	recs, err := s.AuditLog(ctx, store.AuditQuery{After: id - 1})
	must(t, err)
	if len(recs) != 1 || recs[0].Detail != bad.Detail || recs[0].Remote != "1.2.3.4\x00" {
		t.Fatalf("audit %+v", recs)
	}
}
