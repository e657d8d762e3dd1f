// Package report writes the water-balance test report (水平衡测试报告书) of
// an enterprise and period in the outline of GB/T 12452-2022 Appendix A —
// enterprise, test period, metering instruments and coverage, water use by
// unit, balance tables, indicators with their formulas and quota grades,
// production and value added, the water-balance (Sankey) diagram, problems
// found and recommendations derived from the figures, and the data-trust
// statement naming the ledger checkpoint the data were read at — as XLSX
// (excelize, figures as numbers) and as PDF (fpdf, a Chinese TrueType font
// embedded, the diagram drawn as vector graphics). It also writes the
// province target progress report as XLSX.
//
// The report only presents: every figure comes from a balance.Report, whose
// rules (and coverage) are the balance package's.
package report

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/transparency-dev/formats/log"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/meter"
)

// Doc is what a water-balance test report is written from.
type Doc struct {
	Enterprise meter.Enterprise
	// RegionName, ParkName and IndustryName are shown beside the codes of
	// Enterprise when given.
	RegionName, ParkName, IndustryName string
	// From and To bound the test period [From, To).
	From, To time.Time
	// Points are the enterprise's metering points and Volumes what passed
	// each in the period; Report is balance.Evaluate of them.
	Points  []meter.Point
	Volumes balance.Volumes
	Report  balance.Report
	// ValueAdded is the period's industrial value added in 万元; zero when
	// not given.
	ValueAdded float64
	// Basis says where the volumes come from: "metered" (signed readings)
	// or "declared" (statistics an enterprise reported).
	Basis string
	// Source describes how the data were gathered, e.g. the platform and its
	// address, or the tester's portable meters for an offline test.
	Source string
	// Checkpoint is the ledger checkpoint the data were read at; nil when
	// the data did not come from the ledger (an offline test).
	Checkpoint *Checkpoint
	// Trust is where the readings behind the figures were signed (meter-
	// or gateway-signed), overall and per point; nil when not known (an
	// offline test).
	Trust *meter.BalanceTrust
	// LedgerSize is how many ledger entries the store had taken when the
	// data were read (0: not known, the checkpoint's size stands for it).
	LedgerSize uint64
	// Generated is when the report was written.
	Generated time.Time
}

// Checkpoint is a ledger checkpoint (C2SP tlog-checkpoint): the log's
// origin, the tree size and the root hash, with the signed note it came in.
type Checkpoint struct {
	Origin   string
	Size     uint64
	RootHash []byte
	Signed   string // the signed note, verbatim; empty when not kept
}

// ParseCheckpoint reads a signed checkpoint note. It reads the body only:
// the signatures are checked by `shuixiao verify`, which has the keys.
func ParseCheckpoint(signed []byte) (Checkpoint, error) {
	var c log.Checkpoint
	if _, err := c.Unmarshal(signed); err != nil {
		return Checkpoint{}, fmt.Errorf("检查点 / checkpoint: %w", err)
	}
	if len(c.Hash) != sha256.Size {
		return Checkpoint{}, fmt.Errorf("检查点 / checkpoint: root hash of %d bytes, want %d (RFC 6962 SHA-256)", len(c.Hash), sha256.Size)
	}
	if !strings.Contains(string(signed), "\n\n") {
		return Checkpoint{}, errors.New("检查点 / checkpoint: no signature block (a signed note has a blank line before its signatures)")
	}
	return Checkpoint{Origin: c.Origin, Size: c.Size, RootHash: c.Hash, Signed: string(signed)}, nil
}

// validate checks what every report needs.
func (d Doc) validate() error {
	if d.Enterprise.ID == "" {
		return errors.New("报告 / report: no enterprise")
	}
	if d.From.IsZero() || !d.To.After(d.From) {
		return fmt.Errorf("报告 / report: period %s – %s is empty", d.From.Format(time.DateOnly), d.To.Format(time.DateOnly))
	}
	return nil
}

// periodText is the test period as the report prints it: whole days are
// written as dates with the last day included.
func (d Doc) periodText() string {
	from, to := d.From, d.To
	if isMidnight(from) && isMidnight(to) {
		return from.Format(time.DateOnly) + " 至 / to " + to.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	return from.Format(time.RFC3339) + " 至 / to " + to.Format(time.RFC3339)
}

// days is the length of the period in days.
func (d Doc) days() float64 { return d.To.Sub(d.From).Hours() / 24 }

func isMidnight(t time.Time) bool {
	return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
}

// title is the report's title.
func (d Doc) title() string {
	name := d.Enterprise.Name
	if name == "" {
		name = d.Enterprise.ID
	}
	return name + " 水平衡测试报告书"
}
