package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a private PostgreSQL cluster a test starts, stops and
// restarts itself: initdb into a temporary directory, its own port on
// 127.0.0.1, trust authentication, fsync on. Fault tests use it; the
// machine's shared server is never restarted.
type Cluster struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	as   []string // runuser prefix when running as root (initdb refuses root)
}

// NewCluster starts a private cluster with a database test, stopped when
// the test ends. Without initdb (PostgreSQL's server binaries under
// /usr/lib/postgresql/*/bin, or $SHUIXIAO_PG_BIN) the test is skipped, or
// fails where services are required (CI, SHUIXIAO_REQUIRE_SERVICES=1).
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := os.Getenv("SHUIXIAO_PG_BIN")
	if bin == "" {
		dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) < version(dirs[j]) })
		if len(dirs) > 0 {
			bin = dirs[len(dirs)-1]
		}
	}
	if _, err := os.Stat(filepath.Join(bin, "initdb")); bin == "" || err != nil {
		msg := "PostgreSQL fault tests skipped: no initdb under /usr/lib/postgresql/*/bin (install the postgresql server package, or set SHUIXIAO_PG_BIN) to run a private cluster"
		if os.Getenv("CI") != "" || os.Getenv("SHUIXIAO_REQUIRE_SERVICES") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// Not t.TempDir: its parent is private to this user, and the server
	// may run as another.
	dir, err := os.MkdirTemp("", "shuixiao-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c := &Cluster{t: t, bin: bin, dir: dir}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, and no user postgres to run the private cluster as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(c.dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		c.as = []string{"runuser", "-u", "postgres", "--"}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	c.run("initdb", "-D", c.data(), "-A", "trust", "-U", "postgres", "--no-sync")
	c.Start()
	t.Cleanup(func() { c.stop("immediate", false) })
	c.run("createdb", "-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", "postgres", "test")
	return c
}

func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "db") }

// URL is the database test of the cluster.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/test?sslmode=disable", c.port)
}

// Start starts the server (again) and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "log"), "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200", c.port, c.dir), "start")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port))
		if err == nil {
			conn.Close(ctx)
			return
		}
		if ctx.Err() != nil {
			c.t.Fatalf("private PostgreSQL did not accept connections after start: %v\n%s", err, c.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server: mode "fast" (sessions ended, a checkpoint) or
// "immediate" (no checkpoint: the next start recovers from the WAL, as
// after a crash).
func (c *Cluster) Stop(mode string) {
	c.t.Helper()
	c.stop(mode, true)
}

func (c *Cluster) stop(mode string, must bool) {
	out, err := c.command("pg_ctl", "-D", c.data(), "-m", mode, "-w", "stop").CombinedOutput()
	if err != nil && must {
		c.t.Fatalf("pg_ctl stop -m %s: %v\n%s", mode, err, out)
	}
}

// Log is the server's log so far.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "log"))
	return string(b)
}

// command runs one of the server's programs, as user postgres when this
// process is root.
func (c *Cluster) command(prog string, a ...string) *exec.Cmd {
	path := filepath.Join(c.bin, prog)
	if len(c.as) == 0 {
		return exec.Command(path, a...)
	}
	return exec.Command(c.as[0], append(append(append([]string{}, c.as[1:]...), path), a...)...)
}

func (c *Cluster) run(prog string, a ...string) {
	c.t.Helper()
	if out, err := c.command(prog, a...).CombinedOutput(); err != nil {
		c.t.Fatalf("%s %v: %v\n%s\n%s", prog, a, err, out, c.Log())
	}
}
