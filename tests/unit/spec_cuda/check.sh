#!/bin/sh
# The shared headers as CUDA device code (no GPU needed):
#  1. the cubin for sm_90 holds both kernels, with code;
#  2. the device's hash of the wire bytes (a constant in the PTX, folded by
#     the device compiler) equals the host's (expect);
#  3. a wrong layout stops the device build: the same source with
#     AISIO_SPEC_CUDA_WRONG_LAYOUT must fail on its static assert.
# Usage: check.sh NVCC SOURCE CUBIN PTX EXPECT INCLUDE-DIR SRC-DIR
set -u
nvcc=$1 src=$2 cubin=$3 ptx=$4 expect=$5 inc=$6 srcdir=$7
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

for k in aisio_spec_cuda_kernel aisio_spec_cuda_sqe_hash; do
	size=$(readelf -sW "$cubin" | awk -v k="$k" '$4 == "FUNC" && index($NF, k) {print $3}')
	if [ -n "$size" ] && [ "$size" -gt 0 ]; then
		echo "ok: $k in the sm_90 cubin, $size bytes of code"
	else
		fail "$k: no device function with code in $cubin"
	fi
done

# The kernel's body: the register (or immediate) stored to global memory, and its constant.
dev=$(awk '
	/\.entry .*aisio_spec_cuda_sqe_hash/ { in_k = 1 }
	in_k && /mov\.(u64|b64)/ { gsub(/[,;]/, ""); val[$2] = $3 }
	in_k && /st\.global\.(u64|b64)/ { gsub(/[,;]/, ""); v = $3; print (v in val) ? val[v] : v; exit }
' "$ptx")
host=$("$expect")
if [ -z "$dev" ] || [ -z "$host" ]; then
	fail "no value: device '$dev' (is the hash folded to a constant in $ptx?), host '$host'"
elif [ "$dev" != "$host" ]; then
	fail "wire bytes differ: device hash $dev, host hash $host"
else
	echo "ok: device and host build the same wire bytes (hash $dev)"
fi

out=$("$nvcc" -arch=sm_90 -DAISIO_SPEC_CUDA_WRONG_LAYOUT -I "$inc" -I "$srcdir" -c "$src" \
	-o /dev/null 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "wrong layout on purpose"; then
	echo "ok: a wrong layout stops the device build (exit $rc)"
else
	fail "a wrong layout compiled (exit $rc): $out"
fi

[ $fails -eq 0 ] || exit 1
echo PASS
