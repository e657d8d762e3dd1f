package rights

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/shuixiao/shuixiao/certificate"
)

// TestRetryAnswersAgain: a request repeated with its operation ID gets the
// first answer again — the same entry, index and certificate as the
// operation left it, even after later operations — and writes nothing; the
// same ID with a different request is still refused as a replay.
func TestRetryAnswersAgain(t *testing.T) {
	h := setup(t)
	ctx := context.Background()
	issue := Issue{Statement: h.good.ID, Volume: 500, Operation: "op-issue", Issuer: "regulator"}
	first, err := h.svc.Issue(ctx, issue)
	must(t, err)
	if first.Retry || first.Certificate.Holdings["EN-A"] != 500 || first.StatementIssued != 500 || len(first.Certificate.History) != 1 {
		t.Fatalf("first answer %+v", first)
	}
	cert := first.Entry.Certificate
	move := Transfer{Certificate: cert, From: "EN-A", To: "EN-B", Volume: 200, Operation: "op-move", Actor: "tok-a"}
	moved, err := h.svc.Transfer(ctx, move)
	must(t, err)
	if moved.Certificate.Holdings["EN-B"] != 200 || moved.Certificate.Holdings["EN-A"] != 300 {
		t.Fatalf("transfer answer %+v", moved.Certificate)
	}
	// Later operations: the rest of the allowance, a retirement.
	_, err = h.svc.Issue(ctx, Issue{Statement: h.good.ID, Issuer: "regulator"})
	must(t, err)
	_, err = h.svc.Retire(ctx, Retire{Certificate: cert, Holder: "EN-B", Volume: 50, Purpose: "offset", Operation: "op-retire", Actor: "tok-b"})
	must(t, err)
	h.agree(t, "four operations", 4)

	for _, c := range []struct {
		name  string
		do    func() (Outcome, error)
		first Outcome
	}{
		{"issue", func() (Outcome, error) { return h.svc.Issue(ctx, issue) }, first},
		{"issue without the volume", func() (Outcome, error) {
			return h.svc.Issue(ctx, Issue{Statement: h.good.ID, Operation: "op-issue", Issuer: "regulator"})
		}, first},
		{"transfer", func() (Outcome, error) { return h.svc.Transfer(ctx, move) }, moved},
	} {
		again, err := c.do()
		must(t, err)
		if !again.Retry || again.Index != c.first.Index || again.Entry.Text() != c.first.Entry.Text() ||
			!reflect.DeepEqual(again.Certificate, c.first.Certificate) || again.StatementIssued != c.first.StatementIssued {
			t.Errorf("%s again: %+v\nfirst: %+v", c.name, again, c.first)
		}
	}
	h.agree(t, "after the retries", 4)

	for _, c := range []struct {
		name string
		do   func() error
	}{
		{"issue of another volume", func() error {
			_, err := h.svc.Issue(ctx, Issue{Statement: h.good.ID, Volume: 1, Operation: "op-issue", Issuer: "regulator"})
			return err
		}},
		{"issue by another token", func() error {
			_, err := h.svc.Issue(ctx, Issue{Statement: h.good.ID, Volume: 500, Operation: "op-issue", Issuer: "regulator-2"})
			return err
		}},
		{"transfer to another buyer", func() error {
			m := move
			m.To = "EN-C"
			_, err := h.svc.Transfer(ctx, m)
			return err
		}},
		{"retirement under the transfer's ID", func() error {
			_, err := h.svc.Retire(ctx, Retire{Certificate: cert, Holder: "EN-A", Volume: 200, Purpose: "offset", Operation: "op-move", Actor: "tok-a"})
			return err
		}},
	} {
		if err := c.do(); !errors.Is(err, certificate.ErrReplayed) {
			t.Errorf("%s: %v, want a replay refused", c.name, err)
		}
	}
	h.agree(t, "after the refused replays", 4)
}
