#!/usr/bin/env bash
# On the GPU host: build the aisio Python package and run
# examples/torch_dataset.py (CUDA tensors through a DataLoader, verified),
# examples/numpy_dataset.py, and device reads/writes/batches into CUDA tensors
# (verified); with mkfs.xfs (xfsprogs) there, also the dataset read through
# its extents into CUDA tensors (torch_dataset.py --xfs-image, DeviceFile)
# and tests/python's DeviceFile tests, test_gpu_array included. bench/python/run.sh (Python vs C IOPS) runs there as it does here.
#
#   bench/python/run-gpuhost.sh [PYTHON]      (default: the python3 that imports torch)
#
# The package needs Python >= 3.10 and its headers (3.11 and later get the
# stable-ABI module). With meson-python installed it goes into a venv through
# pip; otherwise it is built with meson alone (-Dpython=only, for PYTHON
# through a native file) and imported from the build tree.
# Writes bench/python/results-gpuhost-<host>.txt.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
py=${1:-python3}
out=$root/bench/python/results-gpuhost-$(hostname -s).txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" -c 'import sys; assert sys.version_info >= (3, 10), sys.version' ||
	{ echo "run-gpuhost.sh: $py is older than 3.10; pass a newer python that has torch" >&2; exit 1; }
"$py" -c 'import torch; assert torch.cuda.is_available()' ||
	{ echo "run-gpuhost.sh: $py has no torch with CUDA" >&2; exit 1; }
if "$py" -c 'import mesonpy' 2>/dev/null; then
	"$py" -m venv --system-site-packages "$work/venv"
	"$work/venv/bin/pip" install --no-index --no-build-isolation "$root" >"$work/pip.log" 2>&1 ||
		{ tail -30 "$work/pip.log" >&2; exit 1; }
	vpy=$work/venv/bin/python
	export PYTHONPATH=
else
	printf "[binaries]\npython = '%s'\n" "$(command -v "$py")" >"$work/native.ini"
	meson setup "$work/build" "$root" --native-file "$work/native.ini" -Dpython=only -Dcuda=disabled \
		-Dbuildtype=release >/dev/null
	ninja -C "$work/build" >/dev/null
	vpy=$py
	export PYTHONPATH=$work/build/python
fi
{
	echo "== $(date -u) $(hostname -s); $("$vpy" -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0))')"
	"$vpy" "$root/examples/torch_dataset.py" --root "$work/dataset" --make 64 --size 4M --batch 8
	"$vpy" "$root/examples/numpy_dataset.py" --root "$work/dataset" --batch 8
	"$vpy" - <<'PY'
import aisio, torch
# A device read straight into a CUDA tensor, and back out of one.
with aisio.open("emu:64M") as d:
    t = torch.empty(1 << 20, dtype=torch.uint8, device="cuda")
    src = torch.empty(1 << 20, dtype=torch.uint8)
    aisio.pattern_fill(src.numpy(), "gpu", 0)
    d.write(0, src.cuda())
    d.read(0, t)
    assert aisio.pattern_check(t.cpu().numpy(), "gpu", 0) == t.numel()
    with d.batch(depth=256) as b:
        t.zero_()
        b.read_many(list(range(0, 2048, 8)), t, 4096)
        b.submit(); b.wait()
    assert aisio.pattern_check(t.cpu().numpy(), "gpu", 0) == t.numel()
print("device <-> CUDA tensor: read, write and batch verified")
PY
	if command -v mkfs.xfs >/dev/null || [ -x /usr/sbin/mkfs.xfs ]; then
		"$vpy" "$root/examples/torch_dataset.py" --root "$work/dataset" --batch 8 --xfs-image "$work/dataset.img"
		PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$root/tests/python "$vpy" -m unittest -v test_devfile
	else
		echo "SKIP: no mkfs.xfs (xfsprogs): DeviceFile reads into CUDA tensors not run"
	fi
} 2>&1 | tee "$out"
