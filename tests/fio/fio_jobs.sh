#!/usr/bin/env bash
# fio jobs through the aisio engine on the device model (emu:): random reads,
# random writes verified with crc32c, trims (Dataset Management), a mixed job
# with flushes, and fio's verify catching data changed behind its back.
. "$(dirname "$0")/fio_lib.sh"
common=(--thread --bs=4k --iodepth=16 --size=4M)

run_ok randread 'ios(J[0], "read") == 1024' \
	--name=randread --filename='emu\:64M' --rw=randread "${common[@]}"
run_ok 'randread 512 B, aisio_uri' 'ios(J[0], "read") == 2048' \
	--name=randread512 --aisio_uri=emu:64M,lbads=9 --rw=randread --bs=512 --size=1M --iodepth=32 --thread
run_ok 'randwrite --verify=crc32c' 'ios(J[0], "write") == 1024 and ios(J[0], "read") == 1024' \
	--name=randwrite --filename='emu\:64M' --rw=randwrite --verify=crc32c "${common[@]}"
run_ok 'randtrim' 'ios(J[0], "trim") == 1024' \
	--name=trim --filename='emu\:64M' --rw=randtrim "${common[@]}"
run_ok 'randrw 70/30 with a flush every 8 writes' \
	'ios(J[0], "read") > 0 and ios(J[0], "write") > 0 and ios(J[0], "sync") > 0 and ios(J[0], "read") + ios(J[0], "write") == 1024' \
	--name=mixed --filename='emu\:64M' --rw=randrw --rwmixread=70 --fsync=8 "${common[@]}"
# The engine reaps every completion at once and hands fio at most what it
# asks for: fio's default (one event per call), a window of 4..32, and the
# whole depth with batched commits; every block written is verified.
for batch in "" "--iodepth_batch_complete_min=4 --iodepth_batch_complete_max=32" \
	"--iodepth_batch_submit=64 --iodepth_batch_complete_max=64 --gtod_reduce=1"; do
	# shellcheck disable=SC2086
	run_ok "randwrite --verify=crc32c at QD 64 ${batch:-(fio default reaping)}" \
		'ios(J[0], "write") == 2048 and ios(J[0], "read") == 2048' \
		--name=batch --filename='emu\:64M' --rw=randwrite --verify=crc32c --iodepth=64 \
		--bs=4k --size=8M --thread $batch
done
run_ok 'large blocks, queue depth 1' 'ios(J[0], "write") == 32 and ios(J[0], "read") == 32' \
	--name=big --filename='emu\:64M' --rw=write --bs=128k --iodepth=1 --size=4M --verify=crc32c --thread

# Data that lives on: a file-backed model. Written and verified in one run,
# verified again in a second, then changed behind fio's back: verify must fail.
img=$TDIR/img
truncate -s 16M "$img"
uri="emu:16M,file=$img"
run_ok 'write with crc32c headers (file-backed model)' 'ios(J[0], "write") == 1024' \
	--name=w --aisio_uri="$uri" --rw=randwrite --verify=crc32c --do_verify=0 --randseed=7 "${common[@]}"
run_ok 'verify_only in a second run' 'ios(J[0], "read") == 1024' \
	--name=w --aisio_uri="$uri" --rw=randwrite --verify=crc32c --verify_only=1 --randseed=7 "${common[@]}"
python3 - "$img" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(1 * 1024 * 1024 + 100)
    f.write(b"\xa5" * 64)
PY
run_fails 'verify_only after the data changed' 'verify' \
	--name=w --aisio_uri="$uri" --rw=randwrite --verify=crc32c --verify_only=1 --randseed=7 "${common[@]}"

# A trim deallocates: a block written with a pattern reads back as zeroes.
run_ok 'write a pattern' 'ios(J[0], "write") == 256' \
	--name=p --aisio_uri="$uri" --rw=write --bs=4k --size=1M --verify_pattern=0x5a --thread --verify=pattern --do_verify=1
run_ok 'trim it' 'ios(J[0], "trim") == 1' \
	--name=t --aisio_uri="$uri" --rw=trim --bs=1M --size=1M --thread
run_ok 'reads back zeroes' 'ios(J[0], "read") == 256' \
	--name=z --aisio_uri="$uri" --rw=read --bs=4k --size=1M --thread --verify=pattern --verify_pattern=0x00 --verify_only=1
# Without --thread each job is a process with its own device.
run_ok 'randrw with flushes, job as a process' \
	'ios(J[0], "read") + ios(J[0], "write") == 1024 and ios(J[0], "sync") > 0' \
	--name=proc --filename='emu\:64M' --rw=randrw --fsync=4 --bs=4k --iodepth=8 --size=4M

# Kernel paths on a file: the same engine, other backends.
truncate -s 32M "$TDIR/kfile"
for be in ${AISIO_FIO_BACKENDS:-psync io_uring}; do
	run_ok "file: $be randwrite --verify=crc32c" 'ios(J[0], "write") == 1024 and ios(J[0], "read") == 1024' \
		--name=k-$be --aisio_uri="file:$TDIR/kfile" --aisio_be=$be --rw=randwrite --verify=crc32c "${common[@]}"
	run_ok "file: $be randtrim" 'ios(J[0], "trim") == 1024' \
		--name=kt-$be --aisio_uri="file:$TDIR/kfile" --aisio_be=$be --rw=randtrim "${common[@]}"
done
finish
