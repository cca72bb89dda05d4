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
#   longer than the timeout), NETNS_ROUNDS (6), NETNS_HEAL (early: see
#   below). NETNS_KEEP=DIR: copy the work files (the driver's output, the
#   servers' logs) there at the end.
set -u
agora=$1
n=${NETNS_PARTICIPANTS:-10000}
think_ms=${NETNS_THINK_MS:-5000}
timeout_ms=${NETNS_TIMEOUT_MS:-2000} # h1 is lost 1 s + this after the cut
margin_ms=3000                       # ... plus this on a loaded machine
per=${NETNS_SERVERS_PER_HOST:-1}
rounds=${NETNS_ROUNDS:-6} # enough for two after the heal
src=$(cd "$(dirname "$0")/../.." && pwd)
hosts=$src/scripts/netns-hosts
prefix=nt$$
work=$(mktemp -d)
# The driver's exit status and output (the check helpers of lib.sh show
# $work/out and $work/err when a check fails).
code=0

cleanup() {
	"$hosts" down "$prefix"
	[ -n "${NETNS_KEEP:-}" ] && cp -r "$work/." "$NETNS_KEEP/"
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
on() { # HOST CMD...: CMD in that host's namespace (netns-hosts execs it;
	# $! of `on ... &` is a subshell that waits for it)
	"$hosts" exec "$prefix" "$@"
}
not() { ! "$@"; }
pids=() # every process the test started, to check they are gone
now_ms() { date +%s%3N; }
net=${NETNS_HOSTS_NET:-10.231} # netns-hosts's addresses
redis_host=$net.0.1 # h0's own address: up whichever link is cut
# The servers: ports 7101... on h1 and h2; the driver connects to them
# alternately (h1, h2, h1 ...) and places participants round-robin, so
# h1 gets p0, p2, p4 ...
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

# ---- agora sim in h0: n participants on the servers, several rounds ----
# Round 1 counts everyone. In round 2 h1's link is cut while its share
# thinks: they are counted lost, their messages go back. The link is
# healed once the cut-off server has ended its turns (their replies could
# not reach Redis): healed earlier, it would store them late, after the
# driver gave their messages back. That takes the cut-off server several
# seconds more than its turns (its Redis calls time out), and the driver
# goes on with the next rounds meanwhile, h1's share lost again: the round
# in progress at the heal may count them or not, every round after it must
# count everyone. NETNS_HEAL=early heals as soon as the messages are back
# instead (the late replies then reach the round's moderator).
session=netns$$
on h0 "$agora" sim --participants "$n" --think-ms "$think_ms" --rounds "$rounds" \
	--seed 1 --json --session "$session" "${connect[@]}" \
	--redis "redis://$redis_host:6379" --set "server.token_file=$work/token" \
	--set "server.timeout_ms=$timeout_ms" >"$work/out" 2>"$work/err" &
drv=$!
pids+=("$drv")
t0=$(now_ms)
driving() { kill -0 "$drv" 2>/dev/null; }
round_line() { # N: round N's JSON line (once printed)
	grep "^{\"round\":$1," "$work/out"
}
round_done() { # N: round N's line is out (2: the driver has ended)
	round_line "$1" >/dev/null && return 0
	driving || return 2
	return 1
}
field() { # ROUND KEY: a number of that round's line ("lost" in "failed")
	round_line "$1" | grep -o "\"$2\":[0-9.]*" | head -1 | cut -d: -f2
}
counts_once() { # ROUND: every participant counted once: answered or not
	local a u k
	a=$(field "$1" asked) u=$(field "$1" answered) k=$(field "$1" no_answer)
	[ -n "$a" ] && [ $((u + k)) -eq "$a" ]
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
# Participants go round-robin over the servers: p0, p2 ... to h1.
share1=$(((n + 1) / 2))
share2=$((n - share1))

check "round 1 is played" up_by 600 round_done 1
t1=$(now_ms)
check "round 1 counts all $n" [ "$(field 1 answered)" = "$n" ]
check "round 1: nobody failed" [ "$(field 1 no_answer)" = 0 ]

# Who is on h1: "session role" lines.
for a in "${h1_srvs[@]}"; do
	ctl "$a" list 2>/dev/null
done | awk '$2 ~ /^p[0-9]+$/ {print $1, $2}' >"$work/h1.roles"
for a in "${h2_srvs[@]}"; do
	ctl "$a" list 2>/dev/null
done | awk '$2 ~ /^p[0-9]+$/ {print $1, $2}' >"$work/h2.roles"
cat "$work/h1.roles" "$work/h2.roles" >"$work/all.roles"
check "h1 holds $share1 participants" [ "$(wc -l <"$work/h1.roles")" -eq "$share1" ]
check "h2 holds $share2 participants" [ "$(wc -l <"$work/h2.roles")" -eq "$share2" ]
# roles_with WHAT <"session role" lines: how many of the roles have a
# message marked redelivered (r<id>) in their inbox (WHAT = redelivered)
# or something in flight (inflight: an in-flight list, or a lease, which
# holds a light role's entries); one script call for them all.
roles_with() {
	local lua="local what, n = ARGV[1], 0
for i = 2, #ARGV, 2 do
  local p = 'agora:{' .. ARGV[i] .. '}:'
  if what == 'inflight' then
    if redis.call('llen', p .. 'inflight:' .. ARGV[i + 1]) > 0 or
       redis.call('hexists', p .. 'lease', ARGV[i + 1]) == 1 then n = n + 1 end
  else
    for _, v in ipairs(redis.call('lrange', p .. 'inbox:' .. ARGV[i + 1], 0, -1)) do
      if string.sub(v, 1, 1) == 'r' then n = n + 1; break end
    end
  end
end
return n"
	{
		printf 'EVAL "%s" 0 %s ' "${lua//$'\n'/ }" "$1"
		tr '\n' ' '
		echo
	} | rcli
}

# ---- round 2: h1's link cut while its whole share thinks ----
all_busy() { # (2: the driver has ended)
	driving || return 2
	[ "$(sum_of h0 busy "${h1_srvs[@]}")" = "$share1" ]
}
check "round 2: h1's $share1 participants are thinking" up_by 300 all_busy
t_busy=$(now_ms)
"$hosts" cut "$prefix" h1
t_cut=$(now_ms)
check "h2's thinking participants are seen in flight" \
	[ "$(roles_with inflight <"$work/h2.roles")" = "$share2" ]
# The driver declares h1 lost and gives its participants' messages back.
given_back() {
	driving || return 2
	[ "$(roles_with redelivered <"$work/h1.roles")" = "$share1" ]
}
check "h1's participants' messages go back to their inboxes" up_by 60 given_back
t_lost=$(now_ms)
check "... within 1 s + server.timeout_ms (+$margin_ms ms): $((t_lost - t_cut)) ms" \
	[ $((t_lost - t_cut)) -le $((1000 + timeout_ms + margin_ms)) ]
if [ "${NETNS_HEAL:-}" != early ]; then
	h1_idle() { # asked from inside h1
		[ "$(sum_of h1 busy "${h1_srvs[@]}")" = 0 ] &&
			[ "$(sum_of h1 queued "${h1_srvs[@]}")" = 0 ]
	}
	check "round 2 ends" up_by 120 round_done 2
	t2=$(now_ms)
	check "the cut-off h1 server ends its turns" up_by 120 h1_idle
fi
"$hosts" heal "$prefix" h1
t_heal=$(now_ms)
# The round after the one in progress started after the heal.
first_healed=$(($(grep -c '^{"round":' "$work/out") + 2))
check "round 2 ends" up_by 120 round_done 2
t2=${t2:-$(now_ms)}
check "round 2 asked all $n" [ "$(field 2 asked)" = "$n" ]
check "round 2: h2's $share2 answered" [ "$(field 2 answered)" = "$share2" ]
check "round 2: h1's $share1 are counted lost" [ "$(field 2 lost)" = "$share1" ]
check "round 2: $share1 did not answer" [ "$(field 2 no_answer)" = "$share1" ]
check "round 2 ended in time: $((t2 - t_cut)) ms after the cut" \
	[ $((t2 - t_cut)) -le $((think_ms + 1000 + timeout_ms + margin_ms)) ]
check "none of h2's participants' messages went back" \
	[ "$(roles_with redelivered <"$work/h2.roles")" = 0 ]

# ---- the rounds that started after the heal: everyone ----
wait "$drv"
code=$?
check "rounds were left after the heal (round $first_healed of $rounds)" \
	[ "$first_healed" -le "$rounds" ]
for ((r = first_healed; r <= rounds; r++)); do
	check "round $r (after the heal) counts all $n" [ "$(field $r answered)" = "$n" ]
	check "round $r: nobody failed" [ "$(field $r no_answer)" = 0 ]
done
for ((r = 1; r <= rounds; r++)); do
	check "round $r counts every participant once" counts_once $r
done
valid_lines() { # one JSON object a line: each starts and ends as one
	[ "$(grep -c '^{"round":[0-9]*,.*}$' "$work/out")" -eq "$rounds" ] &&
		[ "$(grep -c '^{"summary":{.*}}$' "$work/out")" -eq 1 ] &&
		[ "$(wc -l <"$work/out")" -eq $((rounds + 1)) ]
}
check "--json: $rounds round lines and a summary, one object a line" valid_lines
check "sim exits 3 (some did not answer in round 2)" [ "$code" -eq 3 ]
check "a summary line ends the output" has '^{"summary":' out
check "afterwards nothing is in flight" \
	[ "$(roles_with inflight <"$work/all.roles")" = 0 ]
check "afterwards every redelivered message was read" \
	[ "$(roles_with redelivered <"$work/all.roles")" = 0 ]
cp "$work/server1.log" "$work/err"
check "no sanitizer report from the h1 server" \
	not_has "Sanitizer\|runtime error" err
cp "$work/server2.log" "$work/err"
check "no sanitizer report from the h2 server" \
	not_has "Sanitizer\|runtime error" err

echo "netns: $n participants ($share1 on h1, $share2 on h2, $per server(s) a host)," \
	"think $think_ms ms, server.timeout_ms $timeout_ms"
echo "netns: round 1 $(field 1 seconds) s (creation and round 1: $((t1 - t0)) ms);" \
	"round 2 $(field 2 seconds) s, h1 cut $((t_cut - t1)) ms after round 1" \
	"($((t_busy - t1)) ms to h1 all thinking), lost $(field 2 lost)," \
	"messages back $((t_lost - t_cut)) ms after the cut, healed at" \
	"$((t_heal - t_cut)) ms, round over $((t2 - t_cut)) ms after the cut;" \
	"first round after the heal: $first_healed"
for ((r = 3; r <= rounds; r++)); do
	echo "netns: round $r $(field $r seconds) s, answered $(field $r answered)," \
		"lost $(field $r lost), extra $(field $r extra)"
done

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
