#!/usr/bin/env bash
# agora sim's figures (issue 12), each beside its target and, where there
# is one, AgentScope's figure (../shared/reference/agentscope-distributed.md:
# AgentScope measured on this machine, or its paper):
#   think1k    1,000 participants, 1 s think, 4 child servers
#   think10k   10,000 participants, 1 s think, 4 child servers
#   guess100k  100,000 participants, no think, 4 child servers, beside
#              bench/server_bench guess in the same run (which stops
#              before the moderator reads the answers)
#   million    1,000,000 participants, no think, 4 child servers:
#              creation, rounds, memory
#   llm        1,000 LLM participants against build/tests/fake_llm on 2
#              child servers: agora's CPU (sim + servers) per turn, from
#              two runs of 1 and 3 rounds (creation cancels out)
# usage: bench/sim_bench.sh [CASE...]   (default: all but million)
# Prints one line per case. Needs python3 to read agora sim --json.
set -euo pipefail
cd "$(dirname "$0")/.."
agora=build/cli/agora
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(think1k think10k guess100k llm)
work=$(mktemp -d)
fpid=
trap 'kill $fpid 2>/dev/null || true; rm -rf "$work"' EXIT

# sim ARGS...: runs agora sim --json; prints "mean_round max_round create_s
# answered_all servers_mib redis_mib sim_mib cpu_total"
sim() {
	"$agora" sim --json "$@" >"$work/out" 2>"$work/err" || true
	python3 - "$work/out" <<'EOF'
import json, sys
rounds, summary = [], None
for line in open(sys.argv[1]):
    o = json.loads(line)
    if "summary" in o:
        summary = o["summary"]
    else:
        rounds.append(o)
if summary is None or not rounds:
    print("failed"); sys.exit(0)
secs = [r["seconds"] for r in rounds]
allin = all(r["no_answer"] == 0 for r in rounds)
m, c = summary["memory_kib"], summary["cpu_s"]
servers = sum(k for k in m["servers"] if k > 0) / 1024
cpu = sum(x for x in c["servers"] if x > 0) + c["sim"]
print("%.3f %.3f %.2f %s %.0f %.0f %.0f %.3f" % (
    sum(secs) / len(secs), max(secs), summary["create_s"],
    "all" if allin else "MISSING", servers, m["redis"] / 1024,
    m["sim"] / 1024, cpu))
EOF
}

for c in "${cases[@]}"; do
	case $c in
	think1k | think10k)
		n=1000
		[ "$c" = think10k ] && n=10000
		read -r mean max create all _ <<<"$(sim --participants $n --think-ms 1000 --servers 4 --rounds 3)"
		target=1.05
		as=12.2
		[ "$c" = think10k ] && target=1.2 && as=103.5
		printf '%-9s %6d participants, 1 s think, 4 servers: round %s s (max %s; %s answered); target < %s s; AgentScope here %s s (%.1fx)\n' \
			"$c" $n "$mean" "$max" "$all" $target $as "$(echo "$as / $mean" | bc -l)"
		;;
	guess100k)
		read -r mean max create all _ <<<"$(sim --participants 100000 --servers 4 --rounds 3 --no-hist)"
		base=$(build/bench/server_bench guess 100000 0 4 3 2>/dev/null |
			awk '/round/ {s += $(NF-5); n++} END {if (n) printf "%.3f", s / n}')
		printf 'guess100k 100000 participants, no think, 4 servers: round %s s (max %s; %s answered), created in %s s; target < 1.5 s; server_bench guess (no moderator turn) %s s\n' \
			"$mean" "$max" "$all" "$create" "${base:-?}"
		;;
	million)
		read -r mean max create all smib rmib mmib _ <<<"$(sim --participants 1000000 --servers 4 --rounds 2 --no-hist)"
		printf 'million   1000000 participants, no think, 4 servers: created in %s s (target < 20 s); round %s s (max %s; %s answered; target < 15 s); memory: servers %s MiB, redis %s MiB, sim %s MiB\n' \
			"$create" "$mean" "$max" "$all" "$smib" "$rmib" "$mmib"
		;;
	llm)
		build/tests/fake_llm >"$work/fake.out" 2>&1 &
		fpid=$!
		for _ in $(seq 200); do grep -q PORT "$work/fake.out" && break; sleep 0.05; done
		port=$(awk '/PORT/ {print $2}' "$work/fake.out")
		printf '[{"config_name":"model_1","model_type":"openai_chat","model_name":"guess","client_args":{"base_url":"http://127.0.0.1:%s/v1"}}]' \
			"$port" >"$work/models.json"
		read -r mean _ _ all _ _ _ cpu1 <<<"$(sim --participants 1000 --kind llm --model-config "$work/models.json" --servers 2 --rounds 1)"
		read -r mean3 _ _ all3 _ _ _ cpu3 <<<"$(sim --participants 1000 --kind llm --model-config "$work/models.json" --servers 2 --rounds 3)"
		printf 'llm       1000 LLM participants, 2 servers: round %s s (%s answered); agora CPU per turn %.1f us (target < 100 us)\n' \
			"$mean3" "$all3" "$(echo "($cpu3 - $cpu1) * 1000000 / 2000" | bc -l)"
		kill "$fpid" 2>/dev/null || true
		;;
	*)
		echo "sim_bench: unknown case $c" >&2
		exit 2
		;;
	esac
done
