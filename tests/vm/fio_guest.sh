#!/bin/bash
# Inside the guest: fio against QEMU's NVMe namespace through the kernel
# (psync, libaio, io_uring on /dev/nvmeXn1, io_uring_cmd on /dev/ngXn1), every
# job writing with verification. Under emulation the numbers show function,
# not speed. With OUT, a markdown table of the results goes there.
# Usage: fio_guest.sh [OUT]
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
if [ -n "$out" ]; then
	{
		echo "| job | engine | target | verify | write IOPS | verify-read IOPS |"
		echo "|---|---|---|---|---|---|"
		printf '%s' "$rows"
	} >"$out"
fi
finish
