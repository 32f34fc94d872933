#!/usr/bin/env bash
# Build the aisio tool with CUDA on the GPU host. Uses meson + ninja when
# they are there; otherwise compiles the sources the meson files list with
# gcc and nvcc (-arch=sm_90) directly.
# usage: bench/gpu/build.sh [BUILD_DIR]   (prints the path of the tool)
#        AISIO_BUILD_DIRECT=1 forces the direct compile.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build-gpu}
CUDA=${CUDA_HOME:-/usr/local/cuda}
export PATH=$CUDA/bin:$PATH

if [ -z "${AISIO_BUILD_DIRECT:-}" ] && command -v meson >/dev/null 2>&1 && command -v ninja >/dev/null 2>&1; then
	[ -f "$B/build.ninja" ] || meson setup "$B" -Dcuda=enabled -Dbuildtype=release -Db_ndebug=true >&2
	ninja -C "$B" aisio >&2
	echo "$B/aisio"
	exit 0
fi

echo "compiling directly with gcc and nvcc (no meson/ninja, or AISIO_BUILD_DIRECT set)" >&2
mkdir -p "$B/obj"
# Sources named in the meson files (src/gpu: the CUDA set).
srcs=$(python3 - <<'PY'
import re, glob
out = []
for mb in sorted(glob.glob('src/*/meson.build')) + ['tools/aisio/meson.build']:
    d = mb.rsplit('/', 1)[0]
    for m in re.finditer(r"files\(([^)]*)\)", open(mb).read()):
        for f in re.findall(r"'([^']+\.c)'", m.group(1)):
            if f in ('stub.c', 'fil_gpu_none.c'):  # the builds without CUDA
                continue
            out.append(d + '/' + f)
print(' '.join(dict.fromkeys(out)))
PY
)
CFLAGS="-O2 -g -std=gnu11 -D_GNU_SOURCE -DAISIO_HAVE_CUDA=1 -Iinclude -Isrc -Itools/aisio -isystem $CUDA/include -pthread"
objs=()
for s in $srcs; do
	o="$B/obj/$(echo "$s" | tr / _).o"
	gcc $CFLAGS -c "$s" -o "$o" &
	objs+=("$o")
done
nvcc -O3 -std=c++17 -arch=sm_90 -Xcompiler -fPIC,-fno-threadsafe-statics,-fno-exceptions \
	-Iinclude -Isrc -Itools/aisio -c tools/aisio/perf_cuda_kern.cu -o "$B/obj/perf_cuda_kern.o" &
nvcc -O3 -std=c++17 -arch=sm_90 -Xcompiler -fPIC,-fno-threadsafe-statics,-fno-exceptions \
	-Iinclude -Isrc -Itools/aisio -c tools/aisio/fil_gpu_kern.cu -o "$B/obj/fil_gpu_kern.o" &
nvcc -O3 -std=c++17 -arch=sm_90 -Xcompiler -fPIC,-fno-threadsafe-statics,-fno-exceptions \
	-Iinclude -Isrc -Itools/aisio -c tools/aisio/fil_gpu_nvme_kern.cu -o "$B/obj/fil_gpu_nvme_kern.o" &
wait
gcc -o "$B/aisio" "${objs[@]}" "$B/obj/perf_cuda_kern.o" "$B/obj/fil_gpu_kern.o" "$B/obj/fil_gpu_nvme_kern.o" -L"$CUDA/lib64" -lcudart_static -ldl -lrt -lm -pthread
echo "$B/aisio"
