package leak

import (
	"io"
	"sync"
	"testing"

	"github.com/shuixiao/shuixiao/internal/testfiles"
	"github.com/shuixiao/shuixiao/network"
)

// openData returns the content of the file parts under the repository's
// testdata directory; a missing file fails the test.
func openData(t testing.TB, parts ...string) io.Reader {
	t.Helper()
	return testfiles.Open(t, parts...)
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
	path := testfiles.Path(t, "networks", "L-TOWN.inp")
	ltown.once.Do(func() { ltown.net, ltown.err = network.ReadFile(path) })
	if ltown.err != nil {
		t.Fatal(ltown.err)
	}
	return ltown.net
}
