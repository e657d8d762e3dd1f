package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/shuixiao/shuixiao/balance"
	"github.com/shuixiao/shuixiao/meter"
	"github.com/shuixiao/shuixiao/production"
	"github.com/shuixiao/shuixiao/report"
)

// reportFlags are the flags of `shuixiao balance` that write the
// water-balance test report (水平衡测试报告书).
type reportFlags struct {
	xlsx, pdf, font, from, to, name, checkpoint string
	period                                      [2]time.Time
}

func (r *reportFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.xlsx, "xlsx", "", "write the water-balance test report (GB/T 12452-2022 Appendix A) as XLSX")
	fs.StringVar(&r.pdf, "pdf", "", "write the water-balance test report as PDF (needs a Chinese TrueType font)")
	fs.StringVar(&r.font, "font", "", "Chinese TrueType font for --pdf (.ttf, or .ttc: its first font; default: searched in the usual system places)")
	fs.StringVar(&r.from, "from", "", "first day of the test period, YYYY-MM-DD (UTC+8); needed by --xlsx/--pdf")
	fs.StringVar(&r.to, "to", "", "last day of the test period, YYYY-MM-DD, included (as the API's to); needed by --xlsx/--pdf")
	fs.StringVar(&r.name, "enterprise-name", "", "the enterprise's name for the report (default: its ID)")
	fs.StringVar(&r.checkpoint, "checkpoint", "", "signed ledger checkpoint the volumes were read at, for the report's data-trust statement")
}

// check validates the report flags before any input is read.
func (r *reportFlags) check() error {
	if r.xlsx == "" && r.pdf == "" {
		if r.from != "" || r.to != "" || r.font != "" || r.checkpoint != "" || r.name != "" {
			return errors.New("--from, --to, --font, --checkpoint and --enterprise-name describe a report: give --xlsx or --pdf")
		}
		return nil
	}
	if r.from == "" || r.to == "" {
		return errors.New("--xlsx/--pdf need the test period: --from YYYY-MM-DD --to YYYY-MM-DD")
	}
	from, to, err := production.ParsePeriod(r.from, r.to)
	if err != nil {
		return fmt.Errorf("--from/--to: %w", err)
	}
	if !to.After(from) {
		return fmt.Errorf("--to %s is before --from %s", r.to, r.from)
	}
	r.period = [2]time.Time{from, to}
	return nil
}

// write writes the report files asked for. Each is written whole or not
// at all: a failed PDF leaves no partial file behind.
func (r *reportFlags) write(points []meter.Point, vol balance.Volumes, rep balance.Report, valueAdded float64, volumesPath string) error {
	if r.xlsx == "" && r.pdf == "" {
		return nil
	}
	ent := meter.Enterprise{ID: points[0].Enterprise, Name: r.name}
	for name := range rep.Products {
		ent.Products = append(ent.Products, name)
	}
	d := report.Doc{Enterprise: ent, From: r.period[0], To: r.period[1], Points: points, Volumes: vol, Report: rep,
		ValueAdded: valueAdded, Basis: "metered", Generated: time.Now().In(production.Zone),
		Source: "shuixiao balance（离线测试 offline test）: " + volumesPath}
	if r.checkpoint != "" {
		b, err := os.ReadFile(r.checkpoint)
		if err != nil {
			return err
		}
		c, err := report.ParseCheckpoint(b)
		if err != nil {
			return fmt.Errorf("%s: %w", r.checkpoint, err)
		}
		d.Checkpoint = &c
	}
	var opts []report.Option
	if r.font != "" {
		opts = append(opts, report.WithFont(r.font))
	}
	if r.pdf != "" {
		if err := writeReport(r.pdf, func(w io.Writer) error { return report.BalancePDF(w, d, opts...) }); err != nil {
			return err
		}
	}
	if r.xlsx != "" {
		return writeReport(r.xlsx, func(w io.Writer) error { return report.BalanceXLSX(w, d, opts...) })
	}
	return nil
}

// writeReport renders into memory and writes the file only on success.
func writeReport(path string, render func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
