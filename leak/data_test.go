package leak

import (
	"os"
	"sync"

	"github.com/shuixiao/shuixiao/internal/shareddata"
	"github.com/shuixiao/shuixiao/network"
	"testing"
)

// sharedData returns the path of a file under the project's shared test
// data (../shared/data from the repository root). A missing data dir is
// a test failure: CI always has it.
func sharedData(t testing.TB, parts ...string) string {
	t.Helper()
	return shareddata.Path(t, parts...)
}

func openShared(t testing.TB, parts ...string) *os.File {
	t.Helper()
	f, err := os.Open(sharedData(t, parts...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func ltownGraph(t testing.TB) *PipeGraph {
	t.Helper()
	g, err := NetworkGraph(ltownNetwork(t))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

var ltown struct {
	once sync.Once
	net  *network.Network
	err  error
}

// ltownNetwork reads the public L-TOWN.inp once per test binary.
func ltownNetwork(t testing.TB) *network.Network {
	t.Helper()
	path := sharedData(t, "networks", "L-TOWN.inp")
	ltown.once.Do(func() { ltown.net, ltown.err = network.ReadFile(path) })
	if ltown.err != nil {
		t.Fatal(ltown.err)
	}
	return ltown.net
}
