#!/usr/bin/env bash
# aisio fil run --path gpu on a GPU host: small files and large files land in
# GPU memory through staging buffers (--xfer stage) and through registered
# page-cache pages (--xfer map); staged bytes copied by the copy engine or,
# with --stage-copy kernel, by a persistent GPU kernel the staging threads
# publish slots to; the check kernel verifies every byte on the GPU, and
# finds a corrupted byte with its file and offset.
# Skipped without a GPU, unless AISIO_REQUIRE_GPU=1 (then it fails).
# AISIO_FIL_GPU_MOCK=1: AISIO is built against tests/fil/cuda_mock (the CUDA
# runtime on the CPU), which checks the host side of the path with no GPU.
# Usage: run_fil_gpu.sh AISIO
. "$(dirname "$0")/../host/cli_lib.sh"
CK=${CK_SIZE:-96M}
[ "${AISIO_FIL_GPU_MOCK:-0}" = 1 ] && CK=8M
if [ "${AISIO_FIL_GPU_MOCK:-0}" != 1 ] && ! { command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; }; then
	if [ "${AISIO_REQUIRE_GPU:-0}" = 1 ]; then
		echo "FAIL: AISIO_REQUIRE_GPU=1 but no usable GPU (nvidia-smi -L)"
		exit 1
	fi
	echo "no GPU: skipped"
	exit 77
fi
jget() { grep -o "\"$1\":[^,}]*" "$2" | head -1 | cut -d: -f2- | tr -d '"'; }
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf %03o $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
gpu_ok() { # gpu_ok NAME DIR ARGS...
	local name=$1 dir=$2
	shift 2
	if ! "$AISIO" fil run --path gpu --json "$@" "$dir" >"$TDIR/$name.json" 2>"$TDIR/$name.err"; then
		fail "$name: fil run --path gpu $* failed: $(cat "$TDIR/$name.err")"
	elif [ "$(jget verify "$TDIR/$name.json")" != ok ] ||
		[ "$(jget bytes "$TDIR/$name.json")" != "$(sed -n 's/^bytes //p' "$dir/.aisio-fil")" ]; then
		fail "$name: not every byte verified: $(cat "$TDIR/$name.json")"
	else
		echo "ok: $name: $(cat "$TDIR/$name.json")"
	fi
}
"$AISIO" fil gen --profile small --files "${NSMALL:-2000}" "$TDIR/small" >/dev/null || fail "gen small"
"$AISIO" fil gen --profile imagenet --files "${NIMAGENET:-500}" "$TDIR/in" >/dev/null || fail "gen imagenet"
"$AISIO" fil gen --profile checkpoint --files 2 --size "$CK" "$TDIR/ck" >/dev/null || fail "gen checkpoint"
gpu_ok small_stage "$TDIR/small"
gpu_ok small_stage_1t "$TDIR/small" --threads 1 --qd 2 --stage 64K --chunk 4K
gpu_ok in_stage "$TDIR/in" --chunk 64K
gpu_ok ck_stage "$TDIR/ck" --chunk 1M
gpu_ok ck_stage_big "$TDIR/ck" --chunk 16M --stage 32M --threads 2
gpu_ok ck_map "$TDIR/ck" --xfer map --chunk 8M
gpu_ok in_map "$TDIR/in" --xfer map --chunk 64K
gpu_ok ck_mix "$TDIR/ck" --xfer mix --chunk 256K --stage 1M --threads 4
# pieces: one registration serves many chunks (4 MiB pieces of 1 MiB chunks; whole files; pieces
# cut at file ends over files of many sizes); mix with 3 of 4 threads mapping
gpu_ok ck_map_reg "$TDIR/ck" --xfer map --chunk 1M --reg 4M --threads 2
gpu_ok ck_map_whole "$TDIR/ck" --xfer map --chunk 1M --reg 1G --threads 3 --qd 2
gpu_ok in_map_reg "$TDIR/in" --xfer map --chunk 64K --reg 256K --threads 3
gpu_ok ck_mix_3m "$TDIR/ck" --xfer mix --chunk 1M --reg 8M --stage 2M --threads 4 --map-threads 3
# --pipe: one registrar registers 4 MiB pieces (--qd ahead) and copies each in one copy, a
# releaser unregisters; mix: two staging threads take chunks from the same cursor
gpu_ok ck_map_pipe "$TDIR/ck" --xfer map --pipe --chunk 1M --reg 4M --qd 2
gpu_ok ck_mix_pipe "$TDIR/ck" --xfer mix --pipe --chunk 1M --reg 4M --stage 2M --threads 3
gpu_ok in_mix_pipe "$TDIR/in" --xfer mix --pipe --chunk 64K --reg 256K --stage 256K --threads 3
gpu_ok small_map_pipe "$TDIR/small" --xfer map --pipe --chunk 64K --reg 1M --qd 3
# the releaser unregistering 3 pieces in a row (of at most 4 registered)
gpu_ok in_map_pipe_batch "$TDIR/in" --xfer map --pipe --chunk 64K --reg 1M --qd 4 --unreg-batch 3
grep -q '"unreg_batch":3' "$TDIR/in_map_pipe_batch.json" || fail "--unreg-batch 3 not reported: $(cat "$TDIR/in_map_pipe_batch.json")"
ckbytes=$(sed -n 's/^bytes //p' "$TDIR/ck/.aisio-fil")
grep -q "\"pipe\":1" "$TDIR/ck_map_pipe.json" && grep -q '"threads":1,' "$TDIR/ck_map_pipe.json" &&
	grep -q "\"gpu-map\":{\"reads\":$((ckbytes / 1048576)),\"bytes\":$ckbytes}" "$TDIR/ck_map_pipe.json" ||
	fail "map --pipe: every 1 MiB chunk should be a read served by registered pages: $(cat "$TDIR/ck_map_pipe.json")"
# mix --pipe: the registrar and the staging threads claim from one cursor, every unit once
units() { awk -v c="$2" 'NR > 5 { n += $1 ? int(($1 + c - 1) / c) : 1 } END { print n + 0 }' "$1/.aisio-fil"; }
reads() { grep -o "\"$1\":{\"reads\":[0-9]*" "$2" | grep -o '[0-9]*$' || echo 0; }
for c in "ck_mix_pipe ck 1048576" "in_mix_pipe in 65536"; do
	set -- $c
	got=$(($(reads gpu-stage "$TDIR/$1.json") + $(reads gpu-map "$TDIR/$1.json")))
	[ "$got" = "$(units "$TDIR/$2" "$3")" ] && ! grep -q fallback "$TDIR/$1.json" ||
		fail "$1: want $(units "$TDIR/$2" "$3") reads (staged + mapped), none a fallback: $(cat "$TDIR/$1.json")"
done
for n in ck_map_reg ck_map_whole; do
	grep -q "\"gpu-map\":{\"reads\":$((ckbytes / 1048576)),\"bytes\":$ckbytes}" "$TDIR/$n.json" ||
		fail "$n: every 1 MiB chunk should be one read served by registered pages: $(cat "$TDIR/$n.json")"
done
# --stage-copy kernel: staging threads publish slots of mapped pinned memory to a persistent copy
# kernel (one block a slot); small files end anywhere (tails not a multiple of 16 bytes); --qd 2:
# two slots a thread, each published many times; mix and mix --pipe beside mapping threads
gpu_ok ck_stage_kern "$TDIR/ck" --chunk 1M --stage 4M --threads 2 --stage-copy kernel
gpu_ok small_stage_kern "$TDIR/small" --chunk 64K --stage 256K --threads 3 --stage-copy kernel
gpu_ok in_stage_kern "$TDIR/in" --chunk 64K --stage 128K --threads 2 --qd 2 --stage-copy kernel
gpu_ok in_mix_kern "$TDIR/in" --xfer mix --chunk 64K --reg 256K --stage 256K --threads 4 --stage-copy kernel
gpu_ok ck_mix_pipe_kern "$TDIR/ck" --xfer mix --pipe --chunk 1M --reg 4M --stage 2M --threads 3 --qd 8 --unreg-batch 7 --stage-copy kernel
gpu_ok in_mix_pipe_kern "$TDIR/in" --xfer mix --pipe --chunk 64K --reg 256K --stage 256K --threads 3 --stage-copy kernel
for c in "ck_stage_kern ck 1048576 8" "small_stage_kern small 65536 12" "in_stage_kern in 65536 4"; do
	set -- $c
	grep -q "\"stage_copy\":\"kernel\",\"kernel_slots\":$4," "$TDIR/$1.json" &&
		grep -q "\"served\":{\"gpu-stage-kernel\":{\"reads\":$(units "$TDIR/$2" "$3"),\"bytes\":$(sed -n 's/^bytes //p' "$TDIR/$2/.aisio-fil")}}" "$TDIR/$1.json" ||
		fail "$1: want $4 kernel slots and every unit a read served by the copy kernel, nothing else: $(cat "$TDIR/$1.json")"
done
for c in "in_mix_kern in 65536" "ck_mix_pipe_kern ck 1048576" "in_mix_pipe_kern in 65536"; do
	set -- $c
	got=$(($(reads gpu-stage-kernel "$TDIR/$1.json") + $(reads gpu-map "$TDIR/$1.json")))
	[ "$got" = "$(units "$TDIR/$2" "$3")" ] && ! grep -q 'fallback\|"gpu-stage":' "$TDIR/$1.json" ||
		fail "$1: want $(units "$TDIR/$2" "$3") reads (kernel-copied + mapped), none a fallback or a copy-engine stage: $(cat "$TDIR/$1.json")"
done
# how the units split between the registrar and the stagers depends on timing; the slots do not
grep -q '"kernel_slots":8,' "$TDIR/ck_mix_pipe_kern.json" ||
	fail "mix --pipe --stage-copy kernel: want two staging threads of 4 slots: $(cat "$TDIR/ck_mix_pipe_kern.json")"
grep -q '"map_threads":3' "$TDIR/ck_mix_3m.json" || fail "mix --map-threads 3 not reported: $(cat "$TDIR/ck_mix_3m.json")"
# which threads map is set exactly: none of them, or all
gpu_ok ck_mix_0m "$TDIR/ck" --xfer mix --chunk 1M --stage 2M --threads 2 --map-threads 0
gpu_ok ck_mix_2m "$TDIR/ck" --xfer mix --chunk 1M --stage 2M --threads 2 --map-threads 2
grep -q '"gpu-map"' "$TDIR/ck_mix_0m.json" && fail "mix --map-threads 0: a read was mapped: $(cat "$TDIR/ck_mix_0m.json")"
grep -q "\"gpu-stage\":{\"reads\":0,\"bytes\":0},\"gpu-map\":{\"reads\":$((ckbytes / 1048576))," "$TDIR/ck_mix_2m.json" ||
	fail "mix --map-threads 2 of 2: every read should be mapped: $(cat "$TDIR/ck_mix_2m.json")"
gpu_ok small_mix "$TDIR/small" --xfer mix --chunk 64K --stage 64K --threads 4
grep -q '"gpu-map":{"reads":[1-9]' "$TDIR/small_mix.json" && grep -q '"gpu-stage":{"reads":[1-9]' "$TDIR/small_mix.json" ||
	fail "mix: both ways should have served reads: $(cat "$TDIR/small_mix.json")"
grep -q '"gpu-map"' "$TDIR/ck_map.json" || fail "map: no read served by registered pages: $(cat "$TDIR/ck_map.json")"
grep -q 'fallback' "$TDIR/ck_map.json" && fail "map: a fallback on this GPU: $(cat "$TDIR/ck_map.json")"
if [ "${AISIO_FIL_GPU_MOCK:-0}" = 1 ]; then
	# a refused registration: the unit goes through staging, counted and said
	MOCK_REG_FAIL=1 gpu_ok ck_map_refused "$TDIR/ck" --xfer map --chunk 1M
	grep -q '"gpu-stage-fallback":{"reads":[1-9]' "$TDIR/ck_map_refused.json" &&
		grep -q '"note":"cudaHostRegister of page-cache pages refused' "$TDIR/ck_map_refused.json" ||
		fail "map: refused registrations not counted and said: $(cat "$TDIR/ck_map_refused.json")"
	MOCK_REG_FAIL=1 gpu_ok ck_map_reg_refused "$TDIR/ck" --xfer map --chunk 1M --reg 4M --threads 1
	grep -q '"gpu-stage-fallback":{"reads":8,' "$TDIR/ck_map_reg_refused.json" &&
		grep -q '"gpu-map":{"reads":8,' "$TDIR/ck_map_reg_refused.json" ||
		fail "map: every other 4 MiB piece refused should give 8 fallback and 8 mapped reads: $(cat "$TDIR/ck_map_reg_refused.json")"
	# the stand-in counts registrations and where each copy's source lies
	for c in "ck_map_reg 4 16" "ck_map_whole 2 16" "ck_map 2 2"; do
		set -- $c
		grep -q "^mock: $2 registrations, $2 unregistrations, $3 copies ($3 from registered pages, 0 from pinned memory, 0 from pageable memory)" "$TDIR/$1.err" ||
			fail "$1: want $2 registrations serving $3 copies, none from pageable memory: $(grep '^mock:' "$TDIR/$1.err")"
	done
	# --pipe: one copy a piece (4 pieces of 4 MiB), every piece unregistered, never more than
	# --qd registered at once; mix: the pieces the registrar took are each one copy
	grep -q "^mock: 4 registrations, 4 unregistrations, 4 copies (4 from registered pages, 0 from pinned memory, 0 from pageable memory); at most [12] registered at once" "$TDIR/ck_map_pipe.err" ||
		fail "map --pipe: want 4 pieces, each one copy, at most 2 registered at once: $(grep '^mock:' "$TDIR/ck_map_pipe.err")"
	grep -q "^mock: .*at most [1234] registered at once" "$TDIR/in_map_pipe_batch.err" ||
		fail "map --pipe --qd 4 --unreg-batch 3: more pieces registered at once: $(grep '^mock:' "$TDIR/in_map_pipe_batch.err")"
	grep -q "^mock: .*at most [123] registered at once" "$TDIR/small_map_pipe.err" ||
		fail "map --pipe --qd 3: more pieces registered at once: $(grep '^mock:' "$TDIR/small_map_pipe.err")"
	for n in ck_mix_pipe in_mix_pipe small_map_pipe in_map_pipe_batch; do
		regs=$(sed -n 's/^mock: \([0-9]*\) registrations.*/\1/p' "$TDIR/$n.err")
		grep -q "^mock: $regs registrations, $regs unregistrations, [0-9]* copies ($regs from registered pages, [0-9]* from pinned memory, 0 from pageable memory)" "$TDIR/$n.err" ||
			fail "$n: want one copy per registered piece, none from pageable memory: $(grep '^mock:' "$TDIR/$n.err")"
	done
	# copies that take their time: the registrar runs --qd pieces ahead of the releaser, no more
	MOCK_EVENT_WAIT_US=20000 gpu_ok ck_map_pipe_slow "$TDIR/ck" --xfer map --pipe --chunk 1M --reg 2M --qd 3
	grep -q "^mock: 8 registrations, 8 unregistrations, 8 copies .* at most 3 registered at once" "$TDIR/ck_map_pipe_slow.err" ||
		fail "map --pipe --qd 3, slow copies: want 3 pieces registered ahead, no more: $(grep '^mock:' "$TDIR/ck_map_pipe_slow.err")"
	MOCK_REG_FAIL=1 gpu_ok ck_map_pipe_refused "$TDIR/ck" --xfer map --pipe --chunk 1M --reg 4M
	grep -q '"gpu-stage-fallback":{"reads":8,' "$TDIR/ck_map_pipe_refused.json" &&
		grep -q '"gpu-map":{"reads":8,' "$TDIR/ck_map_pipe_refused.json" &&
		grep -q "^mock: 2 registrations, 2 unregistrations, 10 copies (2 from registered pages, 8 from pinned memory, 0 from pageable" "$TDIR/ck_map_pipe_refused.err" ||
		fail "map --pipe: every other piece refused should give 8 staged and 8 mapped reads: $(cat "$TDIR/ck_map_pipe_refused.json"; grep '^mock:' "$TDIR/ck_map_pipe_refused.err")"
	grep -q " 0 from pageable memory" "$TDIR/in_map_reg.err" && grep -q " 0 from pageable memory" "$TDIR/ck_mix_3m.err" ||
		fail "map: a copy from pageable memory: $(grep '^mock:' "$TDIR/in_map_reg.err" "$TDIR/ck_mix_3m.err")"
	# --stage-copy kernel: the stand-in's copy kernel (a thread keeping the blocks' protocol, which
	# aborts on a slot published again before it was handed back) copied every staged byte (and
	# the padding of under 256 bytes after a file that a slot spans), no staging thread called
	# cudaMemcpyAsync, and every block was told to end
	for n in ck_stage_kern small_stage_kern in_stage_kern in_mix_kern ck_mix_pipe_kern in_mix_pipe_kern; do
		kb=$(grep -o '"gpu-stage-kernel":{"reads":[0-9]*,"bytes":[0-9]*' "$TDIR/$n.json" | grep -o '[0-9]*$')
		ks=$(grep -o '"kernel_slots":[0-9]*' "$TDIR/$n.json" | grep -o '[0-9]*$')
		nf=$(grep -o '"files":[0-9]*' "$TDIR/$n.json" | grep -o '[0-9]*$')
		cb=$(sed -n "s/^mock: copy kernel: $ks slots, [0-9]* publications copied (\([0-9]*\) bytes), $ks slots told to end/\1/p" "$TDIR/$n.err")
		kb=${kb:-0}; [ -n "$cb" ] && [ "$cb" -ge "$kb" ] && [ "$cb" -le $((kb + 256 * nf)) ] ||
			fail "$n: want the copy kernel to have copied ${kb:-?} bytes (and padding) in $ks slots and ended: $(grep '^mock:' "$TDIR/$n.err")"
	done
	for n in ck_stage_kern small_stage_kern in_stage_kern; do
		grep -q "^mock: 0 registrations, 0 unregistrations, 0 copies" "$TDIR/$n.err" ||
			fail "$n: a staging thread called cudaMemcpyAsync: $(grep '^mock:' "$TDIR/$n.err")"
	done
	# 64 KiB slots for 2 files of 8 MiB: each slot published many times
	pubs=$(sed -n 's/^mock: copy kernel: [0-9]* slots, \([0-9]*\) publications.*/\1/p' "$TDIR/in_stage_kern.err")
	[ "${pubs:-0}" -ge 8 ] || fail "in_stage_kern: want slots reused, $(grep '^mock: copy' "$TDIR/in_stage_kern.err")"
	# a GPU too small for a resident block a slot: refused before anything is read
	MOCK_KCOPY_BLOCKS=7 expect_fail 1 "2 staging threads x 4 slots = 8, and this GPU holds 7 at once" \
		fil run --path gpu --threads 2 --stage-copy kernel "$TDIR/ck"
	# a stuck GPU: the staging threads give up after a bounded wait, say so, and the kernel is told to end
	t0=$(date +%s)
	MOCK_KCOPY_STALL=1 expect_fail 1 "the copy kernel did not hand back a staging slot" \
		fil run --path gpu --threads 2 --chunk 1M --stage 1M --stage-copy kernel "$TDIR/ck"
	grep -q "^mock: copy kernel: 8 slots, 0 publications copied (0 bytes), 8 slots told to end" "$TDIR/err" &&
		[ $(($(date +%s) - t0)) -lt 30 ] ||
		fail "stuck copy kernel: want every block told to end within the bound: $(grep '^mock:' "$TDIR/err")"
	# a kernel that faults: a waiting staging thread asks its stream and says why, well before the bound
	t0=$(date +%s)
	MOCK_KCOPY_FAULT=1 expect_fail 1 "the copy kernel failed: an illegal memory access" \
		fil run --path gpu --threads 2 --chunk 1M --stage 1M --stage-copy kernel "$TDIR/ck"
	[ $(($(date +%s) - t0)) -lt 5 ] || fail "faulted copy kernel: took $(($(date +%s) - t0)) s to say so"
fi
# bad options for pieces and mix
expect_fail 2 "--reg (524288) must be at least --chunk (1048576)" fil run --path gpu --xfer map --reg 512K "$TDIR/ck"
expect_fail 2 "--reg must be a multiple of 4 KiB" fil run --path gpu --xfer map --reg 5000 "$TDIR/ck"
expect_fail 2 "--map-threads (5) is more than --threads (4)" fil run --path gpu --xfer mix --map-threads 5 "$TDIR/ck"
expect_fail 2 "--map-threads goes with --path gpu --xfer mix" fil run --path gpu --map-threads 1 "$TDIR/ck"
expect_fail 2 "--pipe goes with --path gpu --xfer map or mix" fil run --path gpu --pipe "$TDIR/ck"
expect_fail 2 "--pipe goes with --path gpu --xfer map or mix" fil run --path posix --pipe "$TDIR/ck"
expect_fail 2 "--pipe maps with one registrar thread: leave out --map-threads" fil run --path gpu --xfer mix --pipe --map-threads 2 "$TDIR/ck"
expect_fail 2 "--threads must be 1" fil run --path gpu --xfer map --pipe --threads 2 "$TDIR/ck"
expect_fail 2 "--unreg-batch goes with --pipe" fil run --path gpu --xfer map --unreg-batch 2 "$TDIR/ck"
expect_fail 2 "--stage-copy must be ce or kernel (got 'dma')" fil run --path gpu --stage-copy dma "$TDIR/ck"
expect_fail 2 "--stage-copy goes with --path gpu --xfer stage or mix" fil run --path gpu --xfer map --stage-copy kernel "$TDIR/ck"
expect_fail 2 "--stage-copy goes with --path gpu --xfer stage or mix" fil run --path posix --stage-copy ce "$TDIR/ck"
expect_fail 2 "--unreg-batch (4) must be less than --qd (4)" fil run --path gpu --xfer map --pipe --unreg-batch 4 "$TDIR/ck"
# the registration probe: a line per piece size and thread count, then the three copies and
# the zero-copy kernel
ckfile=$TDIR/ck/$(sed -n 7p "$TDIR/ck/.aisio-fil" | cut -d' ' -f2)
if "$AISIO" fil regprobe --pieces 1M,4M --threads 1,2 --json "$ckfile" >"$TDIR/probe.json" 2>"$TDIR/probe.err" &&
	[ "$(grep -c '"probe":"register","piece":[14][0-9]*,"threads":[12],"populate":0' "$TDIR/probe.json")" = 4 ] &&
	[ "$(grep -c '"probe":"copy"' "$TDIR/probe.json")" = 4 ] &&
	grep -q '"from":"file pages by GPU threads","bytes":[1-9]' "$TDIR/probe.json"; then
	echo "ok: regprobe: $(tr '\n' ' ' <"$TDIR/probe.json" | cut -c1-300)"
else
	fail "regprobe: $(cat "$TDIR/probe.json" "$TDIR/probe.err")"
fi
expect_fail 2 "--pieces must be sizes, multiples of 4 KiB" fil regprobe --pieces 1M,3000 "$ckfile"
expect_fail 2 "--threads must be counts of 1 to 64" fil regprobe --threads 0 "$ckfile"
expect_fail 1 "nonexistent: No such file" fil regprobe "$TDIR/nonexistent"
victim=$(sed -n 7p "$TDIR/ck/.aisio-fil" | cut -d' ' -f2)
at=$(($(sed -n 7p "$TDIR/ck/.aisio-fil" | cut -d' ' -f1) / 2 + 13))
flip "$TDIR/ck/$victim" $at
expect_fail 1 "verify: $victim at offset $at:" fil run --path gpu "$TDIR/ck"
expect_fail 1 "verify: $victim at offset $at:" fil run --path gpu --xfer map "$TDIR/ck"
expect_fail 1 "verify: $victim at offset $at:" fil run --path gpu --stage-copy kernel --stage 4M "$TDIR/ck"
expect_fail 1 "verify: $victim at offset $at:" fil run --path gpu --xfer mix --pipe --threads 3 --reg 4M --stage 2M --stage-copy kernel "$TDIR/ck"
victim=$(sed -n 100p "$TDIR/small/.aisio-fil" | cut -d' ' -f2)
flip "$TDIR/small/$victim" 4095
expect_fail 1 "verify: $victim at offset 4095:" fil run --path gpu "$TDIR/small"
expect_fail 1 "verify: $victim at offset 4095:" fil run --path gpu --stage-copy kernel --chunk 64K --stage 256K "$TDIR/small"
# a file shorter than the manifest says, read by kernel-copied staging threads: the error, no hang,
# and the kernel ended (the stand-in exits 3 when it still runs)
victim=$(sed -n 50p "$TDIR/in/.aisio-fil" | cut -d' ' -f2)
truncate -s 1000 "$TDIR/in/$victim"
expect_fail 1 "$victim: short file" fil run --path gpu --stage-copy kernel --chunk 64K --stage 256K "$TDIR/in"
finish
