#!/usr/bin/env bash
# `agora server` and `agora ctl` as a user meets them: every ctl command, a
# token-guarded server refusing an untokened stop, a non-loopback address
# refused without a token, an address in use failing at start, plugins by
# --plugin and --agent-dir (a file without the plugin symbol never runs),
# and a scenario placing agents on the server.
# usage: server_cli_test.sh AGORA_BINARY TEST_PLUGIN MARKER_PLUGIN
set -u
agora=$1
plugin=$2
marker_plugin=$3
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "${redis_pid:-}" ] && kill "$redis_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"

stopped() { # pid: true once it has exited (killed after 5 s)
	for _ in $(seq 100); do
		kill -0 "$1" 2>/dev/null || { wait "$1"; return $?; }
		sleep 0.05
	done
	kill -9 "$1" 2>/dev/null
	return 99
}

# A port nobody listens on (bash's /dev/tcp probes it), below the kernel's
# ephemeral range (32768 up), where outgoing connections and port-0 listeners
# of the tests running beside this one take theirs: a port picked there was
# once taken between the probe and the server's start.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 12000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

start_server() { # args...; sets srv_pid; waits until it answers
	"$agora" server "$@" >"$work/srv.out" 2>>"$work/srv.err" &
	srv_pid=$!
	pids+=("$srv_pid")
	for _ in $(seq 100); do
		"$agora" ctl "$addr" is-alive --timeout-ms 100 >/dev/null 2>&1 && return 0
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "the server did not come up; its stderr:" >&2
	cat "$work/srv.err" >&2
	return 1
}

redis-server --port 0 --unixsocket "$work/r.sock" --save '' --appendonly no \
	--daemonize no >/dev/null 2>&1 &
redis_pid=$!
for _ in $(seq 100); do [ -S "$work/r.sock" ] && break; sleep 0.05; done
redis="unix://$work/r.sock"

# ---- usage errors ----
run kinds --plugin "$plugin"
check "kinds --plugin lists the plugin's kinds" has "^tally " out
AGORA_TEST_MARKER="$work/marker" run server --ipc "$work/m.sock" \
	--plugin "$marker_plugin"
check "--plugin without the symbol exits 2" [ "$code" -eq 2 ]
check "--plugin without the symbol says so" has "does not define it" err
check "--plugin without the symbol never runs" [ ! -e "$work/marker" ]
run server --help
check "server --help exits 0" [ "$code" -eq 0 ]
check "server --help lists --token-file" has "token-file" out
run server
check "server without address exits 2" [ "$code" -eq 2 ]
AGORA_REDIS_TIMEOUT_MS=5 run server --port 1
check "a bad AGORA_REDIS_TIMEOUT_MS exits 2" [ "$code" -eq 2 ]
check "a bad AGORA_REDIS_TIMEOUT_MS is named" has "AGORA_REDIS_TIMEOUT_MS" err
run server --port 1 --bogus
check "server bad option exits 2" [ "$code" -eq 2 ]
run ctl --help
check "ctl --help exits 0" [ "$code" -eq 0 ]
run ctl --timeout-ms 200 "ipc://$work/none.sock" is-alive
check "ctl: options before the address" has "none.sock: Connection refused" err
run ctl "ipc://$work/none.sock" frob
check "ctl unknown command exits 2" [ "$code" -eq 2 ]
run ctl "ipc://$work/none.sock" is-alive --timeout-ms 200
check "ctl to nobody exits 1" [ "$code" -eq 1 ]
check "ctl to nobody says so at once" has "none.sock: Connection refused" err

# ---- security at start ----
port=$(free_port)
run server --host 0.0.0.0 --port "$port"
check "non-loopback without token exits 2" [ "$code" -eq 2 ]
check "non-loopback refusal explains" has "without a token" err
printf 'short\n' >"$work/badtoken"
run server --port "$port" --token-file "$work/badtoken"
check "short token exits 2" [ "$code" -eq 2 ]

# ---- the guess demo on two child servers ----
src=$(cd "$(dirname "$0")/../.." && pwd)
run run "$src/demos/guess/guess.json" --servers 2 --redis "$redis" --frames
check "guess on child servers exits 0" [ "$code" -eq 0 ]
check "guess moderator averaged 5 answers" has "average of 5 answers" out
run run "$src/demos/guess/guess.json" --servers 0
check "--servers 0 exits 2" [ "$code" -eq 2 ]
run run "$src/demos/guess/guess.json" --connect nowhere
check "--connect without scheme exits 2" [ "$code" -eq 2 ]

# ---- child servers die with their parent, even killed ----
cat >"$work/long.json" <<EOF
{ "agents": [ { "role": "w", "kind": "sleep", "seconds": 30, "placement": "child" } ],
  "script": [ { "send_task_request": { "task": "wait" } }, { "step": {} } ] }
EOF
"$agora" run "$work/long.json" --redis "$redis" \
	--set redis.timeout_ms=1234 >/dev/null 2>&1 &
parent=$!
kid=""
for _ in $(seq 200); do
	kid=$(pgrep -P "$parent" -f "agora server" | head -1)
	[ -n "$kid" ] && break
	sleep 0.05
done
check "a child server started" [ -n "$kid" ]
child_args() { tr '\0' ' ' <"/proc/$kid/cmdline"; }
check "a child waits on Redis as long as its parent" \
	grep -q -- "--redis-timeout-ms 1234 " <(child_args)
kill -9 "$parent"
wait "$parent" 2>/dev/null
gone() { # a pid given, and no such process (or only a zombie for init)
	local st
	[ -n "$1" ] || return 1
	for _ in $(seq 60); do
		st=$(ps -o stat= -p "$1" 2>/dev/null)
		{ [ -z "$st" ] || [ "${st:0:1}" = Z ]; } && return 0
		sleep 0.05
	done
	return 1
}
check "the child server died with its killed parent" gone "$kid"

# ---- a plain server: every ctl command ----
port=$(free_port)
addr="tcp://127.0.0.1:$port"
start_server --port "$port" --plugin "$plugin" --redis "$redis"
check "server with --plugin starts" [ $? -eq 0 ]
check "server says which plugin it loaded" has "loaded plugin" srv.err
run server --port "$port"
check "address in use exits 1" [ "$code" -eq 1 ]
check "address in use is named" has "cannot listen on tcp://127.0.0.1:$port" err
run ctl "127.0.0.1:$port" is-alive
check "is-alive exits 0" [ "$code" -eq 0 ]
check "is-alive prints the protocol" has "protocol: 1" out
run ctl "$addr" create t1 tally --session s1 --redis "$redis"
check "create a plugin kind" [ "$code" -eq 0 ]
# One step of t1 by a scenario on session s1. The scenario creates t1
# again, with options that would make it wait ten minutes: t1 answers
# within the deadline only if the agent made first was kept as it was.
step_t1() { # task
	cat >"$work/t1.json" <<EOF
{ "agents": [ { "role": "t1", "kind": "tally", "delay_ms": 600000,
                "placement": "$addr" } ],
  "script": [ { "send_task_request": { "task": "$1" } },
              { "step": { "deadline_ms": 5000 } } ] }
EOF
	run run "$work/t1.json" --redis "$redis" --session s1 --frames
}
step_t1 first
check "created again by a scenario: kept, it answers at once" \
	ok has "^<t1>: n=1 first m=0$" out
run ctl "$addr" create t1 tally --options '{"delay_ms":600000}' \
	--session s1 --redis "$redis"
check "create twice: success" [ "$code" -eq 0 ]
check "create twice: created once" has "existed: true" out
run ctl "$addr" memory t1 --session s1 --redis "$redis"
check "create twice: the memory is kept" ok has "^t1: n=1 first m=0$" out
step_t1 again
check "create twice: the agent is kept (no delay), its memory too" \
	ok has "^<t1>: n=1 again m=2$" out
run ctl "$addr" create t1 echo --session s1 --redis "$redis"
check "create over another kind exits 1" [ "$code" -eq 1 ]
check "create over another kind says EEXIST" has "EEXIST" err
run ctl "$addr" create t2 nosuchkind --session s1 --redis "$redis"
check "create of an unknown kind exits 1" [ "$code" -eq 1 ]
check "unknown kind is named" has "nosuchkind" err
run ctl "$addr" list
check "list shows the agent" ok has "t1	tally" out
check "list shows it once" [ "$(grep -c "t1	tally" "$work/out")" -eq 1 ]
run ctl "$addr" info
check "info exits 0" [ "$code" -eq 0 ]
check "info has pid" has "pid: $srv_pid" out
check "info has rss" has "rss_kib:" out
check "info has busy" has "busy: 0" out
check "info has queued" has "queued: 0" out
run ctl --json "$addr" info
check "ctl --json: the server's answer as one JSON object" ok has "^{\"ok\":true,\"pid\":$srv_pid," out
run ctl "$addr" memory ghost --session s1 --redis "$redis"
check "memory of an unknown agent exits 1" [ "$code" -eq 1 ]
check "the unknown agent is named" has "no agent 'ghost'" err
run ctl "$addr" create r roleplay --options '{"model":"m"}' --session s1 \
	--redis "$redis"
check "an agent needing an unknown model config fails (T10)" [ "$code" -eq 1 ]
check "the unknown config is named" has "'m'" err
printf '[{"config_name":"m","model_type":"openai_chat","model_name":"x","api_key":"k","client_args":{"base_url":"http://127.0.0.1:9/v1"}}]\n' >"$work/models.json"
run ctl "$addr" set-models "$work/models.json"
check "set-models exits 0" [ "$code" -eq 0 ]
run ctl "$addr" create r roleplay --options '{"model":"m"}' --session s1 \
	--redis "$redis"
check "after set-models it is made (T10)" [ "$code" -eq 0 ]
printf '[{"model_type":"openai_chat"}]\n' >"$work/badmodels.json"
run ctl "$addr" set-models "$work/badmodels.json"
check "bad set-models exits 1" [ "$code" -eq 1 ]
check "bad set-models says what is wrong" has "missing 'model_name'" err
run ctl "$addr" delete t1 --session s1 --redis "$redis"
check "delete exits 0" [ "$code" -eq 0 ]
run ctl "$addr" list
check "deleted agent gone" ok not_has "t1	tally" out
check "the others stay" ok has "r	roleplay" out
run ctl "$addr" create t3 echo --session s1 --redis "$redis"
check "create another" [ "$code" -eq 0 ]
run ctl "$addr" delete-all
check "delete-all exits 0" [ "$code" -eq 0 ]
check "delete-all says how many went" has "deleted: 2" out
run ctl "$addr" list
check "delete-all empties" ok [ ! -s "$work/out" ]

# ---- the server registry ----
# The server beats at once when it starts, then every second: wait for it.
beat() {
	redis-cli -s "$work/r.sock" HGET agora:servers "$addr" >"$work/out" 2>/dev/null &&
		has "\"pid\":$srv_pid" out
}
for _ in $(seq 100); do beat && break; sleep 0.05; done
check "server beats in the registry" beat

# ---- a scenario placing agents on it ----
cat >"$work/scen.json" <<EOF
{ "agents": [
    { "role": "a", "kind": "tally", "placement": "$addr" },
    { "role": "b", "kind": "echo", "placement": "$addr" } ],
  "script": [ { "send_task_request": { "task": "hi" } }, { "step": {} } ] }
EOF
run run "$work/scen.json" --redis "$redis" --frames
check "scenario on an independent server exits 0" [ "$code" -eq 0 ]
check "plugin agent answered" has "^<a>: n=1 hi m=0$" out
check "echo agent answered" has "^<b>: hi$" out
# auto: the least-loaded live server of the registry (T11)
cat >"$work/auto.json" <<EOF
{ "agents": [ { "role": "auto1", "kind": "echo", "placement": "auto" } ],
  "script": [ { "send_task_request": { "task": "hi" } }, { "step": {} } ] }
EOF
run run "$work/auto.json" --redis "$redis" --session autos --frames
check "auto placement runs" [ "$code" -eq 0 ]
run ctl "$addr" list
check "auto placed it on the registered server" ok has "autos	auto1	echo" out
run ctl "$addr" stop
check "stop exits 0" [ "$code" -eq 0 ]
stopped "$srv_pid"
check "server exits 0 after stop" [ $? -eq 0 ]
redis-cli -s "$work/r.sock" HGET agora:servers "$addr" >"$work/out" 2>/dev/null
code=$?
check "a stopped server leaves the registry" ok not_has pid out
run run "$work/auto.json" --redis "$redis" --session autos2 --frames
check "auto with no live server falls back to a child" [ "$code" -eq 0 ]
# A server that died a moment ago still looks live in the registry.
redis-cli -s "$work/r.sock" HSET agora:servers "ipc://$work/dead.sock" \
	"{\"pid\":1,\"agents\":0,\"busy\":0,\"ts_ms\":$(date +%s%3N)}" >/dev/null
run run "$work/auto.json" --redis "$redis" --session autos3 --frames
check "auto skips a registered server that does not answer" [ "$code" -eq 0 ]

# ---- a token-guarded server ----
printf 'abcdefghijklmnop0123\n' >"$work/token"
printf 'wrongwrongwrongwrong\n' >"$work/wrong"
start_server --port "$port" --token-file "$work/token"
run ctl "$addr" stop
check "untokened stop refused" [ "$code" -eq 1 ]
check "refusal says EAUTH" has "EAUTH" err
run ctl "$addr" stop --token-file "$work/wrong"
check "wrong token refused" [ "$code" -eq 1 ]
check "wrong token: refused by the server (EAUTH)" has "EAUTH" err
run ctl "$addr" is-alive
check "still alive after refusals" [ "$code" -eq 0 ]
run ctl "$addr" list
check "untokened list refused" [ "$code" -eq 1 ]
check "untokened list: refused by the server (EAUTH)" has "EAUTH" err
run ctl "$addr" list --token-file "$work/token"
check "tokened list accepted" [ "$code" -eq 0 ]
run ctl "$addr" stop --token-file "$work/token"
check "tokened stop accepted" [ "$code" -eq 0 ]
check "... and the server exits 0" stopped "$srv_pid"

# ---- TLS: tls+tcp:// with a certificate, checked by the client ----
if command -v openssl >/dev/null; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
		-addext subjectAltName=DNS:localhost -keyout "$work/key.pem" \
		-out "$work/cert.pem" >/dev/null 2>&1
	cat "$work/cert.pem" "$work/key.pem" >"$work/both.pem"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
		-keyout "$work/key2.pem" -out "$work/other.pem" >/dev/null 2>&1
	port=$(free_port)
	addr="tls+tcp://localhost:$port"
	"$agora" server --host localhost --port "$port" \
		--tls-cert "$work/both.pem" >/dev/null 2>>"$work/srv.err" &
	srv_pid=$!
	pids+=("$srv_pid")
	for _ in $(seq 100); do
		"$agora" ctl "$addr" is-alive --tls-ca "$work/cert.pem" \
			--timeout-ms 100 >/dev/null 2>&1 && break
		sleep 0.05
	done
	run ctl "$addr" is-alive --tls-ca "$work/cert.pem"
	check "TLS: the right CA connects" [ "$code" -eq 0 ]
	run ctl "$addr" is-alive
	check "TLS: no CA is refused" [ "$code" -eq 1 ]
	check "TLS: the missing CA is explained" has "needs a CA file" err
	run ctl "$addr" is-alive --tls-ca "$work/other.pem" --timeout-ms 1000
	check "TLS: a server signed by another CA is not trusted" [ "$code" -eq 1 ]
	check "TLS: ... in the handshake (the server is up)" \
		has "TLS: Cryptographic error" err
	run run "$src/demos/guess/guess.json" --redis "$redis" --connect "$addr" \
		--set "server.tls_ca=$work/cert.pem"
	check "TLS: a scenario on the server" [ "$code" -eq 0 ]
	run ctl "$addr" stop --tls-ca "$work/cert.pem"
	stopped "$srv_pid"
	run server --ipc "$work/t.sock" --tls-cert "$work/both.pem"
	check "TLS: --tls-cert with --ipc exits 2" [ "$code" -eq 2 ]
else
	echo "server cli: TLS checks skipped: openssl is not installed"
fi

# ---- --agent-dir loads only plugins, checked before they run ----
# marker_plugin's constructor writes $AGORA_TEST_MARKER if it ever runs.
export AGORA_TEST_MARKER="$work/marker"
mkdir -p "$work/agents"
cp "$plugin" "$work/agents/tally.so"
printf 'not an ELF file\n' >"$work/agents/junk.so"
printf 'echo should never run\n' >"$work/agents/readme.py"
cp "$marker_plugin" "$work/agents/marker.so"
cp "$marker_plugin" "$work/agents/.hidden.so"
cp "$plugin" "$work/agents/.tally.so"
head -c 3000 "$plugin" >"$work/agents/cut.so"
mkfifo "$work/agents/fifo.so"
addr="ipc://$work/s.sock"
: >"$work/srv.err"
start_server --ipc "$work/s.sock" --agent-dir "$work/agents"
check "agent-dir server starts" [ $? -eq 0 ]
check "agent-dir says what it loaded" has "tally.so" srv.err
check "agent-dir says what it skipped" has "skipped.*junk.so" srv.err
check "a .so without the plugin symbol never runs" [ ! -e "$work/marker" ]
check "the skip names the missing definition" \
	has "skipped.*marker.so: it names agora_plugin_register() but does not define it" srv.err
check "a truncated .so is reported and skipped" has "skipped.*cut.so" srv.err
check "a FIFO is skipped" has "skipped.*fifo.so: not a regular file" srv.err
check "dot-files are not even read" not_has "\.hidden\.so\|\.tally\.so" srv.err
check "only tally.so loaded" [ "$(grep -c '\.so$' "$work/srv.err")" -eq 1 ]
run ctl "$addr" create t tally --session s2 --redis "$redis"
check "agent-dir kind usable" [ "$code" -eq 0 ]
run ctl "$addr" stop
stopped "$srv_pid"
check "ipc socket removed at stop" [ ! -e "$work/s.sock" ]

# Servers built with sanitizers report there; nothing may be reported.
no_reports() { ! grep -qE "Sanitizer|runtime error" "$work/srv.err"; }
cp "$work/srv.err" "$work/err"
check "no sanitizer reports from the servers" no_reports

# ---- child servers' sockets: a private directory, gone afterwards ----
printf '{"agents":[{"role":"kid","kind":"sleep","seconds":30,"placement":"child"}],"script":[{"send_task_request":{"task":"x"}},{"step":{}}]}' >"$work/kid.json"
"$agora" run "$work/kid.json" --redis "$redis" --session kids >"$work/out" 2>"$work/err" &
kpid=$!
kaddr=""
for _ in $(seq 400); do
	kaddr=$(redis-cli -s "$work/r.sock" HGET "agora:{kids}:agent:kid" server 2>/dev/null)
	[ -n "$kaddr" ] && break
	sleep 0.05
done
kdir=$(dirname "${kaddr#ipc://}")
check "a child is registered with its address" [ -n "$kaddr" ]
check "a child listens in a directory of its own ($kdir)" [ "$kdir" != /tmp ]
check "only we may enter it" [ "$(stat -c '%a %u' "$kdir" 2>/dev/null)" = "700 $(id -u)" ]
kill -INT "$kpid"
wait "$kpid"
check "the directory is gone with the run" [ ! -e "$kdir" ]

# ---- ipc: a server run by another user gets nothing from us ----
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 &&
	command -v setpriv >/dev/null && runuser -u nobody -- test -x "$agora"; then
	evil=$(mktemp -d)
	chmod 0777 "$evil"
	# setpriv execs the server itself, so $! is its pid.
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$agora" server --ipc "$evil/s.sock" >/dev/null 2>&1 &
	epid=$!
	pids+=("$epid")
	# Up to 30 s: under a sanitizer on a busy machine it starts slowly.
	for _ in $(seq 600); do
		runuser -u nobody -- "$agora" ctl "ipc://$evil/s.sock" is-alive >/dev/null 2>&1 && break
		sleep 0.05
	done
	printf '{"agents":[{"role":"x","kind":"echo","placement":"ipc://%s/s.sock"}],"script":[{"send_task_request":{"task":"for us only"}},{"step":{}}]}' "$evil" >"$work/evil.json"
	run run "$work/evil.json" --redis "$redis" --session evil
	check "another user's server is refused (exit 1)" [ "$code" -eq 1 ]
	check "it says whose it is" has "runs as uid $(id -u nobody), not us" err
	# A long deadline: our refused run reconnected to it in a storm (each
	# connection closed at once), which a sanitizer build takes a while
	# to drain.
	runuser -u nobody -- "$agora" ctl "ipc://$evil/s.sock" info \
		--timeout-ms 30000 >"$work/out" 2>"$work/err"
	check "its owner can ask it what it got" [ $? -eq 0 ]
	check "it never got a request for a session of ours" has "^sessions: 0" out
	runuser -u nobody -- "$agora" ctl "ipc://$evil/s.sock" stop >/dev/null 2>&1
	stopped "$epid"
	# The other way round: our ipc server, its socket open to all (a lax
	# umask), admits nobody else.
	"$agora" server --ipc "$evil/ours.sock" 2>"$work/ours.log" &
	opid=$!
	pids+=("$opid")
	until "$agora" ctl "ipc://$evil/ours.sock" is-alive >/dev/null 2>&1; do
		kill -0 "$opid" || break
	done
	chmod 0777 "$evil/ours.sock"
	runuser -u nobody -- "$agora" ctl --timeout-ms 1000 "ipc://$evil/ours.sock" info >"$work/out" 2>"$work/err"
	check "another user gets nothing from our ipc server" [ $? -eq 1 ]
	check "it was refused, not ignored" has "refused a connection from uid $(id -u nobody)" ours.log
	kill "$opid"
	stopped "$opid"
	rm -rf "$evil"
else
	echo "server cli: skipped the other-user ipc check (needs root and a user nobody)"
fi

echo "server cli: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
