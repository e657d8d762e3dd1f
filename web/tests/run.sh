#!/usr/bin/env bash
# Browser tests of the console (web/tests/e2e.test.mjs) against a real
# `shuixiao demo` started here with a temporary data dir and free ports.
#
#   web/tests/run.sh BIN          start BIN demo, test it, stop it
#   SHUIXIAO_URL=… SHUIXIAO_TOKEN=… web/tests/run.sh
#                                 test a server that is already running
#   TEST_PATTERN='water-efficiency' web/tests/run.sh BIN
#                                 only the tests whose names match
#
# Installs nothing. Needs: Node.js, `npm ci` done in web/ (playwright-core),
# Chromium at /usr/bin/chromium (or $CHROMIUM), and a CJK font such as
# fonts-wqy-microhei so that Chinese labels render in the screenshots.
# Screenshots and the demo's log go to test-artifacts/console/ at the
# repository root.
set -euo pipefail

web="$(cd "$(dirname "$0")/.." && pwd)"
repo="$(cd "$web/.." && pwd)"
artifacts="${ARTIFACTS:-$repo/test-artifacts/console}"
mkdir -p "$artifacts"
export ARTIFACTS="$artifacts"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

die() { echo "web/tests/run.sh: $*" >&2; exit 1; }

[ -x "$CHROMIUM" ] || die "no Chromium at $CHROMIUM (apt-get install chromium)"
[ -d "$web/node_modules/playwright-core" ] || die "playwright-core missing: run 'npm ci' in web/"
command -v fc-list >/dev/null && ! fc-list :lang=zh | grep -q . &&
  echo "web/tests/run.sh: warning: no Chinese font installed (apt-get install fonts-wqy-microhei); screenshots will show boxes" >&2

free_port() { node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

demo_pid=""
data=""
cleanup() {
  if [ -n "$demo_pid" ] && kill -0 "$demo_pid" 2>/dev/null; then
    kill "$demo_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$demo_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$demo_pid" 2>/dev/null || true
  fi
  if [ -n "$data" ]; then rm -rf "$data"; fi
}
trap cleanup EXIT

if [ -z "${SHUIXIAO_URL:-}" ]; then
  bin="${1:-${SHUIXIAO_BIN:-}}"
  [ -n "$bin" ] || die "usage: $0 PATH/TO/shuixiao (or set SHUIXIAO_URL and SHUIXIAO_TOKEN)"
  [ -x "$bin" ] || die "$bin is not an executable"
  bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
  export SHUIXIAO_BIN="$bin"
  data="$(mktemp -d "${TMPDIR:-/tmp}/shuixiao-browser.XXXXXX")"
  http_port="$(free_port)"
  mqtt_port="$(free_port)"
  while [ "$mqtt_port" = "$http_port" ]; do mqtt_port="$(free_port)"; done
  export SHUIXIAO_URL="http://127.0.0.1:$http_port"
  echo "web/tests/run.sh: starting $bin demo on $SHUIXIAO_URL (MQTT 127.0.0.1:$mqtt_port, data $data)"
  # The park network runs a fast clock so that its leak monitor calibrates
  # (3 network days, ~3 min) and alarms the injected pipe leak during the run.
  # A failed RO permeate seal cuts the product rinse off the reuse water.
  # The enterprises' production runs a model day a minute, so that the demo's
  # quota review (every two minutes, over whole model days) opens its
  # retrofit cases within the run.
  # shellcheck disable=SC2086
  "$bin" demo --data "$data" --http "127.0.0.1:$http_port" --mqtt "127.0.0.1:$mqtt_port" ${BROWSER_DEMO_ARGS:---speed 1440 --park-speed 1440 --inject pipe-leak --inject ro-seal} >"$artifacts/demo.log" 2>&1 &
  export EXPECT_LEAK=1 EXPECT_RO_SEAL=1
  demo_pid=$!

  # Ready: the API answers, the admin token is written, and the simulator's
  # readings are in the ledger (a published checkpoint covers some).
  deadline=$((SECONDS + ${READY_TIMEOUT:-120}))
  until [ -s "$data/admin.token" ] && curl -fsS "$SHUIXIAO_URL/api/v1/health" >/dev/null 2>&1; do
    kill -0 "$demo_pid" 2>/dev/null || { tail -30 "$artifacts/demo.log" >&2; die "demo exited"; }
    [ $SECONDS -lt $deadline ] || { tail -30 "$artifacts/demo.log" >&2; die "demo not ready in time"; }
    sleep 0.3
  done
  export SHUIXIAO_TOKEN="$(tr -d '\n' <"$data/admin.token")"
  # The park network's instruments add ~150 readings/s: 5000 entries still
  # leave the enterprises ~25 s of readings.
  min_entries="${MIN_ENTRIES:-5000}"
  until size="$(curl -fsS -H "Authorization: Bearer $SHUIXIAO_TOKEN" "$SHUIXIAO_URL/api/v1/ledger/status" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).size||0))')" &&
    [ "$size" -ge "$min_entries" ]; do
    kill -0 "$demo_pid" 2>/dev/null || { tail -30 "$artifacts/demo.log" >&2; die "demo exited"; }
    [ $SECONDS -lt $deadline ] || { tail -30 "$artifacts/demo.log" >&2; die "ledger has ${size:-?} entries, want $min_entries"; }
    sleep 0.5
  done
  echo "web/tests/run.sh: demo ready, ledger size $size"
fi
[ -n "${SHUIXIAO_TOKEN:-}" ] || die "SHUIXIAO_TOKEN not set"

cd "$web"
status=0
# Node 20 applies --test-timeout to the test file as a whole as well, and the
# suite waits minutes for the demo's leak alarm, quota review and roll-up:
# the bound is the whole run's; the tests that wait set their own.
node --test --test-reporter=spec --test-timeout="${TEST_TIMEOUT:-1800000}" ${TEST_PATTERN:+--test-name-pattern="$TEST_PATTERN"} tests/e2e.test.mjs || status=$?
echo "web/tests/run.sh: screenshots in $artifacts"
exit $status
