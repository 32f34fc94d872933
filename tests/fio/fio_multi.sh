#!/usr/bin/env bash
# A job file with several jobs on one device: four readers at once (a queue
# each), then two writers of separate halves, then (stonewall) two jobs that
# verify what the writers wrote. The verify passes only if the jobs really
# share one device: each emu: open would otherwise be a fresh, zeroed model.
. "$(dirname "$0")/fio_lib.sh"
cat >"$TDIR/multi.fio" <<'JOB'
[global]
thread
filename=emu\:64M
bs=4k
iodepth=8
randseed=11

[readers]
rw=randread
numjobs=4
size=2M

[writer-a]
verify=crc32c
stonewall
rw=randwrite
offset=0
size=4M
do_verify=0

[writer-b]
verify=crc32c
rw=randwrite
offset=4M
size=4M
do_verify=0

[verify-a]
verify=crc32c
stonewall
rw=randwrite
offset=0
size=4M
verify_only=1

[verify-b]
verify=crc32c
rw=randwrite
offset=4M
size=4M
verify_only=1
JOB
run_ok 'job file: 4 readers, 2 writers, 2 verifiers on one emu:' \
	'len(J) == 8 and all(ios(j, "read") == 512 for j in J if j["jobname"] == "readers") and all(ios(j, "write") == 1024 for j in J if j["jobname"].startswith("writer")) and all(ios(j, "read") == 1024 for j in J if j["jobname"].startswith("verify"))' \
	"$TDIR/multi.fio"

# Without the writers the verifiers read a zeroed device: verify must fail,
# which shows that the check above can fail.
python3 - "$TDIR/multi.fio" <<'PY'
import re, sys
p = sys.argv[1]
text = open(p).read()
text = re.sub(r"\[writer-[ab]\][^[]*", "", text)
open(p, "w").write(text)
PY
grep -q writer "$TDIR/multi.fio" && fail "the writers are still in the job file"
run_fails 'the same verifiers without the writers' 'verify' "$TDIR/multi.fio"
finish
