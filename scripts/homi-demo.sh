#!/bin/sh
# The main job of homid on the built-in device model: one controller, two
# initiators at once (a direct and a mediated client), and what homid holds.
# Usage: scripts/homi-demo.sh [BUILD_DIR]
set -eu
build=${1:-build}
sock=/tmp/homid-demo-$$.sock
"$build/homid" --foreground --socket "$sock" --ctrl emu:1G --log-level warning &
homid=$!
trap 'kill $homid 2>/dev/null; wait $homid 2>/dev/null; rm -f "$sock"' EXIT
i=0
until "$build/aisio" homi status --socket "$sock" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "homid did not start" >&2; exit 1; }
	sleep 0.05
done
echo "== homid on emu:1G; a direct and a mediated client share the controller"
"$build/aisio" perf run --runtime 3 --qdepth 32 --iopattern randread --size 512M \
	"homi:$sock,mode=direct" > /tmp/homid-demo-direct.$$ 2>&1 &
d=$!
"$build/aisio" perf run --runtime 3 --qdepth 32 --iopattern randrw --offset 512M --size 512M \
	"homi:$sock,mode=mediated" > /tmp/homid-demo-mediated.$$ 2>&1 &
m=$!
sleep 2
echo "== aisio homi status (both clients running)"
"$build/aisio" homi status --socket "$sock"
rc=0
wait $d || rc=1
wait $m || rc=1
echo "== direct client (homi:...,mode=direct, randread on the first 512 MiB)"
cat /tmp/homid-demo-direct.$$
echo "== mediated client (homi:...,mode=mediated, randrw on the second 512 MiB)"
cat /tmp/homid-demo-mediated.$$
rm -f /tmp/homid-demo-direct.$$ /tmp/homid-demo-mediated.$$
echo "== aisio homi status (both gone: queues and memory reclaimed)"
"$build/aisio" homi status --socket "$sock"
exit $rc
