package main

import (
	"os/exec"
	"strings"
	"testing"
)

// libraryPackages may be imported by other programs (docs/architecture.md):
// they import no server package.
var libraryPackages = []string{
	"reading", "verify", "meter", "alarm", "workorder", "command", "rejection", "quarantine", "balance", "savings", "waterplan", "production", "quotacase", "target", "evaluate", "report", "network", "sparse", "leak", "chem", "cooling", "dosing", "reuse", "plant", "sensor", "hj212", "sl651", "szy206", "cjt188", "consumption", "sigcheck", "certificate", "carbon", "contract", "directory",
}

// serverPackages are the running platform's; a library importing one of
// them (or anything under internal/ but the table reader) is a layering error.
var serverPackages = []string{
	"internal/api", "internal/broker", "internal/ingest", "internal/ledger", "internal/store",
	"internal/store/sqlite", "internal/store/storetest", "internal/store/aggregate", "internal/store/chunk",
	"internal/netmon", "internal/control", "internal/actuate", "internal/sim", "web", "cmd/shuixiao",
}

func TestLibraryImports(t *testing.T) {
	t.Parallel() // it waits for go list
	const mod = "github.com/shuixiao/shuixiao/"
	server := map[string]bool{}
	for _, p := range serverPackages {
		server[mod+p] = true
	}
	// One go list for all of them (each start loads the module graph): a
	// line per library, the package itself and then every package it
	// depends on, as go list -deps gives them.
	args := []string{"list", "-f", `{{.ImportPath}} {{join .Deps " "}}`}
	for _, lib := range libraryPackages {
		args = append(args, mod+lib)
	}
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(libraryPackages) {
		t.Fatalf("go list gave %d lines for %d packages:\n%s", len(lines), len(libraryPackages), out)
	}
	for _, line := range lines {
		deps := strings.Fields(line)
		lib := strings.TrimPrefix(deps[0], mod)
		for _, dep := range deps {
			bad := server[dep] || strings.HasPrefix(dep, mod+"internal/") && dep != mod+"internal/table"
			if bad {
				t.Errorf("library package %s imports server package %s", lib, strings.TrimPrefix(dep, mod))
			}
		}
	}
}
