# The bench/homi run on a GPU host without libinih: Debian's libinih carried in .ab/inih.
set -u
export PKG_CONFIG_PATH=$PWD/.ab/inih/lib/pkgconfig LD_LIBRARY_PATH=$PWD/.ab/inih/lib
nproc; lscpu | grep 'Model name'
meson setup bh -Dcuda=disabled -Dwerror=true >bh.setup.log 2>&1 || { tail -20 bh.setup.log; exit 1; }
grep -i 'homid' bh.setup.log | head -3
ninja -C bh aisio homid bench/homi/homilat >bh.build.log 2>&1 || { tail -30 bh.build.log; exit 1; }
RUN_SECONDS=2 PAIRS=3 CYCLES=100 CALLGRIND=0 SECTIONS="1 2 3" OUT=$OUT/results-gpuhost-h200.md timeout 230 bench/homi/run.sh bh 2>&1 | tail -60
