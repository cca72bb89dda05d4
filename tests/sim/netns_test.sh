#!/usr/bin/env bash
# Agent servers on several hosts, the hosts being network namespaces on
# this machine (scripts/netns-hosts; DESIGN.md section 14, docs/scale.md):
# Redis and the driver in h0, an agent server in h1 and in h2 (listening on
# its own address, with a token), the guessing game's participants spread
# over the two. In the middle of a round h1's link is cut: h1's
# participants fail within the server timeout with an error frame, their
# messages go back to their inboxes, h2's are counted, the run exits 3.
# The link is healed and the next round counts everyone. Every namespace
# and process goes at the end, also when the test fails or is interrupted.
# Skips (77) where namespaces cannot be made (not root, no CAP_NET_ADMIN).
#
# usage: netns_test.sh AGORA_BINARY
# Sizes from the environment (scripts/netns-bench sets them for 100,000):
#   NETNS_PARTICIPANTS (10000), NETNS_THINK_MS (5000; long enough for the
#   cut to land while h1's participants think), NETNS_TIMEOUT_MS (2000, the
#   driver's server.timeout_ms), NETNS_SERVERS_PER_HOST (1; a server
#   takes a step's turns in requests of at most 256 KiB, about 25,000
#   turns: see docs/scale.md for why more per server fail when they think
#   longer than the timeout).
set -u
agora=$1
n=${NETNS_PARTICIPANTS:-10000}
think_ms=${NETNS_THINK_MS:-5000}
timeout_ms=${NETNS_TIMEOUT_MS:-2000} # h1 is lost 1 s + this after the cut
margin_ms=3000                       # ... plus this on a loaded machine
per=${NETNS_SERVERS_PER_HOST:-1}
src=$(cd "$(dirname "$0")/../.." && pwd)
hosts=$src/scripts/netns-hosts
prefix=nt$$
work=$(mktemp -d)
# The driver's exit status and output (the check helpers of lib.sh show
# $work/out and $work/err when a check fails).
code=0

cleanup() {
	"$hosts" down "$prefix"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
. "$src/tests/cli/lib.sh"

# ---- the hosts ----
# Leftovers of runs killed outright (a ctest timeout sends SIGKILL, which
# no trap sees) go first: only sets whose owner is gone.
"$hosts" down --stale
"$hosts" up "$prefix" --owner $$ 2>"$work/up.err"
rc=$?
if [ $rc -eq 4 ]; then
	echo "SKIP: $(cat "$work/up.err")"
	exit 77
fi
[ $rc -eq 0 ] || {
	cat "$work/up.err"
	exit 1
}
on() { # HOST CMD...: CMD in that host's namespace (exec'd: $! is CMD's)
	"$hosts" exec "$prefix" "$@"
}
not() { ! "$@"; }
pids=() # every process the test started, to check they are gone
now_ms() { date +%s%3N; }
net=10.231
redis_host=$net.0.1 # h0's own address: up whichever link is cut
# The servers: ports 7101... on h1 and h2; the driver connects to them
# alternately (h1, h2, h1 ...), and places participants round-robin, so
# h1 gets p1, p3, p5 ...
h1_srvs=() h2_srvs=() connect=()
for ((i = 1; i <= per; i++)); do
	h1_srvs+=("tcp://$net.1.2:$((7100 + i))")
	h2_srvs+=("tcp://$net.2.2:$((7100 + i))")
	connect+=(--connect "tcp://$net.1.2:$((7100 + i))"
		--connect "tcp://$net.2.2:$((7100 + i))")
done

# ---- Redis in h0, with a password, nothing on disk ----
umask 077
pw=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$work/token"
cat >"$work/redis.conf" <<EOF
bind $redis_host $net.1.1 $net.2.1
port 6379
requirepass $pw
save ""
appendonly no
dir $work
EOF
export AGORA_REDIS_PASSWORD=$pw REDISCLI_AUTH=$pw
on h0 redis-server "$work/redis.conf" >"$work/redis.log" 2>&1 &
pids+=($!)
rcli() { on h0 redis-cli -h "$redis_host" "$@"; }
up_by() { # deadline_s CMD...: true once CMD succeeds; false at the
	# deadline, or at once if CMD returns 2 (it will never succeed)
	local end=$(($(date +%s) + $1)) rc
	shift
	while :; do
		"$@" >/dev/null 2>&1
		rc=$?
		[ $rc -eq 0 ] && return 0
		[ $rc -ne 2 ] && [ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.05
	done
}
pong() { [ "$(rcli ping 2>/dev/null)" = PONG ]; }
check "Redis answers in h0" up_by 20 pong

# ---- agent servers in h1 and in h2, each on its host's address ----
for k in 1 2; do
	for ((i = 1; i <= per; i++)); do
		on "h$k" "$agora" server --host "$net.$k.2" --port $((7100 + i)) \
			--token-file "$work/token" --redis "redis://$net.$k.1:6379" \
			>/dev/null 2>>"$work/server$k.log" &
		pids+=($!)
	done
done
ctl() { on h0 "$agora" ctl "$@" --token-file "$work/token"; }
for a in "${h1_srvs[@]}" "${h2_srvs[@]}"; do
	check "the server $a answers from h0" up_by 30 ctl "$a" is-alive --timeout-ms 200
done
s2=${h2_srvs[0]}
untokened() { # the h2 server refuses a list without the token
	on h0 "$agora" ctl "$s2" list >"$work/out" 2>"$work/err"
	[ $? -eq 1 ] && has EAUTH err
}
check "the h2 server refuses a request without the token" untokened
both_beat() { [ "$(rcli HLEN agora:servers)" = $((2 * per)) ]; }
check "the servers beat in h0's Redis" up_by 10 both_beat

# ---- the game: a moderator in h0, n participants on the two servers ----
session=netns$$
cat >"$work/guess.json" <<EOF
{ "agents": [
    { "role": "moderator", "kind": "moderator", "placement": "local" },
    { "role": "p", "kind": "random", "max": 100, "think_ms": $think_ms,
      "count": $n } ],
  "script": [
    { "send_task_request": { "task": "Guess a whole number from 0 to 100.",
                             "send_from": "moderator" } },
    { "step": { "send_to": "moderator" } },
    { "step": { "allowed_roles": "moderator" } } ] }
EOF
driver() { # runs one round in h0, in the background; sets drv
	on h0 "$agora" run "$work/guess.json" --session "$session" \
		--redis "redis://$redis_host:6379" "${connect[@]}" \
		--set "server.token_file=$work/token" \
		--set "server.timeout_ms=$timeout_ms" >"$work/out" 2>"$work/err" &
	drv=$!
	pids+=("$drv")
}
sum_of() { # HOST FIELD ADDR...: the sum of the servers' figures, asked
	# from HOST (h1 reaches its own servers while cut off)
	local host=$1 field=$2 sum=0 v a
	shift 2
	for a in "$@"; do
		v=$(on "$host" "$agora" ctl "$a" info --token-file "$work/token" \
			--timeout-ms 1000 2>/dev/null | sed -n "s/^$field: //p")
		[ -n "$v" ] || return 1
		sum=$((sum + v))
	done
	echo "$sum"
}
# The participants go round-robin: p1 to h1, p2 to h2 ...
share1=$(((n + 1) / 2))
share2=$((n - share1))

# ---- round 1: h1's link is cut while its participants think ----
t0=$(now_ms)
driver
all_busy() { # h1's whole share is thinking (and the driver still runs)
	kill -0 "$drv" 2>/dev/null || return 2
	[ "$(sum_of h0 busy "${h1_srvs[@]}")" = "$share1" ]
}
check "h1's $share1 participants are thinking" up_by 300 all_busy
t_busy=$(now_ms)
"$hosts" cut "$prefix" h1
t_cut=$(now_ms)
lost_seen() { grep -q "stopped answering" "$work/out"; }
check "the driver sees h1 lost" up_by 60 lost_seen
t_lost=$(now_ms)
wait "$drv"
code=$?
t_end=$(now_ms)
lost=$(grep -c "stopped answering" "$work/out")
check "the run exits 3 (some did not answer)" [ "$code" -eq 3 ]
check "h1's $share1 participants failed with an error frame ($lost)" \
	[ "$lost" -eq "$share1" ]
check "the moderator counted h2's $share2 answers" \
	has "The average of $share2 answers" out
check "h1 was declared lost within 1 s + server.timeout_ms (+$margin_ms ms): $((t_lost - t_cut)) ms" \
	[ $((t_lost - t_cut)) -le $((1000 + timeout_ms + margin_ms)) ]
check "the round ended in time: $((t_end - t_cut)) ms after the cut" \
	[ $((t_end - t_cut)) -le $((think_ms + 1000 + timeout_ms + margin_ms)) ]

# h1's server, cut off, ends its turns (their replies cannot reach Redis):
# healing before would let late replies in. Asked from inside h1.
h1_idle() {
	[ "$(sum_of h1 busy "${h1_srvs[@]}")" = 0 ] &&
		[ "$(sum_of h1 queued "${h1_srvs[@]}")" = 0 ]
}
check "the cut-off h1 server finishes its turns" up_by 60 h1_idle

# Their messages went back: every h1 participant has its message in its
# inbox again, marked redelivered (r<id>), h2's have none, nothing is left
# in flight. (Every inbox also holds the moderator's announcement.)
for a in "${h1_srvs[@]}"; do
	on h1 "$agora" ctl "$a" list --token-file "$work/token" 2>/dev/null
done | awk -v s="$session" '$1 == s && $2 != "moderator" {print $2}' \
		>"$work/h1.roles"
check "h1 held $share1 participants" [ "$(wc -l <"$work/h1.roles")" -eq "$share1" ]
seq 1 "$n" | sed 's/^/p/' >"$work/all.roles"
grep -vxF -f "$work/h1.roles" "$work/all.roles" >"$work/h2.roles"
# roles_with WHAT <roles: how many of the roles have a message redelivered
# in their inbox (WHAT = redelivered), or a non-empty inflight list
# (inflight); one script call for them all.
roles_with() {
	local lua="local pre, what, n = ARGV[1], ARGV[2], 0
for i = 3, #ARGV do
  if what == 'inflight' then
    if redis.call('llen', pre .. 'inflight:' .. ARGV[i]) > 0 then n = n + 1 end
  else
    for _, v in ipairs(redis.call('lrange', pre .. 'inbox:' .. ARGV[i], 0, -1)) do
      if string.sub(v, 1, 1) == 'r' then n = n + 1; break end
    end
  end
end
return n"
	{
		printf 'EVAL "%s" 0 agora:{%s}: %s ' "${lua//$'\n'/ }" "$session" "$1"
		tr '\n' ' '
		echo
	} | rcli
}
check "the cut participants' messages are back in their inboxes" \
	[ "$(roles_with redelivered <"$work/h1.roles")" = "$share1" ]
check "none of h2's participants' were" \
	[ "$(roles_with redelivered <"$work/h2.roles")" = 0 ]
check "no message is left in flight" \
	[ "$(roles_with inflight <"$work/all.roles")" = 0 ]

# ---- heal; round 2 counts everyone ----
"$hosts" heal "$prefix" h1
for a in "${h1_srvs[@]}"; do
	check "$a answers again after the heal" up_by 30 ctl "$a" is-alive --timeout-ms 200
done
t2=$(now_ms)
driver
wait "$drv"
code=$?
t2_end=$(now_ms)
check "round 2 exits 0" [ "$code" -eq 0 ]
check "round 2 counts all $n participants" has "The average of $n answers" out
check "round 2 has no error frame" not_has "stopped answering\|died" out
check "after round 2 nothing is in flight" \
	[ "$(roles_with inflight <"$work/all.roles")" = 0 ]
check "after round 2 the redelivered messages are read" \
	[ "$(roles_with redelivered <"$work/all.roles")" = 0 ]
cp "$work/server1.log" "$work/err"
check "no sanitizer report from the h1 server" \
	not_has "Sanitizer\|runtime error" err
cp "$work/server2.log" "$work/err"
check "no sanitizer report from the h2 server" \
	not_has "Sanitizer\|runtime error" err

echo "netns: $n participants ($share1 on h1, $share2 on h2), think $think_ms ms," \
	"server.timeout_ms $timeout_ms"
echo "netns: round 1 (cut): $((t_end - t0)) ms in all, h1 cut $((t_cut - t0)) ms" \
	"after the start ($((t_busy - t0)) ms to all busy), lost $lost," \
	"loss seen $((t_lost - t_cut)) ms after the cut, round over" \
	"$((t_end - t_cut)) ms after it"
echo "netns: round 2 (healed): $((t2_end - t2)) ms"

# ---- everything of ours goes ----
"$hosts" down "$prefix"
left_ns() { ip netns list | grep -q "^agora-$prefix-"; }
check "no namespace of ours is left" not left_ns
left_links() { ip -o link | grep -q "to-h[012]"; }
check "no link of ours is left in the machine's namespace" not left_links
running() { # PID...: some of them still run
	local p
	for p in "$@"; do kill -0 "$p" 2>/dev/null && return 0; done
	return 1
}
check "Redis, the servers and the drivers are gone" not running "${pids[@]}"

echo "netns: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
