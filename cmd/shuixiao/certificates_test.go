package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/certificate"
	"github.com/shuixiao/shuixiao/internal/ledger"
	"github.com/shuixiao/shuixiao/internal/registry"
	"github.com/shuixiao/shuixiao/internal/rights"
	"github.com/shuixiao/shuixiao/internal/store"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/verify"
)

type oneStatement rights.StatementRef

func (s oneStatement) Statement(_ context.Context, id string) (rights.StatementRef, error) {
	if id != s.ID {
		return rights.StatementRef{}, fmt.Errorf("statement %s: %w", id, store.ErrNotFound)
	}
	return rights.StatementRef(s), nil
}

// TestCertificatesAcrossRestarts: the server's rights service issues and
// transfers through its ledger; an entry that reached the ledger while the
// store did not (a crash) is applied when the server starts again; an
// entry the fold refuses (a double spend a faulty writer logged) does not
// stop the start, is not applied, and fails verify log.
func TestCertificatesAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, stop := startStoppable(t, dir, func(*serverConfig) {})
	for _, err := range []error{
		s.store.CreatePark(ctx, meter.Park{ID: "PK", Name: "园区", Region: "430300"}),
		s.store.CreateEnterprise(ctx, meter.Enterprise{ID: "EN-A", Name: "节水企业", Park: "PK", Region: "430302"}),
		s.store.CreateEnterprise(ctx, meter.Enterprise{ID: "EN-B", Name: "买方", Park: "PK", Region: "430302"}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The statement's metered data: a point on the ledger, read at its size.
	points := &registry.Points{Store: s.store, Ledger: s.ledger, Ingest: s.pipeline, Now: time.Now}
	if _, err := points.Create(ctx, meter.Point{ID: "PT-A", Enterprise: "EN-A", Name: "取水", Level: meter.Level1, Stage: meter.StageIntake,
		Source: meter.SourceMunicipal, Channels: []meter.Channel{{Name: "total_m3", Quantity: "volume", Unit: "m3", Kind: meter.Total, Max: 1e9}}}); err != nil {
		t.Fatal(err)
	}
	size, err := s.ledger.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("statement"))
	d := hex.EncodeToString(sum[:])
	stmt := rights.StatementRef{ID: "mvs-" + d[:16], Enterprise: "EN-A", SavingsM3: 900, UncertaintyM3: 99.5, MeetsGuideline14: true,
		CheckpointSize: size, Digest: d}
	s.rights.Statements = oneStatement(stmt)
	if err := rights.SeedDemo(ctx, s.rights, stmt.ID, "EN-B"); err != nil {
		t.Fatal(err)
	}
	cert := "wrc-" + d[:16]
	stop()

	// While the server is down: a retirement reaches the ledger only, then a
	// transfer of more than EN-A holds (400 of 800 after the demo's transfer).
	lg, err := ledger.Open(ctx, ledger.Options{Dir: filepath.Join(dir, "ledger")})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	retire := &certificate.Entry{Op: certificate.OpRetire, ID: "op-retire", Certificate: cert, Holder: "EN-B", Volume: 100, Purpose: "offset", Actor: "ent-b", Time: at}
	spend := &certificate.Entry{Op: certificate.OpTransfer, ID: "op-spend", Certificate: cert, From: "EN-A", To: "EN-B", Volume: 401, Actor: "forger", Time: at}
	idx, err := lg.Append(ctx, [][]byte{mustSign(t, lg, retire.Text()), mustSign(t, lg, spend.Text())})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lg.AwaitPublished(ctx, idx[1]); err != nil {
		t.Fatal(err)
	}
	logKey, err := note.NewVerifier(lg.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	lg.Close(ctx)

	s = startServerWith(t, dir, func(*serverConfig) {})
	state, err := s.rights.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := state.Certificate(cert)
	if !ok || state.Len() != 3 || c.Retired != 100 || c.Holdings["EN-A"] != 400 || c.Holdings["EN-B"] != 300 {
		t.Fatalf("after the restart: %d entries, certificate %+v", state.Len(), c)
	}

	f, err := verify.NewFetcher(filepath.Join(dir, "ledger"), nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Audit(ctx, f, verify.AuditOptions{LogKey: logKey})
	if err != nil {
		t.Fatal(err)
	}
	if rep.CertificateEntries != 4 || rep.ProblemCount != 1 || rep.Problems[0].Kind != verify.ProblemCertificate || rep.Problems[0].Index != idx[1] {
		t.Fatalf("audit: %d certificate entries, problems %+v", rep.CertificateEntries, rep.Problems)
	}
	if rep.Certificates.IssuedM3 != 800 || rep.Certificates.RetiredM3 != 100 {
		t.Errorf("audit sums %+v", rep.Certificates)
	}

	// The retirement's receipt verifies offline and names what it did.
	proof, err := s.ledger.Proof(ctx, idx[0])
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "retire.tlog-proof")
	if err := os.WriteFile(file, proof, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := verifyProof([]string{file, "--log-key", s.ledger.VerifierKey()}, &stdout, &stderr); code != 0 {
		t.Fatalf("verify proof: %d %s", code, stderr.String())
	}
	if out := stdout.String(); !strings.Contains(out, "retire "+cert) || !strings.Contains(out, `retired by:     EN-B for "offset"`) {
		t.Errorf("verify proof of a certificate entry:\n%s", out)
	}
}

func mustSign(t *testing.T, lg *ledger.Log, text string) []byte {
	t.Helper()
	b, err := lg.SignNote(text)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
