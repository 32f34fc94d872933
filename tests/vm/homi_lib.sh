# homid inside the testbed guest (sourced after guest_lib.sh). The caller
# sets aisio (the aisio binary) and sock (homid's socket).

# status: homid's status as JSON (bounded: a stalled homid fails the call).
status() { timeout 20 "$aisio" homi status --json --socket "$sock"; }

# client_of PID: the status object of client PID, empty when homid has none.
client_of() { status | tr '{' '\n' | grep "\"pid\": $1,"; }

# client_gone PID: homid answers, and lists no client PID.
client_gone() {
	local s
	s=$(status) || return 1
	! tr '{' '\n' <<<"$s" | grep -q "\"pid\": $1,"
}

# idle: every queue ID back and no client left.
idle() { status | grep -q '"qids_used": 0, .*"clients": \[\]'; }

# up: homid ($hpid) answers on $sock; 2 (never will) once it has exited.
up() {
	kill -0 "$hpid" 2>/dev/null || { echo "homid exited" >&2; return 2; }
	status >/dev/null 2>&1
}

# homid_start WHAT LOG ARG...: homid --foreground ARG... in the background,
# its stderr to LOG, its pid in hpid; waits until it answers. On failure the
# log is shown, WHAT fails and the script finishes.
homid_start() {
	local what=$1 log=$2
	shift 2
	"$homid" --foreground "$@" 2>"$log" &
	hpid=$!
	if ! wait_until "homid serving $sock" up; then
		cat "$log"
		fail "$what"
		finish
	fi
}
