#!/usr/bin/env bash
# What the crash record costs a client: homid's provisioning latency
# (bench/homi/homilat provision: aisio_dev_open of homi: to the first
# completion) on the device model, homid started plainly and under the test
# supervisor tests/sd_sup (playing systemd: $NOTIFY_SOCKET, a descriptor
# store), where homid rewrites its crash record after every request.
# Interleaved rounds, CYCLES cycles each, direct mode.
#
#   bench/homi/run-store.sh [BUILD_DIR]      (default: build)
#
# Environment: ROUNDS (3), CYCLES (200). Prints the homilat lines per round.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
rounds=${ROUNDS:-3}
cycles=${CYCLES:-200}
tmp=$(mktemp -d)
sock=$tmp/homid.sock
pid=
stop() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		pid=
	fi
}
trap 'stop; rm -rf "$tmp"' EXIT
ninja -C "$build" aisio homid tests/sd_sup bench/homi/homilat >/dev/null

run() { # run LABEL [WRAPPER...]
	local label=$1
	shift
	rm -f "$sock"
	"$@" "$build/homid" --foreground --socket "$sock" --ctrl emu:64M 2>"$tmp/homid.log" &
	pid=$!
	for _ in $(seq 600); do
		"$build/aisio" homi status --socket "$sock" >/dev/null 2>&1 && break
		sleep 0.05
	done
	"$build/bench/homi/homilat" provision "$sock" "$cycles" direct | sed "s/^/$label /"
	stop
}
echo "# $(date -u +%F) $(uname -m) $(nproc) CPUs, $(uname -r); $cycles cycles, direct, emu:64M"
for r in $(seq "$rounds"); do
	run "round $r plain:"
	mkdir -p "$tmp/sup"
	run "round $r store:" "$build/tests/sd_sup" --dir "$tmp/sup" --
done
