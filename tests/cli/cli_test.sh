#!/usr/bin/env bash
# The agora command as a user meets it: help, exit codes, errors that name
# the problem, the demos, --json, --redis (with a password), chat on stdin,
# a missing redis-server, and Ctrl-C cleaning up the private Redis.
# usage: cli_test.sh AGORA_BINARY SOURCE_DIR FAKE_LLM_BINARY
set -u
agora=$1
src=$2
fake_llm=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/lib.sh"

run --help
check "help exits 0" [ "$code" -eq 0 ]
check "help lists run" has "run FILE" out
run
check "no command exits 2" [ "$code" -eq 2 ]
run frobnicate
check "unknown command exits 2" [ "$code" -eq 2 ]
check "unknown command is named" has "unknown command 'frobnicate'" err
run run --help
check "run --help exits 0" [ "$code" -eq 0 ]
check "run --help lists config keys" has "step.deadline_ms" out
run chat --help
check "chat --help exits 0" [ "$code" -eq 0 ]
run run
check "run without file exits 2" [ "$code" -eq 2 ]
run run a.json --bogus
check "bad option exits 2" [ "$code" -eq 2 ]
check "bad option is named" has "'--bogus'" err
run run "$work/missing.json"
check "missing file exits 2" [ "$code" -eq 2 ]
check "missing file is named" has "missing.json" err

printf '{\n  "agents": [\n    {"role": "a", "kind": "echo"},\n  ]\n}\n' >"$work/bad.json"
run run "$work/bad.json"
check "malformed file exits 2" [ "$code" -eq 2 ]
check "malformed file names file and line" has "bad.json: line 4" err

printf '{"agents":[{"role":"a","kind":"echo"}],"script":[{"step":{"allowed_roles":"ghost"}}]}' >"$work/ghost.json"
run run "$work/ghost.json"
check "unknown role exits 2" [ "$code" -eq 2 ]
check "unknown role is named" has "unknown role 'ghost'" err

# Habits every command keeps: -h as well as --help, --version, --json
# where a command prints data, options before or after arguments.
for cmd in run chat memory history server ctl lace kinds version; do
	run "$cmd" -h
	check "$cmd -h exits 0" [ "$code" -eq 0 ]
	check "$cmd -h prints usage" has "usage: agora" out
done
run --version
check "--version exits 0" [ "$code" -eq 0 ]
check "--version prints it" has "^agora [0-9]" out
run version --json
check "version --json" has '^{"version":"[0-9.]*","protocol":1}$' out
run kinds --json
check "kinds --json: one object a kind" has '^{"kind":"echo","summary":' out
check "kinds --json: nothing else" bash -c "! grep -v '^{\"kind\":' '$work/out'"
for cmd in "run x.json" "chat x.json" "memory r" history "server --port 1" \
	"ctl 127.0.0.1:1 info" "lace obs 127.0.0.1:1" kinds version; do
	# shellcheck disable=SC2086
	run $cmd --bogus
	check "$cmd --bogus exits 2" [ "$code" -eq 2 ]
	check "$cmd --bogus is named" has "'--bogus'" err
done
run history --limit -3 --redis unix:///x --session s
check "a negative --limit exits 2" [ "$code" -eq 2 ]
check "a negative --limit is named" has "limit: expected a number" err
run run --json --session optfirst "$src/demos/guess/guess.json"
check "run: options before the file" [ "$code" -eq 0 ]
check "run: options before the file apply" has '"role":"moderator"' out
run run "$src"
check "a directory as the scenario exits 2" [ "$code" -eq 2 ]
check "a directory as the scenario is named" has "a directory, not a file" err
start=$(date +%s%N)
run run --connect tcp://127.0.0.1:1 "$src/demos/guess/guess.json"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
check "an unreachable agent server exits 1" [ "$code" -eq 1 ]
check "an unreachable agent server is named" has "tcp://127.0.0.1:1: Connection refused" err
echo "cli: an unreachable server took $elapsed_ms ms to report (a second of grace for a starting one)"

# The README's C example, whole, runs.
"$(dirname "$agora")/../demos/hello/hello" >"$work/out" 2>"$work/err"
code=$?
check "demos/hello (the README's C example) runs" [ "$code" -eq 0 ]
check "demos/hello: joe echoes the task" has "<joe>: How do we land on the moon?" out

# The scenario examples in the docs run as written.
awk '/^```json$/ {on=1; next} /^```$/ {if (on) exit} on' \
	"$src/docs/scenario.md" >"$work/doc-example.json"
run run "$work/doc-example.json"
check "docs/scenario.md's example runs" [ "$code" -eq 0 ]
check "docs/scenario.md's example: count made voter3" has "<voter3>: " out
awk '/^```json$/ {n++; if (n == 2) {on=1; next}} /^```$/ {if (on) exit} on' \
	"$src/docs/scenario.md" >"$work/doc-loop.json"
printf 'hi\n/quit\n' | "$agora" chat "$work/doc-loop.json" >"$work/out" 2>"$work/err"
code=$?
check "docs/scenario.md's loop example runs" ok has "^<bot>: You said: hi$" out
check "docs/scenario.md's loop example: you left" has "you left in round 2" err
awk '/^```json$/ {on=1; next} /^```$/ {if (on) exit} on' \
	"$src/README.md" >"$work/readme-example.json"
run run "$work/readme-example.json"
check "the README's scenario runs" [ "$code" -eq 0 ]
check "the README's scenario: trump echoes joe" has "<trump>: Joe says: The moon, with allies." out

run run --set step.deadline_ms=oops "$src/demos/guess/guess.json"
check "bad config value exits 2" [ "$code" -eq 2 ]
check "bad config value is named" has "step.deadline_ms" err

run run "$src/demos/debate/debate.json"
check "debate exits 0" [ "$code" -eq 0 ]
check "debate streams joe first" has "<joe_biden>: Hillary, between us" out
check "debate summary on stderr" has "debate: 4 steps" err
awk '/^\$ build\/cli\/agora run demos\/debate\/debate.json$/ {on=1; next}
	on && /^\.\.\.$/ {exit} on' "$src/README.md" >"$work/tour"
check "the README's tour shows the debate as it runs" bash -c \
	"[ -s '$work/tour' ] && head -n \$(wc -l <'$work/tour') '$work/out' | cmp -s - '$work/tour'"

run run --json "$src/demos/guess/guess.json"
check "guess --json exits 0" [ "$code" -eq 0 ]
check "json frames" has '{"role":"moderator","type":"chunk"' out
check "every json line is a frame" bash -c "! grep -v '^{\"role\":' '$work/out'"

run run --frames "$src/demos/guess/guess.json"
check "frames mode" has "<moderator>: \[end\]" out

run run --redis unix:///nonexistent/redis.sock "$src/demos/guess/guess.json"
check "unreachable redis exits 1" [ "$code" -eq 1 ]
check "unreachable redis is explained" has "cannot connect to unix:///nonexistent/redis.sock" err

mkdir -p "$work/empty-path"
PATH="$work/empty-path" "$agora" run "$src/demos/guess/guess.json" >"$work/out" 2>"$work/err"
code=$?
check "missing redis-server exits 1" [ "$code" -eq 1 ]
check "missing redis-server says how to install" has "apt-get install redis-server" err

printf '{"agents":[{"role":"slow","kind":"sleep","seconds":2}],"script":[{"send_task_request":{"task":"x"}},{"step":{"deadline_ms":50}}]}' >"$work/late.json"
run run "$work/late.json"
check "agent errors exit 3" [ "$code" -eq 3 ]
check "timeout frame shown" has "<slow>: \[error\] timed out" out

# Demos with a model: the fake OpenAI server as the config "default".
"$fake_llm" >"$work/fake.out" 2>&1 &
fpid=$!
for _ in $(seq 100); do grep -q PORT "$work/fake.out" && break; sleep 0.05; done
port=$(awk '/PORT/ {print $2}' "$work/fake.out")
printf '[{"config_name":"default","model_type":"openai_chat","model_name":"echo","api_key_env":"AGORA_CLI_TEST_KEY","client_args":{"base_url":"http://127.0.0.1:%s/v1"}}]' "$port" >"$work/models.json"
run run "$src/demos/debate/debate.json"
check "demo without a model says so" has "no model config 'default'" err
AGORA_CLI_TEST_KEY=sk-cli-secret "$agora" run --model-config "$work/models.json" \
	"$src/demos/debate/debate.json" >"$work/out" 2>"$work/err"
code=$?
check "debate with a model exits 0" [ "$code" -eq 0 ]
check "the model answered" has "<joe_biden>: What is the best solution to land on the moon?" out
check "no fallback note with a model" bash -c "! grep -q 'no model config' '$work/err'"
check "the key is not printed" bash -c "! grep -q 'sk-cli-secret' '$work/out' '$work/err'"
"$agora" run --model-config "$work/models.json" "$src/demos/debate/debate.json" \
	>"$work/out" 2>"$work/err"
code=$?
check "a missing key exits 2" [ "$code" -eq 2 ]
check "a missing key is explained" has "environment variable AGORA_CLI_TEST_KEY is not set" err
printf '[{"config_name":"x","model_type":"gpt"}]' >"$work/badmodels.json"
run run --model-config "$work/badmodels.json" "$src/demos/debate/debate.json"
check "a bad model config exits 2" [ "$code" -eq 2 ]
check "a bad model config is explained" has "badmodels.json\[0\]: model_type 'gpt'" err
kill "$fpid" 2>/dev/null
wait "$fpid" 2>/dev/null

# An existing Redis, a fixed session, and chat with a person on stdin.
redis-server --port 0 --unixsocket "$work/r.sock" --save '' --appendonly no \
	--daemonize no --dir "$work" >"$work/redis.log" 2>&1 &
rpid=$!
for _ in $(seq 100); do [ -S "$work/r.sock" ] && break; sleep 0.05; done
printf 'hello from me\n' | "$agora" chat --redis "unix://$work/r.sock" \
	--session clitest "$src/demos/chatroom/chatroom.json" >"$work/out" 2>"$work/err"
code=$?
check "chat exits 0" [ "$code" -eq 0 ]
check "chat asked the person" has "\[you\] your words" err
check "chat stored the person's words" bash -c \
	"redis-cli -s '$work/r.sock' HVALS 'agora:{clitest}:msg' | grep -q 'hello from me'"
check "registry kept in redis" bash -c \
	"redis-cli -s '$work/r.sock' HGET 'agora:{clitest}:agent:you' human | grep -q 1"
"$agora" memory you --redis "unix://$work/r.sock" --session clitest >"$work/out" 2>"$work/err"
code=$?
check "memory exits 0" [ "$code" -eq 0 ]
check "memory shows the person's words as theirs" has "assistant you -> all: hello from me" out
"$agora" history --redis "unix://$work/r.sock" --session clitest --json --limit 2 >"$work/out" 2>"$work/err"
check "history --json --limit" [ "$(grep -c '^{"id":' "$work/out")" -eq 2 ]
"$agora" memory --json you --redis "unix://$work/r.sock" --session clitest >"$work/out" 2>"$work/err"
check "memory --json: JSON lines" [ "$(grep -c '^{"id":' "$work/out")" -ge 1 ]
check "memory --json: nothing else" bash -c "! grep -v '^{\"id\":' '$work/out'"
printf 'json words\n' | "$agora" chat --json --redis "unix://$work/r.sock" \
	--session clitest3 "$src/demos/chatroom/chatroom.json" >"$work/out" 2>"$work/err"
check "chat --json: frames as JSON lines" has '{"role":"you","type":"awaiting_input"' out
check "chat --json: nothing else" bash -c "! grep -v '^{\"role\":' '$work/out'"
run memory you
check "memory without --redis exits 2" [ "$code" -eq 2 ]
check "memory without --redis says what it needs" has "needs --redis URL, --session ID" err
"$agora" chat --redis "unix://$work/r.sock" --session clitest2 \
	"$src/demos/chatroom/chatroom.json" >"$work/out" 2>"$work/err" </dev/null
code=$?
check "chat at end of input exits 0" [ "$code" -eq 0 ]

# The chatbot goes on until you leave: /quit or end of input ends it
# cleanly (exit 0), the session kept in Redis, nothing in flight.
bot=$src/demos/chatbot/chatbot.json
printf 'hi\nhello\n/quit\n' | "$agora" chat --redis "unix://$work/r.sock" \
	--session bot1 "$bot" >"$work/out" 2>"$work/err"
code=$?
check "chatbot: /quit exits 0" [ "$code" -eq 0 ]
check "chatbot: the first reply" has "^<bot>: You said: hi$" out
check "chatbot: the second reply" has "^<bot>: You said: hello$" out
check "chatbot: says you left" has "script\[1\].loop: you left in round 3" err
check "chatbot: says how to go on" has "agora chat $bot --session bot1" err
"$agora" history --redis "unix://$work/r.sock" --session bot1 >"$work/out" 2>"$work/err"
check "chatbot: the session kept, all of it" [ "$(grep -c -e 'you -> all: hi' \
	-e 'you -> all: hello' -e 'bot -> all: You said: h' "$work/out")" -eq 4 ]
check "chatbot: nothing in flight" [ "$(redis-cli -s "$work/r.sock" LLEN 'agora:{bot1}:inflight:bot')$(redis-cli -s "$work/r.sock" LLEN 'agora:{bot1}:inflight:you')" = 00 ]
printf 'hi\n' | "$agora" chat --redis "unix://$work/r.sock" \
	--session bot2 "$bot" >"$work/out" 2>"$work/err"
code=$?
check "chatbot: end of input exits 0" [ "$code" -eq 0 ]
check "chatbot: the reply before end of input" has "^<bot>: You said: hi$" out
check "chatbot: end of input leaves the loop" has "you left in round 2" err
run run "$bot"
check "chatbot: run with nobody exits 0" [ "$code" -eq 0 ]
check "chatbot: run says the loop had nobody" has "nobody to ask, so it stopped after 1 round" err
run run --max-loops 3 "$bot"
check "chatbot: --max-loops 3" has "stopped after 3 rounds" err
run run --max-loops 0 "$bot"
check "chatbot: a bad --max-loops exits 2" [ "$code" -eq 2 ]

# A signal mid-step gives back what the agents drained, in a shared Redis:
# at once, not a lease later.
printf '{"agents":[{"role":"slow","kind":"sleep","seconds":30}],"script":[{"send_task_request":{"task":"x"}},{"step":{}}]}' >"$work/long.json"
for sig in INT TERM; do
	"$agora" run --redis "unix://$work/r.sock" --session "sig$sig" \
		"$work/long.json" >"$work/out" 2>"$work/err" &
	apid=$!
	for _ in $(seq 400); do
		[ "$(redis-cli -s "$work/r.sock" LLEN "agora:{sig$sig}:inflight:slow")" = 1 ] && break
		sleep 0.05
	done
	check "SIG$sig: the step drained first" [ "$(redis-cli -s "$work/r.sock" LLEN "agora:{sig$sig}:inflight:slow")" = 1 ]
	kill -"$sig" "$apid"
	wait "$apid"
	code=$?
	[ "$sig" = INT ] && want=130 || want=143
	check "SIG$sig: the run exits $want" [ "$code" -eq "$want" ]
	check "SIG$sig: says it was interrupted" has "interrupted" err
	check "SIG$sig: nothing left in flight" [ "$(redis-cli -s "$work/r.sock" LLEN "agora:{sig$sig}:inflight:slow")" = 0 ]
	check "SIG$sig: the message is back, marked redelivered, alone" [ "$(redis-cli -s "$work/r.sock" LRANGE "agora:{sig$sig}:inbox:slow" 0 -1)" = r1 ]
done
kill "$rpid" 2>/dev/null
wait "$rpid" 2>/dev/null

# A Redis with a password on a unix socket: the password in the URL or in
# AGORA_REDIS_PASSWORD, sent to child servers, and never printed.
redis-server --port 0 --unixsocket "$work/pw.sock" --requirepass sekrit \
	--save '' --appendonly no --daemonize no --dir "$work" >/dev/null 2>&1 &
rpid=$!
for _ in $(seq 100); do [ -S "$work/pw.sock" ] && break; sleep 0.05; done
AGORA_REDIS_PASSWORD=sekrit run run "$src/demos/guess/guess.json" \
	--redis "unix://$work/pw.sock" --session pw1 --log-level debug
check "AGORA_REDIS_PASSWORD opens a unix-socket redis" [ "$code" -eq 0 ]
check "the password is not in the debug log" not_has sekrit err
check "... nor in the output" not_has sekrit out
run run "$src/demos/guess/guess.json" --redis "unix://:sekrit@$work/pw.sock" \
	--session pw2 --servers 1 --log-level debug
check "unix://:password@/path, child servers too" [ "$code" -eq 0 ]
check "... and the password is not in their log" not_has sekrit err
run history --redis "unix://:sekrit@$work/pw.sock" --session pw1
check "history with the password" [ "$code" -eq 0 ]
check "history read the session" has "average" out
run history --redis "unix://:wrongpw@$work/pw.sock" --session pw1
check "a wrong password exits 1" [ "$code" -eq 1 ]
check "a wrong password is explained, hidden" has "unix://\*\*\*@/.*AUTH failed" err
check "... never shown" not_has wrongpw err
printf '{"redis": {"password": "sekrit"}}\n' >"$work/pw.json"
run history --redis "unix://$work/pw.sock" --session pw1 --config "$work/pw.json"
check "redis.password in a config file" [ "$code" -eq 0 ]
kill "$rpid" 2>/dev/null
wait "$rpid" 2>/dev/null

# Ctrl-C stops the private Redis and removes its directory.
mkdir -p "$work/tmp"
TMPDIR="$work/tmp" "$agora" run "$work/long.json" >"$work/out" 2>"$work/err" &
apid=$!
sock=""
for _ in $(seq 400); do
	sock=$(ls "$work"/tmp/*/redis.sock 2>/dev/null | head -n 1)
	[ -n "$sock" ] && [ -n "$(redis-cli -s "$sock" --scan --pattern 'agora:*:inflight:slow' 2>/dev/null)" ] && break
	sleep 0.05
done
check "the run's step drained (its in-flight list is there)" [ -n "$sock" ]
redis_pid=$(pgrep -P "$apid" redis-server)
check "private redis runs as a child" [ -n "$redis_pid" ]
kill -INT "$apid"
wait "$apid"
code=$?
check "interrupted run exits 130" [ "$code" -eq 130 ]
check "private redis directory removed" [ -z "$(ls "$work/tmp")" ]
gone() { # a pid given, and no such process (or only a zombie for init)
	local st
	[ -n "$1" ] || return 1
	st=$(ps -o stat= -p "$1" 2>/dev/null)
	[ -z "$st" ] || [ "${st:0:1}" = Z ]
}
check "private redis stopped" gone "$redis_pid"

# Killed outright (SIGKILL, nothing of ours runs): its child servers and
# private Redis are told (SIGTERM), stop, and take their sockets with them.
TMPDIR="$work/tmp" "$agora" run --servers 2 "$work/long.json" >"$work/out" 2>"$work/err" &
apid=$!
for _ in $(seq 400); do
	[ "$(pgrep -P "$apid" -f 'agora server' | wc -l)" -eq 2 ] &&
		[ "$(find "$work/tmp" -type s -name 'child-*' | wc -l)" -eq 2 ] && break
	sleep 0.05
done
kids=$(pgrep -P "$apid" | tr '\n' ' ')
check "the run has its children (2 servers, a redis)" [ "$(echo $kids | wc -w)" -eq 3 ]
kill -KILL "$apid"
wait "$apid" 2>/dev/null
for _ in $(seq 200); do
	left=0
	for k in $kids; do gone "$k" || left=1; done
	[ "$left" -eq 0 ] && [ -z "$(find "$work/tmp" -type s)" ] && break
	sleep 0.05
done
for k in $kids; do check "child $k stopped with its parent" gone "$k"; done
check "no socket left behind" [ -z "$(find "$work/tmp" -type s)" ]
check "the children's directory went with them" [ -z "$(find "$work/tmp" -name 'child-*')" ]

echo "cli: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
