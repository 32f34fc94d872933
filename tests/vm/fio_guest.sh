#!/bin/bash
# Inside the guest: fio against QEMU's NVMe namespace through the kernel
# (psync, libaio, io_uring on /dev/nvmeXn1, io_uring_cmd on /dev/ngXn1), every
# job writing with verification. Under emulation the numbers show function,
# not speed. With OUT, a markdown table of the results goes there.
# With --engine, the same controller through aisio's fio engine as well: on
# pci: (uio and vfio) and /dev/ngXnY, and data written through the engine
# verified by fio through the kernel, and the other way round.
# Usage: fio_guest.sh [--engine LIBAISIO_FIO_SO] [OUT]
engine=""
if [ "${1:-}" = --engine ]; then
	engine=$2
	shift 2
fi
out=${1:-}
. "$(dirname "$0")/guest_lib.sh"
cd /tmp || exit 1
dev=$(blkdev_of 0000:01:00.0) || { fail "no namespace on 01:00.0"; finish; }
ng=$(ngdev_of "$dev") || ng=""
rows=""
job() { # name engine file extra-args...
	local name=$1 eng=$2 file=$3 res
	shift 3
	if res=$(fio --name="$name" --filename="$file" --ioengine="$eng" --rw=randwrite --bs=4k \
		--size=8M --iodepth=16 --verify=crc32c --verify_fatal=1 --verify_state_save=0 \
		--output-format=terse --terse-version=3 "$@" 2>&1); then
		# terse v3: field 3 jobname, 49 write IOPS, 97 verify read IOPS (read side: 8)
		local line
		line=$(echo "$res" | grep '^3;' | tail -n1)
		local wiops riops
		wiops=$(echo "$line" | cut -d';' -f49)
		riops=$(echo "$line" | cut -d';' -f8)
		pass "fio $name: 8 MiB random 4 KiB writes verified (write ${wiops} IOPS, verify read ${riops} IOPS)"
		rows+="| $name | $eng | $file | ok | $wiops | $riops |"$'\n'
	else
		echo "$res" | tail -n 20
		fail "fio $name"
		rows+="| $name | $eng | $file | FAIL | - | - |"$'\n'
	fi
}
job psync psync "$dev" --direct=1 --iodepth=1
job libaio libaio "$dev" --direct=1
job io_uring io_uring "$dev" --direct=1
if [ -n "$ng" ]; then
	job io_uring_cmd io_uring_cmd "$ng" --cmd_type=nvme
else
	fail "no NVMe generic device beside $dev"
fi

# efio WHAT ARGS...: fio through the aisio engine; passes when fio exits 0
# with no job error (fio's verify failures are job errors).
efio() {
	local what=$1 res
	shift
	if res=$(fio --ioengine="external:$engine" --thread --bs=4k --iodepth=16 \
		--verify_state_save=0 --output-format=terse --terse-version=3 "$@" 2>&1) &&
		! echo "$res" | grep -q -i 'verify: bad\|fio: pid.*err='; then
		pass "engine: $what"
	else
		echo "$res" | tail -n 20
		fail "engine: $what"
	fi
}
if [ -n "$engine" ]; then
	bdf=0000:01:00.0
	for drv in uio vfio; do
		u="pci:$bdf,drv=$drv"
		efio "$drv randwrite --verify=crc32c" --name=w-$drv --aisio_uri="$u" \
			--rw=randwrite --size=8M --offset=16M --verify=crc32c --verify_fatal=1
		efio "$drv randread" --name=r-$drv --aisio_uri="$u" --rw=randread --size=8M
		efio "$drv randtrim" --name=t-$drv --aisio_uri="$u" --rw=randtrim --size=4M --offset=32M
		efio "$drv randrw with flushes" --name=m-$drv --aisio_uri="$u" --rw=randrw \
			--fsync=8 --size=4M --offset=40M
	done
	# Written through the engine (vfio), verified by fio through the kernel.
	efio "vfio writes with crc32c headers (no verify yet)" --name=x1 --aisio_uri="pci:$bdf,drv=vfio" \
		--rw=randwrite --size=8M --offset=64M --verify=crc32c --do_verify=0 --randseed=11
	if dev=$(blkdev_of $bdf); then
		check "kernel (io_uring on $dev) verifies what the engine wrote" \
			fio --name=x1 --filename="$dev" --ioengine=io_uring --direct=1 --bs=4k --iodepth=16 \
			--rw=randwrite --size=8M --offset=64M --verify=crc32c --verify_only=1 --randseed=11 \
			--verify_fatal=1 --verify_state_save=0 --output=/dev/null
		check "kernel writes with crc32c headers" \
			fio --name=x2 --filename="$dev" --ioengine=io_uring --direct=1 --bs=4k --iodepth=16 \
			--rw=randwrite --size=8M --offset=80M --verify=crc32c --do_verify=0 --randseed=12 \
			--verify_state_save=0 --output=/dev/null
		efio "uio verifies what the kernel wrote" --name=x2 --aisio_uri="pci:$bdf,drv=uio" \
			--rw=randwrite --size=8M --offset=80M --verify=crc32c --verify_only=1 --randseed=12 \
			--verify_fatal=1
		# crc32c headers carry offset and checksum, so the negative check is a
		# range nothing wrote.
		check "engine: verifying a range never written fails (negative check)" not \
			fio --ioengine="external:$engine" --thread --bs=4k --iodepth=16 --name=x2 \
			--aisio_uri="pci:$bdf,drv=uio" --rw=randwrite --size=1M --offset=160M \
			--verify=crc32c --verify_only=1 --randseed=12 --verify_fatal=1 \
			--verify_state_save=0 --output=/dev/null
	else
		fail "no namespace on $bdf after vfio"
	fi
	# The generic device through the engine's io_uring passthrough backend.
	if dev=$(blkdev_of $bdf) && ng=$(ngdev_of "$dev"); then
		efio "$ng (uring_cmd) randwrite --verify=crc32c" --name=ng --aisio_uri="$ng" \
			--aisio_be=uring_cmd --rw=randwrite --size=8M --offset=96M --verify=crc32c --verify_fatal=1
	else
		fail "no generic device on $bdf"
	fi
fi
if [ -n "$out" ]; then
	{
		echo "| job | engine | target | verify | write IOPS | verify-read IOPS |"
		echo "|---|---|---|---|---|---|"
		printf '%s' "$rows"
	} >"$out"
fi
finish
