#!/usr/bin/env bash
# Runs every study that this machine can run, one after another.
#   bench/run-all.sh [STUDY...]     studies: driver-cost kernel-paths xfs-index testbed-fio homi homi-tcp ublk sriov-provision fio-engine nvme-tcp extent python gpu
# Each study writes its results next to its run.sh (results-<host>.md) and
# says which machine they came from. The gpu study needs a CUDA GPU; it is
# skipped with a note when there is none.
set -uo pipefail
cd "$(dirname "$0")/.."
studies=${*:-driver-cost kernel-paths xfs-index testbed-fio homi homi-tcp ublk sriov-provision fio-engine nvme-tcp extent python gpu}
rc=0
for s in $studies; do
	echo "=== bench/$s ($(date -u +%H:%M:%S))"
	case "$s" in
	gpu)
		if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
			echo "bench/gpu: no GPU on this machine; run bench/gpu/run.sh on a GPU host"
			continue
		fi
		bench/gpu/run.sh full || rc=1
		;;
	*)
		[ -x "bench/$s/run.sh" ] || { echo "bench/$s: no run.sh" >&2; rc=1; continue; }
		"bench/$s/run.sh" || rc=1
		;;
	esac
done
exit $rc
