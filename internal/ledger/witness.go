package ledger

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	f_log "github.com/transparency-dev/formats/log"
	f_note "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/witness/persistence/sqlite"
	"github.com/transparency-dev/witness/witness"
	"golang.org/x/mod/sumdb/note"
)

// WitnessOptions configure OpenWitness.
type WitnessOptions struct {
	// Dir holds the witness key (witness.key, mode 0600; witness.vkey, its
	// cosignature/v1 verifier key) and
	// its state (witness.db, SQLite): the latest checkpoint it cosigned for
	// each log.
	Dir string
	// Name is the cosigner name used when the key is generated on first
	// start. Default "witness.shuixiao.local/<hostname>".
	Name string
	// LogKeys are the note verifier keys of the logs to witness; a log's
	// origin is its key's name.
	LogKeys []string
}

// Witness is a C2SP tlog-witness (github.com/transparency-dev/witness) for
// one or more logs. It cosigns a checkpoint only if it is signed by the
// log's key and is consistent with the last checkpoint it cosigned for that
// log (trust on first use), so it refuses forks.
type Witness struct {
	w       *witness.Witness
	vkey    string
	logs    map[string]note.Verifier
	closeDB func() error
}

// WitnessVerifierKey returns the cosignature/v1 verifier key of the witness
// in dir, generating the key (named name, or the default) if there is none.
// It is what log operators put in their witness policy.
func WitnessVerifierKey(dir, name string) (string, error) {
	kp, err := witnessKey(dir, name)
	if err != nil {
		return "", err
	}
	return f_note.VKeyToCosignatureV1(kp.vkey)
}

func witnessKey(dir, name string) (noteKeyPair, error) {
	if name == "" {
		if _, err := os.Stat(filepath.Join(dir, "witness.key")); err != nil {
			host, herr := os.Hostname()
			if herr != nil || !validKeyName(host) {
				host = "localhost"
			}
			name = "witness.shuixiao.local/" + host
		}
	}
	kp, err := loadOrCreateKey(filepath.Join(dir, "witness.key"), filepath.Join(dir, "witness.vkey"), name, f_note.VKeyToCosignatureV1)
	if err != nil {
		return noteKeyPair{}, fmt.Errorf("witness key: %w", err)
	}
	return kp, nil
}

// OpenWitness opens (or creates) the witness in opts.Dir.
func OpenWitness(ctx context.Context, opts WitnessOptions) (*Witness, error) {
	if opts.Dir == "" {
		return nil, errors.New("witness: Dir is required")
	}
	if len(opts.LogKeys) == 0 {
		return nil, errors.New("witness: at least one log key is required")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("witness: %w", err)
	}
	logs := make(map[string]note.Verifier, len(opts.LogKeys))
	for _, k := range opts.LogKeys {
		v, err := note.NewVerifier(k)
		if err != nil {
			return nil, fmt.Errorf("witness: log key %q: %w", k, err)
		}
		if _, dup := logs[v.Name()]; dup {
			return nil, fmt.Errorf("witness: two log keys for origin %q", v.Name())
		}
		logs[v.Name()] = v
	}
	kp, err := witnessKey(opts.Dir, opts.Name)
	if err != nil {
		return nil, err
	}
	signer, err := f_note.NewSignerForCosignatureV1(kp.skey)
	if err != nil {
		return nil, fmt.Errorf("witness: cosigner: %w", err)
	}
	vkey, err := f_note.VKeyToCosignatureV1(kp.vkey)
	if err != nil {
		return nil, fmt.Errorf("witness: cosigner key: %w", err)
	}
	db, closeDB, err := sqlite.New(ctx, sqlite.Opts{Path: filepath.Join(opts.Dir, "witness.db")})
	if err != nil {
		return nil, fmt.Errorf("witness: state: %w", err)
	}
	w, err := witness.New(ctx, witness.Opts{
		Persistence: db,
		Signers:     []note.Signer{signer},
		VerifierForLog: func(_ context.Context, origin string) (note.Verifier, bool, error) {
			v, ok := logs[origin]
			return v, ok, nil
		},
	})
	if err != nil {
		closeDB()
		return nil, fmt.Errorf("witness: %w", err)
	}
	return &Witness{w: w, vkey: vkey, logs: logs, closeDB: closeDB}, nil
}

// VerifierKey returns the witness's cosignature/v1 verifier key.
func (w *Witness) VerifierKey() string { return w.vkey }

// Latest returns the latest checkpoint the witness cosigned for origin, or
// nil if none.
func (w *Witness) Latest(ctx context.Context, origin string) ([]byte, error) {
	return w.w.GetCheckpoint(ctx, origin)
}

// Handler serves the tlog-witness API: POST /add-checkpoint. Responses
// follow c2sp.org/tlog-witness: 200 with the cosignature line, 403 for a
// checkpoint not signed by the log's key, 404 for an unknown origin, 409 for
// a stale old size (body: the size the witness holds), 422 for an invalid
// consistency proof or a different root at the same size (a fork), 400 for
// a malformed request.
func (w *Witness) Handler() http.Handler {
	mux := http.NewServeMux()
	upstream := witness.NewHTTPHandler(w.w)
	mux.HandleFunc("POST /add-checkpoint", func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, witness.MaxRequestBodyBytes))
		if err != nil {
			http.Error(rw, "request too large or unreadable", http.StatusBadRequest)
			return
		}
		// The library answers 500 when the log signature does not verify;
		// the spec asks for 403 (and 404 for an unknown origin), so check
		// those here before handing the request over.
		if code := w.precheck(body); code != 0 {
			http.Error(rw, http.StatusText(code), code)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		upstream.AddCheckpoint(rw, r)
	})
	return mux
}

// precheck returns an HTTP status for a request whose checkpoint is from an
// unknown log or lacks a valid signature by the log key, or 0.
func (w *Witness) precheck(body []byte) int {
	br := bufio.NewReader(bytes.NewReader(body))
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return http.StatusBadRequest
		}
		if len(line) == 1 {
			break
		}
	}
	cp, _ := io.ReadAll(br)
	origin, _, ok := bytes.Cut(cp, []byte("\n"))
	if !ok {
		return http.StatusBadRequest
	}
	v, known := w.logs[string(origin)]
	if !known {
		return http.StatusNotFound
	}
	if _, _, _, err := f_log.ParseCheckpoint(cp, string(origin), v); err != nil {
		return http.StatusForbidden
	}
	return 0
}

// Close releases the witness's database.
func (w *Witness) Close() error { return w.closeDB() }
