set -u
mkdir -p .ab/main && git ls-files -z | xargs -0 -I{} cp --parents {} .ab/main/ 2>/dev/null
for v in old perf homid main; do (cd .ab/$v && meson setup b -Dcuda=disabled >/dev/null 2>&1 && ninja -C b bench/driver-cost/drvcost >/dev/null 2>&1; echo "built $v rc $?"); done
for c in 1 4 8; do for r in 1 2 3; do for v in old perf homid main; do
  printf '%s ' $v; .ab/$v/b/bench/driver-cost/drvcost --ctrls $c --qd 128 --seconds 3 | head -1
done; done; done
