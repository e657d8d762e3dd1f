package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/hj212"
)

func init() {
	register("hj212", "decode HJ 212-2017 packets: hj212 decode FILE / 解析 HJ 212 数据包", runHJ212)
}

func runHJ212(args []string) int {
	if len(args) != 2 || args[0] != "decode" {
		fmt.Fprintln(os.Stderr, "usage: shuixiao hj212 decode FILE   (FILE: one packet a line, '-' for standard input)")
		fmt.Fprintln(os.Stderr, "每行一个 HJ 212 数据包，每行输出一个 JSON 对象；有行解析失败时退出码为 1 / one JSON object per line; exit 1 when a line failed")
		return 2
	}
	in := io.Reader(os.Stdin)
	if args[1] != "-" {
		f, err := os.Open(args[1])
		if err != nil {
			fmt.Fprintf(os.Stderr, "输入错误 / input error: %v\n", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	failed, err := decodeHJ212Lines(in, out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "输入错误 / input error: %v\n", err)
		return 1
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// hj212Line is the decode of one input line.
type hj212Line struct {
	Line     int                `json:"line"`
	OK       bool               `json:"ok"`
	Error    string             `json:"error,omitempty"`
	QN       string             `json:"qn,omitempty"`
	ST       string             `json:"st,omitempty"`
	CN       string             `json:"cn,omitempty"`
	MN       string             `json:"mn,omitempty"`
	Flag     *int               `json:"flag,omitempty"`
	PNUM     int                `json:"pnum,omitempty"`
	PNO      int                `json:"pno,omitempty"`
	DataTime string             `json:"data_time,omitempty"`
	Values   map[string]float64 `json:"values"`            // null when not ok
	Flags    map[string]string  `json:"flags,omitempty"`   // value → its data flag (Table 8)
	Quality  map[string]string  `json:"quality,omitempty"` // value → the quality its flag gives
}

// maxHJ212Line bounds one input line; a longer one is reported and skipped.
const maxHJ212Line = 64 << 10

// decodeHJ212Lines writes one JSON object per line of in and returns how many lines failed.
func decodeHJ212Lines(in io.Reader, out io.Writer) (failed int, err error) {
	r := bufio.NewReaderSize(in, 4096)
	enc := json.NewEncoder(out)
	for n := 1; ; n++ {
		line, tooLong, err := readHJ212Line(r)
		if err == io.EOF && line == nil && !tooLong {
			return failed, nil
		}
		if err != nil && err != io.EOF {
			return failed, err
		}
		res := decodeHJ212Line(n, line, tooLong)
		if !res.OK {
			failed++
		}
		if werr := enc.Encode(res); werr != nil {
			return failed, werr
		}
		if err == io.EOF {
			return failed, nil
		}
	}
}

// readHJ212Line returns the next line without its end; a line longer than maxHJ212Line is read
// to its end and reported too long.
func readHJ212Line(r *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > maxHJ212Line+2 {
			tooLong = true
		} else {
			line = append(line, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if tooLong {
			line = []byte{}
		}
		if err == nil || (err == io.EOF && len(line) > 0) || tooLong {
			return []byte(strings.TrimRight(string(line), "\r\n")), tooLong, err
		}
		return nil, false, err
	}
}

func decodeHJ212Line(n int, line []byte, tooLong bool) hj212Line {
	res := hj212Line{Line: n}
	fail := func(format string, a ...any) hj212Line {
		res.OK, res.Error = false, fmt.Sprintf("line %d: ", n)+fmt.Sprintf(format, a...)
		return res
	}
	switch {
	case tooLong:
		return fail("longer than %d bytes", maxHJ212Line)
	case len(line) == 0:
		return fail("empty line")
	}
	p, err := hj212.Parse(line)
	if err != nil {
		return fail("%v", err)
	}
	res.QN, res.ST, res.CN, res.MN, res.PNUM, res.PNO = p.QN, p.ST, p.CN, p.MN, p.PNUM, p.PNO
	if p.HasFlag {
		f := int(p.Flag)
		res.Flag = &f
	}
	d, err := hj212.ParseData(p.CP)
	if err != nil {
		return fail("%v", err)
	}
	if !d.Time.IsZero() {
		res.DataTime = d.Time.In(hj212.China).Format(time.RFC3339Nano)
	}
	res.Values, res.Flags = d.Values, d.Flags
	if len(d.Flags) > 0 {
		res.Quality = map[string]string{}
		for k, f := range d.Flags {
			res.Quality[k] = hj212.FlagQuality(f).String()
		}
	}
	res.OK = true
	return res
}
