# shuixiao — the two front-door commands are `make demo` and `make test`.
GO      ?= go
BIN     := bin/shuixiao
WEBDIST := web/static/dist/index.html
GOFLAGS_BUILD := -trimpath

.PHONY: demo test build web web-deps go-test web-test browser-test lint bench bench-province clean

## demo: build everything and run the whole platform on this machine
demo: build
	./$(BIN) demo $(DEMO_ARGS)

## build: the console (Vite) and the single binary that embeds it
build: web
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN) ./cmd/shuixiao

web/node_modules/.package-lock.json: web/package-lock.json web/package.json
	cd web && npm ci --no-audit --no-fund

web-deps: web/node_modules/.package-lock.json

web: web-deps
	cd web && npm run build

## test: every test — Go (race detector), console unit tests, browser tests against a running demo
test: lint go-test web-test browser-test

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

go-test: web
	$(GO) test -race -timeout 20m ./...

web-test: web-deps
	cd web && npm test

browser-test: build
	web/tests/run.sh $(CURDIR)/$(BIN)

## bench: the performance figures the issues ask for
bench: build
	./$(BIN) bench ingest --meters 1000 --duration 60s
	scripts/bench-hydraulics.sh
	$(GO) test -run XXX -bench 'MonthRollup|TargetsCached' -benchtime 3x -timeout 30m ./internal/rollup/

## bench-province: the issue's month roll-up of 5,000 enterprises × 100 points from pre-totals (the
## store is built once, about an hour here, and kept under $TMPDIR; SHUIXIAO_BENCH_STORE moves it)
bench-province:
	$(GO) test -run XXX -bench 'ProvinceMonth' -benchtime 3x -timeout 180m ./internal/rollup/

clean:
	rm -rf bin web/static/dist test-artifacts
