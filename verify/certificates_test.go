package verify

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/certificate"
)

func signRight(t testing.TB, s note.Signer, e *certificate.Entry) []byte {
	t.Helper()
	msg, err := note.Sign(&note.Note{Text: e.Text()}, s)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

var rightTime = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

func rightIssue(id, cert string, vol uint64) *certificate.Entry {
	return &certificate.Entry{Op: certificate.OpIssue, ID: id, Certificate: cert, Statement: "mvs-00112233aabbccdd",
		Digest: "00112233aabbccdd00112233aabbccdd00112233aabbccdd00112233aabbccdd", Checkpoint: 1, Allowance: 800,
		Volume: vol, Holder: "EN-1", Actor: "regulator", Time: rightTime}
}

func rightTransfer(id, cert, from, to string, vol uint64) *certificate.Entry {
	return &certificate.Entry{Op: certificate.OpTransfer, ID: id, Certificate: cert, From: from, To: to, Volume: vol, Actor: "tok", Time: rightTime}
}

// TestAuditCertificates: a clean log of certificate entries passes with
// its sums; over-issue, double spend, replay, a forged and an edited entry
// each fail the audit with the entry's index.
func TestAuditCertificates(t *testing.T) {
	k := newTestKeys(t, origin, 0)
	m := newTestMeter(t, "HN-1")
	prefix := [][]byte{k.register(t, m), m.next(t)}
	issued := signRight(t, k.logSigner, rightIssue("op-1", "wrc-1", 500))
	clean := append(append([][]byte{}, prefix...), issued,
		signRight(t, k.logSigner, rightTransfer("op-2", "wrc-1", "EN-1", "EN-2", 200)),
		signRight(t, k.logSigner, &certificate.Entry{Op: certificate.OpRetire, ID: "op-3", Certificate: "wrc-1", Holder: "EN-2",
			Volume: 50, Purpose: "offset", Actor: "tok", Time: rightTime}),
		signRight(t, k.logSigner, rightIssue("op-4", "wrc-2", 300)))
	rep := auditEntries(t, k, clean)
	if rep.Failed(true) || rep.CertificateEntries != 4 {
		t.Fatalf("clean log with certificates: %+v", rep.Problems)
	}
	if want := (CertificateSummary{Certificates: 2, IssuedM3: 800, RetiredM3: 50}); rep.Certificates != want {
		t.Errorf("summary %+v, want %+v", rep.Certificates, want)
	}
	// The receipt of a certificate entry verifies and carries the entry.
	r, err := VerifyReceipt(k.receipt(t, clean, 3), ReceiptKeys{Log: k.logKey})
	if err != nil || r.Certificate == nil || r.Certificate.ID != "op-2" {
		t.Fatalf("receipt of a certificate entry: %+v, %v", r, err)
	}

	forgerS, _, _ := note.GenerateKey(rand.Reader, origin) // same name, another key
	forger, _ := note.NewSigner(forgerS)
	edited := bytes.Replace(issued, []byte("volume 500"), []byte("volume 800"), 1)
	tests := []struct {
		name    string
		entries [][]byte
		kind    ProblemKind
		detail  string
	}{
		{"over-issue", [][]byte{issued, signRight(t, k.logSigner, rightIssue("op-2", "wrc-2", 301))}, ProblemCertificate, "exceed"},
		{"certificate issued twice", [][]byte{issued, signRight(t, k.logSigner, rightIssue("op-2", "wrc-1", 1))}, ProblemCertificate, "was issued"},
		{"double spend", [][]byte{issued, signRight(t, k.logSigner, rightTransfer("op-2", "wrc-1", "EN-1", "EN-2", 500)),
			signRight(t, k.logSigner, rightTransfer("op-3", "wrc-1", "EN-1", "EN-3", 1))}, ProblemCertificate, "holds 0"},
		{"transfer by a non-holder", [][]byte{issued, signRight(t, k.logSigner, rightTransfer("op-2", "wrc-1", "EN-9", "EN-2", 1))}, ProblemCertificate, "EN-9 holds 0"},
		{"replayed operation", [][]byte{issued, signRight(t, k.logSigner, rightTransfer("op-1", "wrc-1", "EN-1", "EN-2", 1))}, ProblemCertificate, "replayed"},
		{"forged", [][]byte{issued, signRight(t, forger, rightTransfer("op-2", "wrc-1", "EN-1", "EN-2", 1))}, ProblemSignature, "certificate entry"},
		{"edited after signing", [][]byte{edited}, ProblemSignature, "certificate entry"},
		{"issue citing a checkpoint not reached", [][]byte{signRight(t, k.logSigner, func() *certificate.Entry {
			e := rightIssue("op-1", "wrc-1", 5)
			e.Checkpoint = 9
			return e
		}())}, ProblemCertificate, "had not reached"},
		{"not canonical", [][]byte{signRightText(t, k.logSigner, strings.Replace(rightIssue("op-1", "wrc-1", 5).Text(), "volume 5", "volume 05", 1))},
			ProblemMalformed, "canonical"},
	}
	for _, tc := range tests {
		tc.entries = append(append([][]byte{}, prefix...), tc.entries...)
		rep := auditEntries(t, k, tc.entries)
		if !rep.Failed(false) || rep.ProblemCount != 1 || rep.Problems[0].Kind != tc.kind || !strings.Contains(rep.Problems[0].Detail, tc.detail) {
			t.Errorf("%s: problems %+v", tc.name, rep.Problems)
			continue
		}
		if want := uint64(len(tc.entries) - 1); rep.Problems[0].Index != want {
			t.Errorf("%s: problem at index %d, want %d", tc.name, rep.Problems[0].Index, want)
		}
	}
}

func signRightText(t testing.TB, s note.Signer, text string) []byte {
	t.Helper()
	msg, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}
