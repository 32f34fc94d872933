#!/usr/bin/env bash
# Files into GPU memory without the kernel, through their extents, on XFS
# images made with mkfs.xfs -p from fil gen datasets:
#  - --path homi --mem gpu: homid serves the images (emu:...,file=IMG,gpu=0),
#    maps the files (FILE_MAP), and the commands on homid queues carry PRPs
#    into GPU memory registered with homid (GPU_MEM_REG);
#  - --path gpu-nvme: GPU threads walk the extent tables in GPU memory and
#    issue the reads on GPU queues of a device model holding the image: in
#    this process (emu:) or homid's (homi:), whose extent service maps the
#    files and which gives out the GPU queues.
# On a GPU host the models register the page-cached images with CUDA (by 4 MiB
# chunks here, so copies also split where they cross one) and copy straight
# from them into GPU memory; their reports say how many bytes went that way,
# and a run with gpu_direct=0 takes the staging path instead.
# The check kernel verifies every byte; a flipped byte in an image is found
# with its file and offset; bad input is refused with the reason.
# AISIO_FIL_GPU_MOCK=1: AISIO is built against tests/fil/cuda_mock: "GPU
# memory" is shared memory homid maps (MEM_REG instead of GPU_MEM_REG), so
# the homi --mem gpu path runs end to end with no GPU; gpu-nvme through homid
# runs its host side (homid's extents and GPU queues, the buffers registered
# with homid, the tables, which the stand-in's launch checks and then refuses,
# the cleanup; homid taking all back from a client killed in the launch).
# Without a GPU (and not the stand-in) it is skipped, unless
# AISIO_REQUIRE_GPU=1. Needs mkfs.xfs and homid ($HOMID, or next to AISIO).
# Usage: run_fil_gpu_nvme.sh AISIO
. "$(dirname "$0")/../host/cli_lib.sh"
MOCK=${AISIO_FIL_GPU_MOCK:-0}
HOMID=${HOMID:-$(dirname "$AISIO")/homid}
skip() {
	echo "$1: skipped"
	[ "${CI:-}" = true ] && [ "${2:-}" = must ] && exit 1
	exit 77
}
if [ "$MOCK" != 1 ] && ! { command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; }; then
	if [ "${AISIO_REQUIRE_GPU:-0}" = 1 ]; then
		echo "FAIL: AISIO_REQUIRE_GPU=1 but no usable GPU (nvidia-smi -L)"
		exit 1
	fi
	skip "no GPU"
fi
command -v mkfs.xfs >/dev/null || skip "mkfs.xfs not installed (xfsprogs)" must
[ -x "$HOMID" ] || skip "no homid at $HOMID (built with libinih)" must
CK=${CK_SIZE:-64M}
[ "$MOCK" = 1 ] && CK=8M
jget() { grep -o "\"$1\":[^,}]*" "$2" | head -1 | cut -d: -f2- | tr -d '"'; }
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf %03o $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# mkimg PROTO IMG SIZE: an XFS image filled from a prototype (one allocation group: see docs/fil.md)
mkimg() {
	rm -f "$2"
	truncate -s "$3" "$2" &&
		TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 mkfs.xfs -q -d agcount=1 -p "$1" "$2" 2>"$TDIR/mkfs.err" ||
		{ fail "mkfs.xfs -p $1: $(cat "$TDIR/mkfs.err")"; finish; }
}
# direct_bytes FILE: bytes copied straight between a registered store and GPU memory (AISIO_GPU_DMA_REPORT)
direct_bytes() {
	awk '/^aisio gpu dma:/ { for (i = 1; i < NF; i++) if ($i == "direct_bytes") s += $(i + 1) }
		END { printf "%.0f\n", s }' "$1"
}
units() { awk -v c="$2" 'NR > 5 { n += $1 ? int(($1 + c - 1) / c) : 1 } END { print n + 0 }' "$1/.aisio-fil"; }

homid_pid=
stop_homid() {
	if [ -n "$homid_pid" ]; then
		kill "$homid_pid" 2>/dev/null
		wait "$homid_pid" 2>/dev/null
		homid_pid=
	fi
}
# start_homid SPEC...: homid on these controllers (emu0, emu1, ...) on $SOCK; $MAXQ queues a client
start_homid() {
	local args=() c
	for c in "$@"; do args+=(--ctrl "$c"); done
	printf '[homid]\nsocket = %s\nlog_level = info\n[uid:%s]\nnamespace = 1\naccess = ro\ndirect = yes\nmax_queues = %s\nmax_depth = 1024\nmax_mem = 8G\n' \
		"$SOCK" "$(id -u)" "${MAXQ:-1024}" >"$TDIR/homid.conf"
	# the previous homid's log says "listening" too: gone before the new one starts
	rm -f "$TDIR/homid.log"
	AISIO_GPU_DMA_REPORT=1 AISIO_GPU_DIRECT_CHUNK=4M \
		"$HOMID" --foreground --config "$TDIR/homid.conf" --socket "$SOCK" "${args[@]}" >"$TDIR/homid.log" 2>&1 &
	homid_pid=$!
	for _ in $(seq 300); do
		grep -q "listening on $SOCK" "$TDIR/homid.log" 2>/dev/null && return 0
		kill -0 "$homid_pid" 2>/dev/null || break
		sleep 0.1
	done
	fail "homid did not come up: $(tail -5 "$TDIR/homid.log")"
	finish
}
trap 'stop_homid; rm -rf "$TDIR"' EXIT
SOCK=$TDIR/homid.sock
XFSTOOL=$(dirname "$HOMID")/aisio # the stand-in's tool has only fil
[ -x "$XFSTOOL" ] || XFSTOOL=$AISIO
# hstat KEY: KEY of homid's status (aisio homi status --json), for every client or controller
hstat() { "$XFSTOOL" homi status --socket "$SOCK" --json | grep -o "\"$1\": [^,}]*" | cut -d' ' -f2 | tr '\n' ' '; }

# run_ok NAME DS WANT_READS SERVED ARGS...: every byte checked, every unit read once, served by SERVED
run_ok() {
	local name=$1 ds=$2 units=$3 served=$4
	shift 4
	if ! "$AISIO" fil run --json "$@" >"$TDIR/$name.json" 2>"$TDIR/$name.err"; then
		fail "$name: aisio fil run $* failed: $(cat "$TDIR/$name.err")"
	elif [ "$(jget verify "$TDIR/$name.json")" != ok ] ||
		[ "$(jget bytes "$TDIR/$name.json")" != "$(sed -n 's/^bytes //p' "$ds/.aisio-fil")" ]; then
		fail "$name: not every byte verified: $(cat "$TDIR/$name.json")"
	elif ! grep -q "\"served\":{\"$served\":{\"reads\":$units," "$TDIR/$name.json"; then
		fail "$name: want $units reads served by $served: $(cat "$TDIR/$name.json")"
	else
		echo "ok: $name: $(cat "$TDIR/$name.json")"
	fi
}

"$AISIO" fil gen --profile small --files 300 --seed 3 --protofile "$TDIR/small.proto" "$TDIR/small" >/dev/null ||
	fail "gen small"
"$AISIO" fil gen --profile checkpoint --files 2 --size "$CK" --protofile "$TDIR/ck.proto" "$TDIR/ck" >/dev/null ||
	fail "gen checkpoint"
mkimg "$TDIR/small.proto" "$TDIR/small.img" 64M
mkimg "$TDIR/ck.proto" "$TDIR/ck.img" $((2 * ${CK%M} + 160))M
GPUOPT=,gpu=0
[ "$MOCK" = 1 ] && GPUOPT= # the stand-in registers shared memory: homid needs no GPU
start_homid "emu:64M,file=$TDIR/small.img$GPUOPT" "emu:$((2 * ${CK%M} + 160))M,file=$TDIR/ck.img$GPUOPT"
HS="homi:$SOCK,ctrl=emu0,mode=direct"
HC="homi:$SOCK,ctrl=emu1,mode=direct"

# extents from homid into host memory (the homi path on homi:)
run_ok homid_host "$TDIR/small" 300 "homi:homid/homi" --path homi "$HS"
# ... and into GPU memory: PRPs into the registered allocation, PRP lists for reads of 3 pages and more
run_ok small_gpu "$TDIR/small" 300 "homi-gpu:homid/homi" --path homi --mem gpu "$HS"
run_ok small_gpu_4k "$TDIR/small" "$(units "$TDIR/small" 4096)" "homi-gpu:homid/homi" \
	--path homi --mem gpu --chunk 4K --threads 2 --qd 8 "$HS"
run_ok ck_gpu "$TDIR/ck" "$(units "$TDIR/ck" 1048576)" "homi-gpu:homid/homi" --path homi --mem gpu --threads 3 "$HC"
run_ok ck_gpu_4m "$TDIR/ck" "$(units "$TDIR/ck" 4194304)" "homi-gpu:homid/homi" \
	--path homi --mem gpu --chunk 4M --qd 4 "$HC"
ckbytes=$(sed -n 's/^bytes //p' "$TDIR/ck/.aisio-fil")
cmds=$(jget cmds "$TDIR/ck_gpu_4m.json")
[ -n "$cmds" ] && [ "$cmds" -ge $((ckbytes / 1048576)) ] ||
	fail "ck_gpu_4m: 4 MiB units should take at least one command a MiB (MDTS 1 MiB): $cmds commands"
grep -q '"mem":"gpu"' "$TDIR/small_gpu.json" || fail "small_gpu: --mem gpu not reported: $(cat "$TDIR/small_gpu.json")"
if [ "$MOCK" = 1 ]; then
	for n in small_gpu ck_gpu; do
		grep -q "^mock: 1 GPU memory registrations with homid, 1 unregistrations" "$TDIR/$n.err" ||
			fail "$n: want the allocation registered with homid once and taken back: $(grep '^mock:' "$TDIR/$n.err")"
	done
	expect_fail 1 "the CUDA stand-in has no copy engines" fil run --path gpu-nvme "emu:64M,file=$TDIR/small.img"
	# gpu-nvme through homid, up to the launch: the stand-in checks the queues and the tables (every file
	# covered by its extents, on pages), then refuses; everything registered goes back (else exit 3)
	expect_fail 1 "the reading kernel: operation not supported" fil run --path gpu-nvme --threads 4 --qd 32 "$HS"
	grep -q "^mock: launch of 4 queues x 32 threads: 300 units, 300 files, [1-9][0-9]* extents" "$TDIR/err" ||
		fail "nvme_homi: the launch did not get the tables of 300 files on 4 queues: $(grep '^mock' "$TDIR/err")"
	grep -q "^mock: 1 GPU memory registrations with homid, 1 unregistrations" "$TDIR/err" ||
		fail "nvme_homi: want the dataset buffer registered with homid once and taken back: $(grep '^mock:' "$TDIR/err")"
	expect_fail 1 "the reading kernel: operation not supported" fil run --path gpu-nvme --threads 2 --qd 64 \
		--chunk 4M "$HC"
	grep -q "^mock: launch of 2 queues x 64 threads: $(units "$TDIR/ck" 4194304) units, 2 files" "$TDIR/err" ||
		fail "nvme_homi_ck: $(grep '^mock' "$TDIR/err")"
	[ "$(hstat qids_used)" = "0 0 " ] || fail "nvme_homi: homid still holds queues after the runs: $(hstat qids_used)"
	# killed in the middle of its kernel: homid takes its GPU queues and memory back
	MOCK_LAUNCH_HANG=1 "$AISIO" fil run --path gpu-nvme --threads 4 --qd 32 "$HS" >/dev/null 2>"$TDIR/hang.err" &
	cpid=$!
	for _ in $(seq 300); do
		grep -q "^mock: waiting to be killed" "$TDIR/hang.err" && break
		sleep 0.1
	done
	held=$(hstat queues)
	mem=$(hstat mem_regions)
	mem=${mem% }
	kill -9 $cpid
	wait $cpid 2>/dev/null
	if [ "$held" != "4 " ] || [ "${mem%% *}" -lt 2 ]; then
		fail "nvme_homi_kill: want one client with 4 queues and its buffers registered during the launch: queues '$held', memory regions '$mem': $(cat "$TDIR/hang.err")"
	else
		for _ in $(seq 50); do
			[ "$(hstat qids_used)" = "0 0 " ] && [ -z "$(hstat queues)" ] && break
			sleep 0.1
		done
		if [ "$(hstat qids_used)" = "0 0 " ] && [ -z "$(hstat queues)" ]; then
			echo "ok: nvme_homi_kill: 4 GPU queues and $mem memory regions held, all taken back after SIGKILL"
		else
			fail "nvme_homi_kill: homid still holds after the kill: qids_used $(hstat qids_used), clients' queues $(hstat queues)"
		fi
	fi
else
	# GPU-initiated: 2 queues of 64 threads, 8 of 32; 4 KiB chunks (every read at most a page)
	run_ok small_nvme "$TDIR/small" 300 "gpu-nvme:xfs-decoder/emu" --path gpu-nvme --threads 2 --qd 64 \
		"emu:64M,file=$TDIR/small.img"
	run_ok small_nvme_4k "$TDIR/small" "$(units "$TDIR/small" 4096)" "gpu-nvme:xfs-decoder/emu" \
		--path gpu-nvme --chunk 4K "emu:64M,file=$TDIR/small.img"
	AISIO_GPU_DMA_REPORT=1 AISIO_GPU_DIRECT_CHUNK=4M \
		run_ok ck_nvme "$TDIR/ck" "$(units "$TDIR/ck" 1048576)" "gpu-nvme:xfs-decoder/emu" --path gpu-nvme --threads 8 \
		--qd 32 "emu:$((2 * ${CK%M} + 160))M,file=$TDIR/ck.img"
	[ "$(jget gpu_threads "$TDIR/ck_nvme.json")" = 256 ] || fail "ck_nvme: want 256 GPU threads: $(cat "$TDIR/ck_nvme.json")"
	# the same through homid: its extents, its GPU queues, GPU memory registered with it; PRP lists
	# (reads of 3 pages and more) in shared memory registered with homid
	run_ok small_nvme_homi "$TDIR/small" 300 "gpu-nvme:homid/homid" --path gpu-nvme --threads 2 --qd 64 "$HS"
	run_ok small_nvme_homi_4k "$TDIR/small" "$(units "$TDIR/small" 4096)" "gpu-nvme:homid/homid" \
		--path gpu-nvme --chunk 4K "$HS"
	run_ok ck_nvme_homi "$TDIR/ck" "$(units "$TDIR/ck" 1048576)" "gpu-nvme:homid/homid" --path gpu-nvme \
		--threads 8 --qd 32 "$HC"
	[ "$(jget gpu_threads "$TDIR/ck_nvme_homi.json")" = 256 ] ||
		fail "ck_nvme_homi: want 256 GPU threads: $(cat "$TDIR/ck_nvme_homi.json")"
	[ "$(hstat qids_used)" = "0 0 " ] || fail "nvme_homi: homid still holds queues after the runs: $(hstat qids_used)"
	db=$(direct_bytes "$TDIR/ck_nvme.err")
	[ "$db" -ge "$(sed -n 's/^bytes //p' "$TDIR/ck/.aisio-fil")" ] ||
		fail "ck_nvme: want every byte straight from the registered image pages, $db B went direct: $(grep '^aisio' "$TDIR/ck_nvme.err")"
	# the same with the direct copies off: through the staging buffers, every byte still right
	AISIO_GPU_DMA_REPORT=1 run_ok ck_nvme_staged "$TDIR/ck" "$(units "$TDIR/ck" 1048576)" "gpu-nvme:xfs-decoder/emu" \
		--path gpu-nvme --threads 8 --qd 32 "emu:$((2 * ${CK%M} + 160))M,file=$TDIR/ck.img,gpu_direct=0"
	db=$(direct_bytes "$TDIR/ck_nvme_staged.err")
	[ "$db" = 0 ] || fail "ck_nvme_staged: gpu_direct=0 but $db B went direct"
	# homid's models report when they close
	stop_homid
	db=$(direct_bytes "$TDIR/homid.log")
	if [ "$db" -lt "$(sed -n 's/^bytes //p' "$TDIR/ck/.aisio-fil")" ]; then
		fail "homid: want the files copied straight from the registered image pages into GPU memory," \
			"$db B went direct: $(grep '^aisio' "$TDIR/homid.log")"
	else
		echo "ok: homid's models copied $db B straight from the registered images into GPU memory"
	fi
fi

# a flipped byte in the image: found on the GPU, with the file and the offset
victim=$(sed -n 16p "$TDIR/small/.aisio-fil" | cut -d' ' -f2)
devoff=$("$XFSTOOL" xfs bmap -r "$TDIR/small.img" "/$victim" | cut -f4 | cut -d, -f3)
if [ -z "$devoff" ]; then
	fail "no extent for /$victim"
else
	cp "$TDIR/small.img" "$TDIR/bad.img"
	flip "$TDIR/bad.img" $((devoff + 1234))
	stop_homid
	start_homid "emu:64M,file=$TDIR/bad.img$GPUOPT"
	expect_fail 1 "verify: $victim at offset 1234:" fil run --path homi --mem gpu "homi:$SOCK,mode=direct"
	[ "$MOCK" = 1 ] ||
		expect_fail 1 "verify: $victim at offset 1234:" fil run --path gpu-nvme "emu:64M,file=$TDIR/bad.img"
	[ "$MOCK" = 1 ] ||
		expect_fail 1 "verify: $victim at offset 1234:" fil run --path gpu-nvme "homi:$SOCK,mode=direct"
fi
# homid refuses: more GPU queues than a client may hold (its reason, nothing left behind: the stand-in
# exits 3 on a registration not taken back); a controller homid opened without a GPU
stop_homid
MAXQ=2 start_homid "emu:64M,file=$TDIR/small.img$GPUOPT" "emu:64M,file=$TDIR/small.img"
expect_fail 1 "4 GPU queues of 33 entries from homid: GPU queue 2 of 4" fil run --path gpu-nvme --threads 4 --qd 32 \
	"homi:$SOCK,ctrl=emu0,mode=direct"
grep -qF "may hold 2 queue pair(s)" "$TDIR/err" || fail "nvme_homi_maxq: homid's reason missing: $(cat "$TDIR/err")"
[ "$(hstat qids_used)" = "0 0 " ] || fail "nvme_homi_maxq: homid still holds queues: $(hstat qids_used)"
[ "$MOCK" = 1 ] || expect_fail 1 "was started without a GPU" fil run --path gpu-nvme --threads 2 --qd 32 \
	"homi:$SOCK,ctrl=emu1,mode=direct"
# bad input
expect_fail 2 "--path homi --mem gpu reads through homid: give a homi: URI" fil run --path homi --mem gpu "$TDIR/small.img"
expect_fail 2 "--path gpu-nvme runs against a device model holding the image" fil run --path gpu-nvme "$TDIR/small"
expect_fail 2 "--qd is GPU threads a queue, a multiple of 32" fil run --path gpu-nvme --qd 48 "emu:64M,file=$TDIR/small.img"
expect_fail 2 "--mem gpu does not go with --path io_uring" fil run --path io_uring --mem gpu "$TDIR/small"
finish
