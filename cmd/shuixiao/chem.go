package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/shuixiao/shuixiao/chem"
)

func init() {
	register("chem", "water speciation, saturation and scaling indices of analyses (CSV) / 水质饱和指数计算", runChem)
}

// chemColumns is the output layout of shuixiao chem.
var chemColumns = []string{"id", "T_C", "pH", "I", "SI_calcite", "SI_aragonite", "SI_gypsum", "SI_anhydrite",
	"SI_SiO2a", "SI_barite", "SI_celestite", "SI_dolomite", "LSI", "LSI_aragonite", "pHs", "RSI", "PSI", "LarsonSkold",
	"LSI_simple", "TDS_calc_mgL", "I_from_EC", "TDS_from_EC_mgL", "charge_balance_pct", "error"}

func runChem(args []string) int {
	fs := flag.NewFlagSet("chem", flag.ContinueOnError)
	in := fs.String("in", "", "analyses CSV (columns as testdata/chem/waters_input.csv, mg/L, alkalinity as CaCO3)")
	out := fs.String("out", "", "results CSV ('-' for standard output)")
	maxCharge := fs.Float64("max-charge-error", 10, "reject rows whose charge-balance error exceeds this many percent")
	activity := fs.String("activity", "wateq", "activity model: wateq (WATEQ Debye-Hückel, as PHREEQC/wateq4f) or davies")
	cycles := fs.Float64("cycles", 0, "concentrate every water by this many cycles before computing (cooling tower)")
	recovery := fs.Float64("recovery", 0, "concentrate every water to the concentrate of an RO at this recovery (0-1)")
	phRule := fs.String("ph-rule", "given", "pH of the concentrate: given (--ph or the input pH), closed (TIC conserved), ro (CO2 passes), co2eq (degassed to --log-pco2)")
	phGiven := fs.Float64("ph", 0, "pH of the concentrate for --ph-rule given (0 keeps the input pH)")
	logPCO2 := fs.Float64("log-pco2", -3.4, "log10 CO2 partial pressure (atm) for --ph-rule co2eq")
	tempC := fs.Float64("temp", math.NaN(), "temperature (°C) of the concentrate, e.g. the hottest heat-exchanger wall (default: input temperature)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: shuixiao chem --in WATERS.csv --out RESULTS.csv [--max-charge-error 10] [--activity wateq|davies]")
		fmt.Fprintln(fs.Output(), "       [--cycles N | --recovery Y] [--ph-rule given|closed|ro|co2eq] [--ph PH] [--log-pco2 P] [--temp T]")
		fmt.Fprintln(fs.Output(), "水质分析 → 离子强度、方解石/文石/石膏/硬石膏/无定形二氧化硅饱和指数、LSI/RSI/PSI/Larson-Skold")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		// Flags may follow a stray positional argument: take it as --in when --in is unset.
		rest := fs.Args()
		if *in == "" {
			*in = rest[0]
		}
		if err := fs.Parse(rest[1:]); err != nil {
			return 2
		}
		if fs.NArg() > 0 {
			fs.Usage()
			return 2
		}
	}
	if *in == "" || *out == "" || *maxCharge <= 0 {
		fs.Usage()
		return 2
	}
	var opts []chem.SpeciatorOption
	switch *activity {
	case "wateq":
	case "davies":
		opts = append(opts, chem.WithActivityModel(chem.DaviesOnly))
	default:
		fmt.Fprintf(os.Stderr, "未知活度模型 / unknown activity model %q (wateq or davies)\n", *activity)
		return 2
	}

	conc, err := concentrationFlags(*cycles, *recovery, *phRule, *phGiven, *logPCO2, *tempC)
	if err != nil {
		fmt.Fprintf(os.Stderr, "参数错误 / flag error: %v\n", err)
		return 2
	}
	f, err := os.Open(*in)
	if err != nil {
		fmt.Fprintf(os.Stderr, "输入文件错误 / input error: %v\n", err)
		return 1
	}
	defer f.Close()
	records, err := chem.ReadAnalysesCSV(f)
	if err != nil {
		fmt.Fprintf(os.Stderr, "输入文件错误 / input error: %s: %v\n", *in, err)
		return 1
	}
	db, err := chem.LoadWATEQ4F()
	if err != nil {
		fmt.Fprintf(os.Stderr, "数据库错误 / database error: %v\n", err)
		return 1
	}
	sp, err := chem.NewSpeciator(db, opts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "数据库错误 / database error: %v\n", err)
		return 1
	}
	classic, err := chem.NewClassic(db.Coef)
	if err != nil {
		fmt.Fprintf(os.Stderr, "数据库错误 / database error: %v\n", err)
		return 1
	}

	var w io.Writer = os.Stdout
	var outFile *os.File
	if *out != "-" {
		if outFile, err = os.Create(*out); err != nil {
			fmt.Fprintf(os.Stderr, "输出文件错误 / output error: %v\n", err)
			return 1
		}
		w = outFile
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(chemColumns)
	failed := 0
	res := sp.NewResult()
	for _, rec := range records {
		if conc != nil && rec.Err == nil {
			if out, _, err := sp.Concentrate(rec.Analysis, *conc); err != nil {
				rec.Err = fmt.Errorf("concentrate ×%.3g: %w", conc.Factor, err)
			} else {
				rec.Analysis = out
				rec.HasConductivity = false // the measured conductivity belongs to the feed
			}
		}
		row, ok := chemRow(rec, sp, classic, res, *maxCharge)
		if !ok {
			failed++
			fmt.Fprintf(os.Stderr, "line %d (%s): %s\n", rec.Line, rec.ID, row[len(row)-1])
		}
		_ = cw.Write(row)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		fmt.Fprintf(os.Stderr, "输出文件错误 / output error: %v\n", err)
		return 1
	}
	if outFile != nil {
		if err := outFile.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "输出文件错误 / output error: %v\n", err)
			return 1
		}
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "%d 行失败 / %d of %d rows failed; see the error column\n", failed, failed, len(records))
		return 1
	}
	return 0
}

// concentrationFlags turns the concentration flags into a chem.Concentration (nil: none).
func concentrationFlags(cycles, recovery float64, rule string, ph, logPCO2, tempC float64) (*chem.Concentration, error) {
	if cycles != 0 && recovery != 0 {
		return nil, fmt.Errorf("--cycles and --recovery exclude each other")
	}
	var c chem.Concentration
	switch {
	case cycles != 0:
		if !(cycles >= 1) {
			return nil, fmt.Errorf("--cycles %g must be at least 1", cycles)
		}
		c.Factor = cycles
	case recovery != 0:
		f, err := chem.RecoveryFactor(recovery)
		if err != nil {
			return nil, fmt.Errorf("--recovery: %w", err)
		}
		c.Factor = f
	default:
		return nil, nil
	}
	switch rule {
	case "given":
		c.PHRule, c.PH = chem.PHGiven, ph
	case "closed":
		c.PHRule = chem.PHClosedSystem
	case "ro":
		c.PHRule = chem.PHConstantCO2
	case "co2eq":
		c.PHRule, c.LogPCO2 = chem.PHCO2Equilibrium, logPCO2
	default:
		return nil, fmt.Errorf("unknown --ph-rule %q", rule)
	}
	if !math.IsNaN(tempC) {
		t := tempC
		c.TempC = &t
	}
	return &c, nil
}

// chemRow computes one output row; ok is false when the row failed.
func chemRow(rec chem.AnalysisRecord, sp *chem.Speciator, classic *chem.Classic, res *chem.Result, maxCharge float64) ([]string, bool) {
	row := make([]string, len(chemColumns))
	row[0] = rec.ID
	fail := func(msg string) ([]string, bool) {
		row[len(row)-1] = msg
		return row, false
	}
	if rec.Err != nil {
		return fail(rec.Err.Error())
	}
	a := rec.Analysis
	row[1], row[2] = fnum(a.TempC, 2), fnum(a.PH, 3)
	if err := sp.SpeciateInto(&a, res); err != nil {
		return fail("speciation: " + err.Error())
	}
	row[22] = fnum(res.ChargeErrorPercent, 3)
	if math.Abs(res.ChargeErrorPercent) > maxCharge {
		return fail(fmt.Sprintf("charge imbalance %.1f %% exceeds %.1f %%", res.ChargeErrorPercent, maxCharge))
	}
	row[3] = strconv.FormatFloat(res.IonicStrength, 'g', 6, 64)
	for i, p := range []string{"Calcite", "Aragonite", "Gypsum", "Anhydrite", "SiO2(a)", "Barite", "Celestite", "Dolomite"} {
		row[4+i] = fnum(res.SI(p), 4)
	}
	note := ""
	if x, err := classic.Compute(&a); err == nil {
		row[12], row[13], row[14], row[15] = fnum(x.LSI, 4), fnum(x.LSIAragonite, 4), fnum(x.PHs, 4), fnum(x.RSI, 4)
		row[16], row[17], row[18], row[19] = fnum(x.PSI, 4), fnum(x.LarsonSkold, 4), fnum(x.SimpleLSI, 4), fnum(x.TDS, 1)
	} else {
		// Softened or alkalinity-free water: the carbonate indices are undefined, not wrong.
		note = "classic indices undefined: " + err.Error()
		row[19] = fnum(classic.TDSCalculated(&a), 1)
	}
	if rec.HasConductivity {
		if e, err := classic.EstimateFromConductivity(rec.Conductivity, 25, true); err == nil {
			row[20], row[21] = strconv.FormatFloat(e.IonicStrength, 'g', 5, 64), fnum(e.TDS, 1)
		}
	}
	row[len(row)-1] = note
	return row, true
}

// fnum formats v with prec decimals; NaN (not applicable) is an empty cell.
func fnum(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}
