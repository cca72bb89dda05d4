# Shared by the CLI test scripts (sourced): check, run, ok, has, not_has and a
# count of what passed. The script sets $agora and $work first.
failures=0
passes=0

check() { # name, condition command...
	local name=$1
	shift
	if "$@"; then
		passes=$((passes + 1))
	else
		failures=$((failures + 1))
		echo "FAIL: $name"
		echo "  stdout: $(head -c 600 "$work/out" 2>/dev/null)"
		echo "  stderr: $(head -c 600 "$work/err" 2>/dev/null)"
	fi
}

run() { # runs agora with args; leaves out, err, and code
	"$agora" "$@" >"$work/out" 2>"$work/err" </dev/null
	code=$?
}

# ok COND...: the last run exited 0 and COND holds. A check on what a
# command printed goes through it, so a command that failed (a dead server
# prints nothing) cannot pass a check that something is not there.
ok() { [ "$code" -eq 0 ] && "$@"; }
has() { grep -q -- "$1" "$work/$2"; }
not_has() { ! grep -q -- "$1" "$work/$2"; }
