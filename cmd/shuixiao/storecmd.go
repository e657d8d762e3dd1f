package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shuixiao/shuixiao/internal/store/migrate"
	"github.com/shuixiao/shuixiao/internal/store/postgres"
	"github.com/shuixiao/shuixiao/internal/store/sqlite"
)

func init() {
	register("store", "move a data directory's store into PostgreSQL (store migrate) / 存储迁移", runStore)
}

func runStore(args []string) int {
	if len(args) == 0 || args[0] != "migrate" {
		fmt.Fprintln(os.Stderr, "usage: shuixiao store migrate --from DIR --to postgres://USER@HOST:PORT/DB[?schema=NAME] [--check]")
		return 2
	}
	return runStoreMigrate(args[1:], os.Stdout)
}

func runStoreMigrate(args []string, out io.Writer) int {
	fs := flag.NewFlagSet("store migrate", flag.ContinueOnError)
	from := fs.String("from", "", "data directory whose SQLite store (store.db) is copied; stop its server first")
	to := fs.String("to", "", "PostgreSQL URL of an empty schema: postgres://USER@HOST:PORT/DB[?schema=NAME]")
	check := fs.Bool("check", false, "copy nothing: compare a store already migrated with its source")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: shuixiao store migrate --from DIR --to postgres://USER@HOST:PORT/DB[?schema=NAME] [--check]")
		fmt.Fprintln(fs.Output(), "把数据目录的 SQLite 存储迁移到 PostgreSQL，并逐表核对行数与摘要；不一致时退出码为 1")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *from == "" || *to == "" {
		fs.Usage()
		return 2
	}
	if !strings.HasPrefix(*to, "postgres://") && !strings.HasPrefix(*to, "postgresql://") {
		fmt.Fprintln(os.Stderr, "迁移失败 / migrate: --to must be a PostgreSQL URL postgres://USER@HOST:PORT/DB")
		return 2
	}
	ctx := context.Background()
	path := filepath.Join(*from, "store.db")
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(os.Stderr, "迁移失败 / migrate: no store in %s: %v\n", *from, err)
		return 1
	}
	src, err := sqlite.Open(path, sqlite.Options{ManualCompaction: true})
	if err != nil {
		fmt.Fprintf(os.Stderr, "迁移失败 / migrate: open %s: %v\n", path, err)
		return 1
	}
	defer src.Close()
	st, _, err := openStore(ctx, *to, "", nil)
	if err != nil {
		fmt.Fprintf(os.Stderr, "迁移失败 / migrate: %v\n", err)
		return 1
	}
	defer st.Close()
	dst, ok := st.(*postgres.Store)
	if !ok {
		fmt.Fprintln(os.Stderr, "迁移失败 / migrate: --to must be a PostgreSQL URL")
		return 2
	}
	t0 := time.Now()
	var rep migrate.Report
	if *check {
		rep, err = migrate.Check(ctx, migrate.Source{Store: src, Path: path}, dst)
	} else {
		rep, err = migrate.Run(ctx, migrate.Source{Store: src, Path: path}, dst, func(f string, a ...any) { fmt.Fprintf(out, "  "+f+"\n", a...) })
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "迁移失败 / migrate: %v\n", err)
		return 1
	}
	fmt.Fprintf(out, "%-20s %12s %12s\n", "行数 / rows", "SQLite", "PostgreSQL")
	for _, c := range rep.Counts {
		fmt.Fprintf(out, "%-20s %12d %12d\n", c.What, c.Source, c.Target)
	}
	fmt.Fprintf(out, "%-20s %8s  %-16s %-16s\n", "摘要 / digest", "records", "SQLite", "PostgreSQL")
	for _, d := range rep.Digests {
		fmt.Fprintf(out, "%-20s %8d  %-16s %-16s\n", d.What, d.Source.Count, d.Source.Hash[:16], d.Target.Hash[:16])
	}
	if bad := rep.Mismatches(); len(bad) > 0 {
		for _, m := range bad {
			fmt.Fprintln(os.Stderr, "不一致 / mismatch:", m)
		}
		return 1
	}
	fmt.Fprintf(out, "一致 / all counts and digests agree (%s)\n", time.Since(t0).Round(time.Millisecond))
	return 0
}
