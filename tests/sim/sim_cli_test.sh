#!/usr/bin/env bash
# `agora sim` as a user meets it: help and bad options, the result line and
# histogram, --json and --csv, reproducible answers with --seed, progress
# on stderr during a long round, and LLM participants through the fake
# OpenAI server, some answering without a number: counted, named, exit 3.
# usage: sim_cli_test.sh AGORA_BINARY FAKE_LLM_BINARY
set -u
agora=$1
fake_llm=$2
work=$(mktemp -d)
fpid=
trap 'kill $fpid 2>/dev/null; rm -rf "$work"' EXIT
. "$(dirname "$0")/../cli/lib.sh"

run sim --help
check "help exits 0" [ "$code" -eq 0 ]
check "help lists --participants" has "--participants N" out
run sim
check "no --participants exits 2" [ "$code" -eq 2 ]
check "no --participants is said" has "participants N is needed" err
run sim --participants 0
check "zero participants exits 2" [ "$code" -eq 2 ]
check "the bad value is named" has "participants: expected 1 to" err
run sim --participants 10 --max 20000
check "a max over 10000 exits 2" [ "$code" -eq 2 ]
run sim --participants 10 --servers 2 --connect tcp://127.0.0.1:1
check "servers and connect exit 2" [ "$code" -eq 2 ]
run sim --participants 10 --bogus
check "an unknown option is named" has "'--bogus'" err
run sim --participants 10 --csv "$work/no/such/dir/x.csv"
check "an unwritable csv exits 1" [ "$code" -eq 1 ]
check "the csv file is named" has "x.csv" err
run sim --participants 10 --csv /dev/full
check "a csv that cannot be written exits 1" [ "$code" -eq 1 ]
run sim --participants 2000001 --moderators 2
check "over a million a moderator exits 2" [ "$code" -eq 2 ]
check "and says how many moderators" has "give at least 3" err
run sim --participants 8 --moderators 8 --servers 4
check "more servers than a share exits 2" [ "$code" -eq 2 ]

run sim --participants 300 --moderators 2 --seed 9 --rounds 2 --csv "$work/r.csv"
check "a run exits 0" [ "$code" -eq 0 ]
check "the result line" has "^round 1: average [0-9.]* over 300 of 300; winner p[0-9]* ([0-9]*); all answered" out
check "round 2" has "^round 2: average" out
check "a histogram" has "^  bin 9  #* *[0-9]" out
check "the summary" has "^2 rounds, 0 with missing answers; created in" out
check "creation on stderr" has "created 300 random participants" err
check "a csv header and a row a round" [ "$(wc -l <"$work/r.csv")" -eq 3 ]
check "csv rows count everyone" has "^2,300,300,0,0,0,0,0,0,0," r.csv
avg1=$(sed -n 's/^round 1: average \([0-9.]*\).*/\1/p' "$work/out")
run sim --participants 300 --moderators 3 --seed 9 --no-hist
avg2=$(sed -n 's/^round 1: average \([0-9.]*\).*/\1/p' "$work/out")
check "the same seed, the same average (any shares)" [ -n "$avg1" ] && [ "$avg1" = "$avg2" ]
check "--no-hist" not_has "bin 0" out

# A report with thousands of distinct values is read whole.
run sim --participants 5000 --max 10000 --seed 4 --no-hist
check "a wide range of values exits 0" [ "$code" -eq 0 ]
check "and counts everyone" has "over 5000 of 5000; winner" out
# With 5000 answers over 10001 values, one lies within a few of the
# average: the winner's value is that one, from the whole report.
near=$(sed -n 's/^round 1: average \([0-9]*\)\.[0-9]* over .* winner p[0-9]* (\([0-9]*\)).*/\1 \2/p' "$work/out")
check "the winner is the nearest value" awk -v s="$near" 'BEGIN { split(s, v, " "); d = v[1] - v[2]; exit !(s != "" && d < 10 && d > -10) }'

run sim --participants 200 --moderators 2 --servers 2 --json --seed 1
check "json on servers exits 0" [ "$code" -eq 0 ]
check "a json round" has '^{"round":1,"asked":200,"answered":200,"no_answer":0,' out
check "json moderators" has '"moderators":\[{"session":"[^"]*-g0","asked":100,"answered":100' out
check "a json summary with the servers' memory" has '^{"summary":{"participants":200,.*"servers":\[[1-9][0-9]*,[1-9][0-9]*\]' out
check "json prints no text" not_has "^round" out

# A round that takes more than a second says how it goes.
run sim --participants 50 --think-ms 1500
check "a slow round exits 0" [ "$code" -eq 0 ]
check "progress on stderr" has "round 1: [0-9]* of 50 answered so far" err

# LLM participants: model_2 answers without a number.
"$fake_llm" >"$work/fake.out" 2>&1 &
fpid=$!
for _ in $(seq 200); do grep -q PORT "$work/fake.out" && break; sleep 0.05; done
port=$(awk '/PORT/ {print $2}' "$work/fake.out")
cat >"$work/models.json" <<EOF
[{"config_name":"model_1","model_type":"openai_chat","model_name":"guess","client_args":{"base_url":"http://127.0.0.1:$port/v1"}},
 {"config_name":"model_2","model_type":"openai_chat","model_name":"nonumber","client_args":{"base_url":"http://127.0.0.1:$port/v1"}}]
EOF
run sim --participants 40 --kind llm --model-config "$work/models.json" --servers 2
check "LLM participants without a number exit 3" [ "$code" -eq 3 ]
check "they are counted" has "^round 1: average [0-9.]* over 20 of 40; .*20 did not answer (no_number 20)" out
check "and named" has "p[0-9]*[13579]: no number in \[0, 100\]" err
run sim --participants 40 --kind llm --model-config "$work/models.json" --json
check "json lists them" has '"failures":\["p[0-9]*[13579]: no number' out
run sim --participants 4 --kind llm
check "LLM without a model config exits 2" [ "$code" -eq 2 ]
check "and says why" has "need at least one model config" err

echo "sim_cli_test: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
