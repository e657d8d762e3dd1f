package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/sl651"
)

func init() {
	register("sl651", "decode SL 651-2014 hydrological telemetry frames (hex, one per line) to JSON / 水文监测报文解码", runSL651)
}

// sl651Decoded is one output line of shuixiao sl651 decode.
type sl651Decoded struct {
	Line      int                    `json:"line"`
	OK        bool                   `json:"ok"`
	Error     string                 `json:"error,omitempty"`
	Fn        string                 `json:"fn,omitempty"`
	Station   string                 `json:"station,omitempty"`
	Centre    *int                   `json:"centre,omitempty"`
	Mode      string                 `json:"mode,omitempty"`
	Direction string                 `json:"direction,omitempty"`
	Serial    *int                   `json:"serial,omitempty"`
	Packet    string                 `json:"packet,omitempty"`
	DataTime  string                 `json:"data_time,omitempty"`
	Values    any                    `json:"values,omitempty"` // map[string]float64 on every ok line
	Missing   []string               `json:"missing,omitempty"`
	Series    map[string][]*float64  `json:"series,omitempty"`
	Later     []sl651ObservationJSON `json:"later_observations,omitempty"`
}

// sl651ObservationJSON holds the values of a further observation time (TT) in the same body.
type sl651ObservationJSON struct {
	DataTime string             `json:"data_time"`
	Values   map[string]float64 `json:"values"`
}

func runSL651(args []string) int {
	usage := func() {
		fmt.Fprintln(os.Stderr, "usage: shuixiao sl651 decode FILE|-")
		fmt.Fprintln(os.Stderr, "每行一帧（十六进制，HEX/BCD 或 ASCII 模式；TAB 后的文字忽略），每行输出一个 JSON 对象。")
		fmt.Fprintln(os.Stderr, "One frame per line as hex (HEX/BCD or ASCII mode; text after a TAB is ignored); one JSON object per line:")
		fmt.Fprintln(os.Stderr, "ok, error, fn, station, data_time (RFC 3339, +08:00), values keyed by identifier (PJ, Z, Q1…).")
		fmt.Fprintln(os.Stderr, "Packets of a multi-packet message are joined; the last packet's line carries the message.")
	}
	if len(args) < 1 || args[0] != "decode" {
		usage()
		return 2
	}
	fs := flag.NewFlagSet("sl651 decode", flag.ContinueOnError)
	fs.Usage = usage
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		usage()
		return 2
	}
	var in io.Reader = os.Stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(os.Stderr, "输入文件错误 / input error: %v\n", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	if err := decodeSL651Lines(in, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "读取失败 / read error: %v\n", err)
		return 1
	}
	return 0
}

// decodeSL651Lines writes one JSON object per non-blank input line.
func decodeSL651Lines(in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 4*sl651.MaxFrame+1024)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	var packets sl651.Reassembler
	line := 0
	for sc.Scan() {
		line++
		text, _, _ := strings.Cut(sc.Text(), "\t")
		text = strings.Join(strings.Fields(text), "")
		if text == "" {
			continue
		}
		if err := enc.Encode(decodeSL651Line(line, text, &packets)); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", line+1, err)
	}
	return nil
}

func decodeSL651Line(line int, text string, packets *sl651.Reassembler) sl651Decoded {
	fail := func(format string, a ...any) sl651Decoded {
		return sl651Decoded{Line: line, Error: fmt.Sprintf(format, a...)}
	}
	raw, err := hex.DecodeString(text)
	if err != nil {
		return fail("不是十六进制 / not hex: %v", err)
	}
	f, err := sl651.Parse(raw)
	if err != nil {
		return fail("帧无效 / bad frame: %v", err)
	}
	centre, serial := int(f.Centre), 0
	values := map[string]float64{}
	d := sl651Decoded{Line: line, OK: true, Fn: fmt.Sprintf("%02X", f.Func), Station: f.Station.String(),
		Centre: &centre, Mode: f.Mode.String(), Direction: "up", Values: values}
	if f.Down {
		d.Direction = "down"
	}
	if f.Packets > 0 {
		d.Packet = fmt.Sprintf("%d/%d", f.Seq, f.Packets)
		w, done, err := packets.Add(f, raw, time.Now())
		if err != nil {
			return fail("多包报文 / multi-packet message: %v", err)
		}
		if !done {
			return d
		}
		f = w.Frame
	}
	m, err := sl651.Decode(f)
	if err != nil {
		return fail("正文无效 / bad body (station %s, function %02X): %v", f.Station, f.Func, err)
	}
	serial = int(m.Serial)
	d.Serial = &serial
	if t := m.DataTime(); !t.IsZero() {
		d.DataTime = t.Format(time.RFC3339)
	}
	first := m.DataTime()
	later := map[time.Time]int{}
	for _, e := range m.Elements {
		name := e.Name()
		switch {
		case e.Series != nil:
			if d.Series == nil {
				d.Series = map[string][]*float64{}
			}
			s := make([]*float64, len(e.Series))
			for i, v := range e.Series {
				if !math.IsNaN(v) {
					s[i] = &v
				}
			}
			d.Series[name] = s
		case e.Text != nil:
		case e.Missing:
			d.Missing = append(d.Missing, name)
		case e.Time.IsZero() || e.Time.Equal(first):
			values[name] = e.Value
		default:
			i, ok := later[e.Time]
			if !ok {
				i = len(d.Later)
				later[e.Time] = i
				d.Later = append(d.Later, sl651ObservationJSON{DataTime: e.Time.Format(time.RFC3339), Values: map[string]float64{}})
			}
			d.Later[i].Values[name] = e.Value
		}
	}
	return d
}
