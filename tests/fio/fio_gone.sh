#!/usr/bin/env bash
# A device that goes away under a running fio job: an ext4 file system on a
# loop device holds the file: the job reads; it is shut down (as when its disk
# is pulled) mid-run. fio must end with an error that carries aisio's words,
# not hang or crash. Needs root, mkfs.ext4 and loop devices.
. "$(dirname "$0")/fio_lib.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root (loop device, mount)"
command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 is missing (e2fsprogs)"
command -v losetup >/dev/null || skip "losetup is missing (util-linux)"
mnt=$TDIR/mnt
loop=""
cleanup() {
	mountpoint -q "$mnt" && umount -l "$mnt"
	[ -n "$loop" ] && losetup -d "$loop"
	rm -rf "$TDIR"
}
trap cleanup EXIT
# A fresh file system for each backend.
fresh_fs() {
	if mountpoint -q "$mnt"; then umount -l "$mnt"; fi
	[ -n "$loop" ] && losetup -d "$loop"
	loop=""
	mkdir -p "$mnt"
	truncate -s 64M "$TDIR/fs.img"
	mkfs.ext4 -q -F "$TDIR/fs.img" || skip "mkfs.ext4 failed"
	loop=$(losetup -f --show "$TDIR/fs.img") || skip "no loop device"
	mount "$loop" "$mnt" || skip "cannot mount $loop"
	truncate -s 16M "$mnt/data"
}

for be in ${AISIO_FIO_BACKENDS:-psync io_uring}; do
	fresh_fs
	fio --ioengine="$ENGINE" --thread --name=gone --aisio_uri="file:$mnt/data" --aisio_be=$be \
		--rw=randrw --bs=4k --iodepth=4 --time_based --runtime=30 \
		>"$TDIR/stdout" 2>"$TDIR/stderr" &
	pid=$!
	sleep 2
	if ! kill -0 $pid 2>/dev/null; then
		fail "$be: fio ended before the device went away: $(tail -n 5 "$TDIR/stderr")"
		continue
	fi
	python3 - "$mnt" <<'PY'
import fcntl, os, struct, sys
# EXT4_IOC_SHUTDOWN = _IOR('X', 125, __u32); EXT4_GOING_FLAGS_NOLOGFLUSH = 2
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.ioctl(fd, 0x8004587D, struct.pack("I", 2))
os.close(fd)
PY
	for _ in $(seq 60); do kill -0 $pid 2>/dev/null || break; sleep 0.5; done
	if kill -0 $pid 2>/dev/null; then
		kill $pid
		fail "$be: fio still running 30 s after the device went away"
	fi
	wait $pid
	rc=$?
	if [ $rc -eq 0 ] || [ $rc -gt 128 ]; then
		fail "$be: fio exited $rc after the device went away: $(tail -n 5 "$TDIR/stderr")"
	elif ! grep -q "^fio: aisio: " "$TDIR/stderr"; then
		fail "$be: no aisio message in fio's error output: $(tail -n 5 "$TDIR/stderr")"
	else
		echo "ok: $be: exit $rc: $(grep "^fio: aisio: " "$TDIR/stderr" | head -n1)"
	fi
done
finish
