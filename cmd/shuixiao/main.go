// Command shuixiao is the whole shuixiao platform in one binary: the server
// (serve, demo), the simulator (sim), the independent verifier (verify), and
// the analysis tools (hydraulics, leak, chem, …). Each subcommand lives in its
// own file in this directory and registers itself in init.
package main

import (
	"fmt"
	"os"
	"sort"
)

// subcommand is one subcommand of the binary.
type subcommand struct {
	name    string
	summary string
	// run receives the arguments after the subcommand name and returns the
	// process exit code.
	run func(args []string) int
}

var commands = map[string]subcommand{}

// register adds a subcommand; it is called from init functions.
func register(name, summary string, run func(args []string) int) {
	if _, dup := commands[name]; dup {
		panic("shuixiao: duplicate command " + name)
	}
	commands[name] = subcommand{name: name, summary: summary, run: run}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: shuixiao <command> [arguments]")
	fmt.Fprintln(os.Stderr, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'shuixiao <command> -h' for a command's flags.")
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	name := os.Args[1]
	if name == "-h" || name == "--help" || name == "help" {
		usage()
		return
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "shuixiao: unknown command %q\n\n", name)
		usage()
		os.Exit(2)
	}
	os.Exit(c.run(os.Args[2:]))
}
