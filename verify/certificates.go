package verify

import (
	"github.com/shuixiao/shuixiao/certificate"
)

// ProblemCertificate is a certificate entry the fold refuses: a statement
// issued beyond its allowance or with other terms, a certificate ID issued
// twice, a volume transferred or retired by one who does not hold it (a
// double spend), a replayed operation, or an issue citing a checkpoint the
// log had not reached.
const ProblemCertificate ProblemKind = "bad-certificate"

// CertificateSummary is what the log's certificate entries add up to.
type CertificateSummary struct {
	Certificates int    `json:"certificates"`
	IssuedM3     uint64 `json:"issued_m3"`
	RetiredM3    uint64 `json:"retired_m3"`
}

// certificateEntry checks a water-rights certificate entry: its signature
// by the log key, its canonical form, and the fold of every certificate
// entry before it (package certificate) — so no volume is issued twice or
// spent twice anywhere in the log. A refused entry is a problem and left
// out of the fold, so one bad entry is reported once.
func (a *auditor) certificateEntry(index uint64, e []byte) {
	a.report.CertificateEntries++
	ce, ok := logKeyEntry(a, index, e, "certificate entry", certificate.Parse)
	if !ok {
		return
	}
	if err := a.rights.Apply(index, ce); err != nil {
		a.problem(Problem{Kind: ProblemCertificate, Index: index, Detail: err.Error()})
	}
}

// certificateSummary sums the fold at the end of the log.
func (a *auditor) certificateSummary() CertificateSummary {
	var s CertificateSummary
	for _, c := range a.rights.Certificates() {
		s.Certificates++
		s.IssuedM3 += c.Volume
		s.RetiredM3 += c.Retired
	}
	return s
}
