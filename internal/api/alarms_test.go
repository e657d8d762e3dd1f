package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/alarm"
	"github.com/shuixiao/shuixiao/meter"
)

// TestAlarmAckClear drives POST /api/v1/alarms/{id}/ack and /clear through
// the API: who may, what each answers, and the refusal of a second change,
// which names the state that refused it.
func TestAlarmAckClear(t *testing.T) {
	srv, st, tok, _ := auditServer(t)
	ctx := context.Background()
	if err := st.CreateEnterprise(ctx, meter.Enterprise{ID: "F", Name: "另一企业", Park: "PK", Region: "430300", Industry: "3120"}); err != nil {
		t.Fatal(err)
	}
	raise := func(ent string) int64 {
		a, _, err := st.RaiseAlarm(ctx, alarm.Alarm{Kind: "offline", Severity: alarm.SeverityWarning, Enterprise: ent, Meter: "M-" + ent,
			Message: "meter silent", Raised: time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	mine, other := raise("E"), raise("F")
	admin := client{t, srv.URL, tok["admin"]}
	ent := client{t, srv.URL, tok["ent"]}
	auditor := client{t, srv.URL, tok["auditor"]}
	path := func(id int64, act string) string { return fmt.Sprintf("/api/v1/alarms/%d/%s", id, act) }

	auditor.expect(http.StatusForbidden, "POST", path(mine, "ack"), nil, nil)
	// An enterprise may not change another's alarm.
	ent.expect(http.StatusForbidden, "POST", path(other, "ack"), nil, nil)
	admin.expect(http.StatusNotFound, "POST", path(99999, "ack"), nil, nil)

	var a alarm.Alarm
	ent.expect(http.StatusOK, "POST", path(mine, "ack"), map[string]string{"note": "on site at 9"}, &a)
	if a.State != alarm.Acked || a.AckedBy != "ent" || a.Acked.IsZero() {
		t.Fatalf("acknowledged: %+v", a)
	}
	code, body := ent.raw("POST", path(mine, "ack"), nil)
	if want := fmt.Sprintf("alarm %d is acked", mine); code != http.StatusConflict || !strings.Contains(body, want) {
		t.Fatalf("second ack: HTTP %d %s, want 409 naming %q", code, body, want)
	}
	admin.expect(http.StatusOK, "POST", path(mine, "clear"), nil, &a)
	if a.State != alarm.Cleared || a.ClearedBy != "admin" {
		t.Fatalf("cleared: %+v", a)
	}
	code, body = admin.raw("POST", path(mine, "clear"), nil)
	if want := fmt.Sprintf("alarm %d is cleared", mine); code != http.StatusConflict || !strings.Contains(body, want) {
		t.Fatalf("second clear: HTTP %d %s, want 409 naming %q", code, body, want)
	}
	// The other enterprise's alarm was left as it was.
	got, err := st.Alarm(ctx, other)
	if err != nil || got.State != alarm.Active {
		t.Fatalf("other alarm: %+v, %v", got, err)
	}
}
