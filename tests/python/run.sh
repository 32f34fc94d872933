#!/usr/bin/env bash
# The aisio Python package as a user gets it: pip install --no-build-isolation
# of this checkout into a fresh virtual environment (--system-site-packages,
# for Debian's numpy), then the unit tests and examples/numpy_dataset.py
# against the device model and files.
#
#   tests/python/run.sh SOURCE_DIR WORK_DIR
#
# Environment: AISIO_PYTHON (default /usr/bin/python3, Debian's, which has
# python3-mesonpy and python3-numpy). Exit 0 pass, 1 fail, 77 skip (a
# missing dependency; under CI=true that is a failure).
set -uo pipefail
src=$(cd "${1:?usage: run.sh SOURCE_DIR WORK_DIR}" && pwd)
work=${2:?usage: run.sh SOURCE_DIR WORK_DIR}
py=${AISIO_PYTHON:-/usr/bin/python3}
[ -x "$py" ] || py=$(command -v python3)

skip() {
	echo "SKIP: $*" >&2
	if [ "${CI:-}" = true ]; then
		echo "under CI=true a missing dependency is a failure (scripts/install-deps.sh build)" >&2
		exit 1
	fi
	exit 77
}
for m in venv mesonpy numpy; do
	"$py" -c "import $m" 2>/dev/null || skip "$py cannot import $m (Debian: python3-venv python3-mesonpy python3-numpy)"
done

mkdir -p "$work"
venv=$work/venv
rm -rf "$venv"
"$py" -m venv --system-site-packages "$venv" || { echo "FAIL: cannot create a virtual environment" >&2; exit 1; }
# The wheel's build directory is kept between runs so that a rerun only rebuilds
# what changed; when reusing it fails (meson-python 0.12 can trip over a stale
# one), the install is retried once from scratch.
install() {
	nice "$venv/bin/pip" install --no-index --no-build-isolation --config-settings builddir="$work/wheel-build" \
		"$src" >"$work/pip.log" 2>&1
}
echo "pip install --no-build-isolation $src (build log: $work/pip.log)"
if ! install && { echo "pip install failed with the kept build directory; once more from scratch"; rm -rf "$work/wheel-build"; ! install; }; then
	tail -40 "$work/pip.log" >&2
	echo "FAIL: pip install" >&2
	exit 1
fi
vpy=$venv/bin/python
# The installed package, not the source tree: run from elsewhere.
cd "$work"
loc=$("$vpy" -c 'import aisio, os; print(os.path.dirname(aisio.__file__))') || { echo "FAIL: import aisio" >&2; exit 1; }
case "$loc" in "$venv"/*) ;; *) echo "FAIL: aisio imported from $loc, not from the virtual environment" >&2; exit 1 ;; esac
ls "$loc"/_aisio.abi3.so >/dev/null || { echo "FAIL: no stable-ABI extension in $loc" >&2; exit 1; }

rc=0
PYTHONPATH=$src/tests/python "$vpy" -m unittest discover -s "$src/tests/python" -p 'test_*.py' -v 2>&1 || rc=1
rm -rf "$work/dataset"
"$vpy" "$src/examples/numpy_dataset.py" --root "$work/dataset" --make 24 --size 300k --batch 4 || rc=1
# The same files through their extents: an XFS image of them on the device model.
if command -v mkfs.xfs >/dev/null || [ -x /usr/sbin/mkfs.xfs ]; then
	"$vpy" "$src/examples/numpy_dataset.py" --root "$work/dataset" --batch 4 --xfs-image "$work/dataset.img" || rc=1
	rm -f "$work/dataset.img"
elif [ "${CI:-}" = true ]; then
	echo "FAIL: mkfs.xfs (xfsprogs) is required under CI=true" >&2
	rc=1
fi
# One flipped byte in one file: the example must see it.
f=$(find "$work/dataset" -type f | sort | sed -n 5p)
"$vpy" -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(1000); b = f.read(1)[0]; f.seek(1000); f.write(bytes([b ^ 0x55]))' "$f"
if "$vpy" "$src/examples/numpy_dataset.py" --root "$work/dataset" --batch 4 2>"$work/corrupt.err"; then
	echo "FAIL: numpy_dataset.py did not notice a changed byte in $f" >&2
	rc=1
elif ! grep -q "byte 1000 differs" "$work/corrupt.err"; then
	echo "FAIL: numpy_dataset.py failed for another reason: $(cat "$work/corrupt.err")" >&2
	rc=1
else
	echo "numpy_dataset.py found the changed byte: $(cat "$work/corrupt.err")"
fi
exit $rc
