package main

import (
	"os/exec"
	"strings"
	"testing"
)

// libraryPackages may be imported by other programs (docs/architecture.md):
// they import no server package.
var libraryPackages = []string{
	"reading", "verify", "meter", "alarm", "workorder", "command", "rejection", "quarantine", "balance", "savings", "waterplan", "production", "quotacase", "target", "evaluate", "report", "network", "sparse", "leak", "chem", "cooling", "dosing", "reuse", "plant", "sensor", "hj212", "sl651", "szy206", "cjt188", "consumption", "sigcheck", "certificate",
}

// serverPackages are the running platform's; a library importing one of
// them (or anything under internal/ but the table reader) is a layering error.
var serverPackages = []string{
	"internal/api", "internal/broker", "internal/ingest", "internal/ledger", "internal/store",
	"internal/store/sqlite", "internal/store/storetest", "internal/store/aggregate", "internal/store/chunk",
	"internal/netmon", "internal/control", "internal/actuate", "internal/sim", "web", "cmd/shuixiao",
}

func TestLibraryImports(t *testing.T) {
	const mod = "github.com/shuixiao/shuixiao/"
	server := map[string]bool{}
	for _, p := range serverPackages {
		server[mod+p] = true
	}
	for _, lib := range libraryPackages {
		out, err := exec.Command("go", "list", "-deps", "-test=false", mod+lib).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", lib, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			bad := server[dep] || strings.HasPrefix(dep, mod+"internal/") && dep != mod+"internal/table"
			if bad {
				t.Errorf("library package %s imports server package %s", lib, strings.TrimPrefix(dep, mod))
			}
		}
	}
}
