package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/shuixiao/shuixiao/internal/ledger"
)

func init() {
	register("witness", "run a C2SP tlog-witness that cosigns ledger checkpoints / 运行见证者", runWitness)
}

func runWitness(args []string) int {
	if len(args) > 0 && args[0] == "key" {
		return runWitnessKey(args[1:], os.Stdout, os.Stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveWitness(ctx, args, os.Stdout, os.Stderr, nil)
}

// serveWitness runs the witness until ctx is done. ready, if not nil,
// receives the listening address (for tests).
func serveWitness(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- string) int {
	fs := flag.NewFlagSet("witness", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "witness data directory: key (witness.key, 0600) and state (witness.db)")
	addr := fs.String("http", "127.0.0.1:8090", "listen address")
	name := fs.String("name", "", "cosigner name for a new key (default witness.shuixiao.local/<hostname>)")
	var logKeys listFlag
	fs.Var(&logKeys, "log-key", "note verifier key of a log to witness, or a file holding it (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "用法 usage: shuixiao witness --data DIR --http ADDR --log-key VKEY [--log-key VKEY …] [--name NAME]")
		fmt.Fprintln(stderr, "       shuixiao witness key --data DIR [--name NAME]")
		fmt.Fprintln(stderr, "见证者：仅当检查点与其上次联署的检查点一致时才联署（C2SP tlog-witness，POST /add-checkpoint）。")
		fmt.Fprintln(stderr, "The witness cosigns a checkpoint only if it is consistent with the last one it cosigned.")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if *data == "" || len(logKeys) == 0 || len(pos) > 0 {
		fs.Usage()
		return 2
	}
	var keys []string
	for _, k := range logKeys {
		vkey, err := readVerifierKey(k)
		if err != nil {
			fmt.Fprintf(stderr, "日志公钥错误 / log key error: %v\n", err)
			return 2
		}
		keys = append(keys, vkey)
	}
	w, err := ledger.OpenWitness(ctx, ledger.WitnessOptions{Dir: *data, Name: *name, LogKeys: keys})
	if err != nil {
		fmt.Fprintf(stderr, "见证者启动失败 / witness failed to start: %v\n", err)
		return 1
	}
	defer w.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "监听失败 / listen: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "见证者公钥 witness key: %s\n", w.VerifierKey())
	for _, k := range keys {
		fmt.Fprintf(stdout, "见证日志 witnessing log: %s\n", k)
	}
	fmt.Fprintf(stdout, "监听 listening: http://%s/add-checkpoint\n", ln.Addr())
	if ready != nil {
		ready <- ln.Addr().String()
	}
	srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "见证者停止 / witness stopped: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "关闭 / shutdown: %v\n", err)
		return 1
	}
	return 0
}

func runWitnessKey(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("witness key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "witness data directory")
	name := fs.String("name", "", "cosigner name for a new key (default witness.shuixiao.local/<hostname>)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "用法 usage: shuixiao witness key --data DIR [--name NAME]")
		fmt.Fprintln(stderr, "打印见证者的 cosignature/v1 公钥（首次运行时生成密钥）；写入日志的见证策略。")
		fmt.Fprintln(stderr, "Prints the witness's cosignature/v1 verifier key (generating the key on first use), for log witness policies.")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if *data == "" || len(pos) > 0 {
		fs.Usage()
		return 2
	}
	vkey, err := ledger.WitnessVerifierKey(*data, *name)
	if err != nil {
		fmt.Fprintf(stderr, "见证者密钥错误 / witness key error: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, vkey)
	return 0
}

// readVerifierKey accepts a note verifier key, or the path of a file that
// holds one (such as a ledger's log.vkey).
func readVerifierKey(s string) (string, error) {
	if _, err := note.NewVerifier(s); err == nil {
		return s, nil
	}
	b, err := os.ReadFile(s)
	if err != nil {
		return "", fmt.Errorf("%q is neither a verifier key nor a readable file: %w", s, err)
	}
	k := strings.TrimSpace(string(b))
	if _, err := note.NewVerifier(k); err != nil {
		return "", fmt.Errorf("%s does not hold a verifier key: %w", s, err)
	}
	return k, nil
}
