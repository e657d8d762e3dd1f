package verify

import (
	"bufio"
	"bytes"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	f_note "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// MaxPolicySize bounds a witness policy file.
const MaxPolicySize = 64 << 10

// Policy is a k-of-n witness policy: which witnesses must have cosigned a
// checkpoint before a verifier believes it. The text format is Sigsum's
// policy format (https://git.glasklar.is/sigsum/core/sigsum-go/-/blob/main/doc/policy.md)
// with C2SP cosignature/v1 vkeys, as tessera.NewWitnessGroupFromPolicy reads
// it on the log side; the witness URL is optional here because a verifier
// never contacts witnesses:
//
//	witness NAME VKEY [URL]
//	group NAME K|any|all MEMBER...
//	quorum NAME|none
//	log VKEY [URL]              (ignored: the log key is given separately)
//	# comment
//
// A group is satisfied when K of its members are; a witness when its
// cosignature on the checkpoint verifies.
type Policy struct {
	quorum     string // component name, or "" for none
	components map[string]*component
	witnesses  []*component // in file order
}

// component is a witness (verifier != nil) or a group.
type component struct {
	name      string
	verifier  note.Verifier // witness
	vkey      string
	threshold int // group
	members   []*component
}

// ParsePolicy parses a witness policy.
func ParsePolicy(text []byte) (*Policy, error) {
	if len(text) > MaxPolicySize {
		return nil, fmt.Errorf("witness policy larger than %d bytes", MaxPolicySize)
	}
	p := &Policy{components: map[string]*component{}}
	quorumSeen := false
	sc := bufio.NewScanner(bytes.NewReader(text))
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		bad := func(format string, args ...any) error {
			return fmt.Errorf("witness policy line %d: %s", lineNo, fmt.Sprintf(format, args...))
		}
		switch fields[0] {
		case "log":
			if len(fields) < 2 || len(fields) > 3 {
				return nil, bad("want \"log VKEY [URL]\"")
			}
		case "witness":
			if len(fields) < 3 || len(fields) > 4 {
				return nil, bad("want \"witness NAME VKEY [URL]\"")
			}
			name, vkey := fields[1], fields[2]
			if err := p.newName(name); err != nil {
				return nil, bad("%v", err)
			}
			v, err := f_note.NewVerifierForCosignatureV1(vkey)
			if err != nil {
				return nil, bad("witness %s: key %q: %v", name, vkey, err)
			}
			if len(fields) == 4 {
				if u, err := url.Parse(fields[3]); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
					return nil, bad("witness %s: URL %q is not an http(s) URL", name, fields[3])
				}
			}
			c := &component{name: name, verifier: v, vkey: vkey}
			p.components[name] = c
			p.witnesses = append(p.witnesses, c)
		case "group":
			if len(fields) < 4 {
				return nil, bad("want \"group NAME K|any|all MEMBER...\"")
			}
			name, k, members := fields[1], fields[2], fields[3:]
			if err := p.newName(name); err != nil {
				return nil, bad("%v", err)
			}
			c := &component{name: name}
			seen := map[string]bool{}
			for _, m := range members {
				mc, ok := p.components[m]
				if !ok {
					return nil, bad("group %s: unknown member %q (define it above)", name, m)
				}
				if seen[m] {
					return nil, bad("group %s: member %q listed twice", name, m)
				}
				seen[m] = true
				c.members = append(c.members, mc)
			}
			switch k {
			case "any":
				c.threshold = 1
			case "all":
				c.threshold = len(members)
			default:
				n, err := strconv.Atoi(k)
				if err != nil || n < 1 || n > len(members) || strconv.Itoa(n) != k {
					return nil, bad("group %s: threshold %q must be any, all or 1..%d", name, k, len(members))
				}
				c.threshold = n
			}
			p.components[name] = c
		case "quorum":
			if len(fields) != 2 {
				return nil, bad("want \"quorum NAME|none\"")
			}
			if quorumSeen {
				return nil, bad("second quorum line")
			}
			quorumSeen = true
			if fields[1] != "none" {
				if _, ok := p.components[fields[1]]; !ok {
					return nil, bad("quorum %q is not defined above", fields[1])
				}
				p.quorum = fields[1]
			}
		default:
			return nil, bad("unknown keyword %q", fields[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("witness policy: %w", err)
	}
	if !quorumSeen {
		return nil, fmt.Errorf("witness policy: no quorum line")
	}
	return p, nil
}

func (p *Policy) newName(name string) error {
	switch name {
	case "witness", "group", "any", "all", "none", "quorum", "log":
		return fmt.Errorf("%q is a keyword, not a name", name)
	}
	if _, dup := p.components[name]; dup {
		return fmt.Errorf("%q defined twice", name)
	}
	return nil
}

// Verifiers returns the cosignature verifiers of the policy's witnesses,
// without duplicates.
func (p *Policy) Verifiers() []note.Verifier {
	var out []note.Verifier
	seen := map[string]bool{}
	for _, w := range p.witnesses {
		id := w.verifier.Name() + "+" + strconv.FormatUint(uint64(w.verifier.KeyHash()), 16)
		if !seen[id] {
			seen[id] = true
			out = append(out, w.verifier)
		}
	}
	return out
}

// RequiresWitnesses reports whether the quorum needs any cosignature.
func (p *Policy) RequiresWitnesses() bool { return p != nil && p.quorum != "" }

// satisfied reports whether the witnesses whose cosignatures verified (by
// key name and hash) satisfy the quorum, and lists the policy witnesses
// that cosigned.
func (p *Policy) satisfied(sigs []note.Signature) (bool, []string) {
	signed := map[string]bool{}
	for _, s := range sigs {
		signed[s.Name+"+"+strconv.FormatUint(uint64(s.Hash), 16)] = true
	}
	var names []string
	for _, w := range p.witnesses {
		if signed[w.verifier.Name()+"+"+strconv.FormatUint(uint64(w.verifier.KeyHash()), 16)] {
			names = append(names, w.name)
		}
	}
	sort.Strings(names)
	if p.quorum == "" {
		return true, names
	}
	return p.components[p.quorum].satisfiedBy(signed), names
}

func (c *component) satisfiedBy(signed map[string]bool) bool {
	if c.verifier != nil {
		return signed[c.verifier.Name()+"+"+strconv.FormatUint(uint64(c.verifier.KeyHash()), 16)]
	}
	n := 0
	for _, m := range c.members {
		if m.satisfiedBy(signed) {
			n++
		}
	}
	return n >= c.threshold
}

// String describes the quorum, e.g. "2 of {w1, w2, w3}".
func (p *Policy) String() string {
	if p == nil || p.quorum == "" {
		return "none"
	}
	return p.components[p.quorum].describe()
}

func (c *component) describe() string {
	if c.verifier != nil {
		return c.name
	}
	parts := make([]string, len(c.members))
	for i, m := range c.members {
		parts[i] = m.describe()
	}
	return fmt.Sprintf("%d of {%s}", c.threshold, strings.Join(parts, ", "))
}
