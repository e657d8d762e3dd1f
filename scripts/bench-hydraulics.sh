#!/usr/bin/env bash
# bench-hydraulics.sh — whole-EPS hydraulic run time of shuixiao vs EPANET 2.3.5
# on L-TOWN (168 h), Net6 (96 h) and BWSN_Network_2 (to its halt at 27 h).
#
# Usage: scripts/bench-hydraulics.sh [ROUNDS]        (default 4 rounds)
#
# shuixiao is timed with `shuixiao hydraulics NET.inp --time` (best of 3
# runs per call, file parsing excluded), ROUNDS calls per network, so the
# minimum is taken over 3·ROUNDS ≥ 12 runs.
#
# EPANET_RUNNER, if set, is a command that runs EPANET 2.3.5 on the .inp
# file given as its last argument. If it prints "solve_s=<seconds>" that
# figure is used (e.g. a small driver around EN_openH/EN_initH/EN_runH/
# EN_nextH that reports the minimum of 10 runs); otherwise the wall time
# of the whole command is measured (parsing and report writing included,
# which favours shuixiao less than it seems: EPANET's CLI also writes its
# report). Each round runs shuixiao then EPANET back to back, and the
# ratio is min(shuixiao) / min(EPANET). EPANET itself is not part of this
# repository; build it from its public source elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-4}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/shuixiao
go build -o "$bin" ./cmd/shuixiao

# The networks are in testdata/networks, the large ones gzip-compressed
# (testdata/README.md): give both tools plain copies.
data=$tmp/networks
mkdir "$data"
for net in L-TOWN Net6 BWSN_Network_2; do
	src=testdata/networks/$net.inp
	if [[ -f $src ]]; then
		cp "$src" "$data/"
	elif [[ -f $src.gz ]]; then
		gzip -dc "$src.gz" >"$data/$net.inp"
	else
		echo "bench-hydraulics: $src(.gz) missing" >&2
		exit 1
	fi
done

# EPANET 2.3.5 figures measured on the project's reference machine
# (shared/reference/hydraulics.md §4.1, min of 20 runs).
declare -A ref=([L-TOWN]=0.175 [Net6]=0.742 [BWSN_Network_2]=0.347)

min() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b + 0 < a + 0) print b; else print a }'; }

ours_time() { "$bin" hydraulics "$1" --time | awk -F'[= ]' '/^solve_s=/ { print $2 }'; }

epanet_time() {
	local out start end
	start=$(date +%s.%N)
	out=$($EPANET_RUNNER "$1" 2>&1) || true
	end=$(date +%s.%N)
	if [[ $out =~ solve_s=([0-9.eE+-]+) ]]; then
		echo "${BASH_REMATCH[1]}"
	else
		awk -v s="$start" -v e="$end" 'BEGIN { printf "%.6f\n", e - s }'
	fi
}

printf '%-16s %12s %12s %8s   %s\n' network shuixiao_s epanet_s ratio note
for net in L-TOWN Net6 BWSN_Network_2; do
	inp=$data/$net.inp
	best_ours="" best_epanet=""
	for ((r = 0; r < rounds; r++)); do
		best_ours=$(min "$best_ours" "$(ours_time "$inp")")
		if [[ -n ${EPANET_RUNNER:-} ]]; then
			best_epanet=$(min "$best_epanet" "$(epanet_time "$inp")")
		fi
	done
	if [[ -n ${EPANET_RUNNER:-} ]]; then
		ratio=$(awk -v a="$best_ours" -v b="$best_epanet" 'BEGIN { printf "%.2f", a / b }')
		printf '%-16s %12s %12s %8s   %s\n' "$net" "$best_ours" "$best_epanet" "$ratio" "measured back to back on this machine"
	else
		ratio=$(awk -v a="$best_ours" -v b="${ref[$net]}" 'BEGIN { printf "%.2f", a / b }')
		printf '%-16s %12s %12s %8s   %s\n' "$net" "$best_ours" "${ref[$net]}" "($ratio)" \
			"EPANET figure from hydraulics.md, other machine/time: ratio indicative only (set EPANET_RUNNER)"
	fi
done
