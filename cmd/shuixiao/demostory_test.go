package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shuixiao/shuixiao/internal/alarmwatch"
)

// TestDemoStoryWithinAMinute runs a demo without --inject (its default
// story) and checks that within a minute of start what the console pages
// show exists, made by the real paths: refused readings on the ledger page,
// active rejection and replay alarms on the alarms page and, without the
// race detector (which slows the park network's history upload tenfold),
// an open leak of the park network with candidate pipes and no clock skew
// alarm (its history is young enough).
func TestDemoStoryWithinAMinute(t *testing.T) {
	t.Parallel() // it mostly waits for the demo story's timers
	if testing.Short() {
		t.Skip("runs a demo for up to a minute")
	}
	start := time.Now()
	deadline, story := start.Add(60*time.Second), "park"
	if raceEnabled {
		deadline, story = start.Add(120*time.Second), "no-park"
	}
	run := startDemoChild(t, "127.0.0.1:0", "127.0.0.1:0", deadline, "SX_STORY="+story)
	c := &apiClient{base: run.url, token: run.token, hc: &http.Client{Timeout: 10 * time.Second}}

	type alarmRow struct {
		Kind string `json:"kind"`
	}
	var netID string
	var missing []string
	for {
		missing = missing[:0]
		var rej struct {
			Total    int            `json:"total"`
			ByReason map[string]int `json:"by_reason"`
		}
		if err := c.get("/api/v1/rejections", &rej); err != nil || rej.ByReason["bad-signature"] == 0 || rej.ByReason["replay"] == 0 {
			missing = append(missing, "rejections of the forged and the replayed readings")
		}
		var alarms []alarmRow
		if err := c.get("/api/v1/alarms?state=active", &alarms); err != nil {
			missing = append(missing, "active alarms: "+err.Error())
		}
		kinds := map[string]bool{}
		for _, a := range alarms {
			kinds[a.Kind] = true
		}
		if kinds[alarmwatch.KindSkew] {
			t.Fatalf("a clock skew alarm: the park history is older than the skew limit\n%s", run.out.String())
		}
		for _, k := range []string{alarmwatch.KindRejected, alarmwatch.KindReplay} {
			if !kinds[k] {
				missing = append(missing, "an active "+k+" alarm")
			}
		}
		if !raceEnabled {
			if netID == "" {
				var nets []struct {
					ID string `json:"id"`
				}
				if err := c.get("/api/v1/networks", &nets); err == nil && len(nets) > 0 {
					netID = nets[0].ID
				}
			}
			var leaks []struct {
				Leak struct {
					Candidates []struct {
						Link string `json:"link"`
					} `json:"candidates"`
				} `json:"leak"`
			}
			if netID == "" || c.get("/api/v1/networks/"+url.PathEscape(netID)+"/leaks?state=open", &leaks) != nil ||
				len(leaks) == 0 || len(leaks[0].Leak.Candidates) == 0 {
				missing = append(missing, "an open leak of the park network with candidate pipes")
			}
		}
		if len(missing) == 0 {
			break
		}
		select {
		case <-run.exited:
			t.Fatalf("demo exited:\n%s", run.out.String())
		case <-time.After(time.Second):
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v still missing: %s\n%s", time.Since(start).Round(time.Second), strings.Join(missing, "; "), run.out.String())
		}
	}
	t.Logf("every page has content %v after start", time.Since(start).Round(time.Second))
	if log := run.out.String(); !raceEnabled && !strings.Contains(log, "simulated days of logged history") {
		t.Errorf("the park network uploaded no history:\n%s", log)
	}
}
