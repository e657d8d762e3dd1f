package verify

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	pathpkg "path"
	"sort"

	"github.com/shuixiao/shuixiao/reading"
)

// ScanFrames calls fn for every record of a gateway's raw-frame archive
// (reading.FrameRecord lines in frames-*.jsonl files, in date order), each
// checked to hash to its sha256. A torn last line of a file (a crash while
// the gateway appended; never synced, so none of its readings were
// submitted) is skipped; any other bad line is an error naming file and line.
func ScanFrames(fsys fs.FS, fn func(*reading.FrameRecord) error) error {
	names, err := fs.Glob(fsys, "frames-*.jsonl")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := scanFrameFile(fsys, name, fn); err != nil {
			return err
		}
	}
	return nil
}

func scanFrameFile(fsys fs.FS, name string, fn func(*reading.FrameRecord) error) error {
	f, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), reading.MaxFrameRecord+1)
	line := 0
	var bad error
	for sc.Scan() {
		line++
		if bad != nil {
			return bad // a bad line that is not the last
		}
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		rec, err := reading.ParseFrameRecord(b)
		if err != nil {
			bad = fmt.Errorf("%s line %d: %w", pathpkg.Base(name), line, err)
			continue
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s line %d: %w", pathpkg.Base(name), line+1, err)
	}
	return nil
}

// FrameReport is the outcome of CheckFrames.
type FrameReport struct {
	Records  uint64 // frame records in the archive
	Checked  uint64 // gateway-signed readings whose frame was found and matched
	Missing  uint64 // gateway-signed readings whose frame is not in the archive
	Mismatch uint64 // found, but for another protocol, device or gateway, or not listing the reading
	Problems []Problem
}

// CheckFrames re-checks gateway-signed readings (AuditReport.Framed) against
// a gateway's raw-frame archive: each reading's frame must be there, its raw
// bytes must hash to the SHA-256 the reading quotes (ScanFrames checks it),
// and the record must name the reading's protocol, device and gateway and
// list the reading (meter, seq) as made from it. Readings signed by
// gateways whose archive this is not (the gateways list; empty: any) are
// not checked. At most maxListed problems are listed (all are counted).
func CheckFrames(framed []FramedReading, archives []fs.FS, gateways []string, maxListed int) (*FrameReport, error) {
	type rec struct {
		protocol, device, gateway string
		readings                  map[string]bool // "meter seq" of every record with these bytes
	}
	idx := map[reading.Hash]*rec{}
	rep := &FrameReport{}
	for _, fsys := range archives {
		err := ScanFrames(fsys, func(r *reading.FrameRecord) error {
			rep.Records++
			h := reading.FrameHash(r.Raw)
			x := idx[h]
			if x == nil {
				x = &rec{protocol: r.Protocol, device: r.Device, gateway: r.Gateway, readings: map[string]bool{}}
				idx[h] = x
			}
			for _, fr := range r.Readings {
				x.readings[fmt.Sprintf("%s %d", fr.Meter, fr.Seq)] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	want := map[string]bool{}
	for _, g := range gateways {
		want[g] = true
	}
	if maxListed <= 0 {
		maxListed = 1000
	}
	problem := func(p Problem) {
		if len(rep.Problems) < maxListed {
			rep.Problems = append(rep.Problems, p)
		}
	}
	for _, f := range framed {
		if len(want) > 0 && !want[f.Gateway] {
			continue
		}
		x := idx[f.Frame]
		switch {
		case x == nil:
			rep.Missing++
			problem(Problem{Kind: ProblemFrame, Index: f.Index, Meter: f.Meter, Seq: f.Seq,
				Detail: fmt.Sprintf("frame %s of %s/%s (gateway %s) is not in the archive", f.Frame, f.Protocol, f.Device, f.Gateway)})
		case x.protocol != f.Protocol || x.device != f.Device || x.gateway != f.Gateway:
			rep.Mismatch++
			problem(Problem{Kind: ProblemFrame, Index: f.Index, Meter: f.Meter, Seq: f.Seq,
				Detail: fmt.Sprintf("frame %s is archived for %s/%s by %s, the reading says %s/%s by %s", f.Frame, x.protocol, x.device, x.gateway, f.Protocol, f.Device, f.Gateway)})
		case !x.readings[fmt.Sprintf("%s %d", f.Meter, f.Seq)]:
			rep.Mismatch++
			problem(Problem{Kind: ProblemFrame, Index: f.Index, Meter: f.Meter, Seq: f.Seq,
				Detail: fmt.Sprintf("frame %s does not list reading %s seq %d as made from it", f.Frame, f.Meter, f.Seq)})
		default:
			rep.Checked++
		}
	}
	return rep, nil
}
