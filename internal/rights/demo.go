package rights

import (
	"context"
	"errors"
	"fmt"

	"github.com/shuixiao/shuixiao/certificate"
)

// SeedDemo issues all of a statement's allowance as the demo's certificate
// and transfers half of it (at least 1 m³) to buyer, an enterprise. Its IDs
// follow from the statement's (certificate "wrc-" + the statement's 16 hex
// digits), so a demo restarted on the same data directory finds both
// operations on the ledger and adds nothing.
func SeedDemo(ctx context.Context, svc *Service, statementID, buyer string) error {
	suffix, ok := cutStatementID(statementID)
	if !ok {
		return fmt.Errorf("demo certificate: statement ID %q is not mvs- and 16 hex digits", statementID)
	}
	cert := "wrc-" + suffix
	_, err := svc.Issue(ctx, Issue{Statement: statementID, Certificate: cert, Operation: "op-demo-issue-" + suffix, Issuer: "demo"})
	if err != nil && !errors.Is(err, certificate.ErrReplayed) { // an earlier start issued it: answered again, or refused as a replay
		return fmt.Errorf("demo certificate: issue: %w", err)
	}
	state, err := svc.State(ctx)
	if err != nil {
		return err
	}
	c, ok := state.Certificate(cert)
	if !ok {
		return fmt.Errorf("demo certificate: %s is not in the store after its issue", cert)
	}
	half := max(c.Volume/2, 1)
	_, err = svc.Transfer(ctx, Transfer{Certificate: cert, From: c.Enterprise, To: buyer, Volume: half,
		Operation: "op-demo-transfer-" + suffix, Actor: "demo"})
	if err != nil && !errors.Is(err, certificate.ErrReplayed) {
		return fmt.Errorf("demo certificate: transfer to %s: %w", buyer, err)
	}
	return nil
}

func cutStatementID(id string) (string, bool) {
	if len(id) != 20 || id[:4] != "mvs-" {
		return "", false
	}
	return id[4:], true
}
