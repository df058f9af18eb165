#!/usr/bin/env bash
# W5 of shared/bench/WORKLOADS.md in one run, on 127.0.0.1 only:
#
#   1. installs wrk if missing, builds the servers in release (the workspace's target dir);
#   2. starts bare-hyper (the ceiling), raw-pipeline (the reference), stack-bot (the framework's
#      layers on the same hyper loop) and, when the package exists, echo-bot (axum + router), all
#      in safe mode with the fixture's token / EncodingAESKey / appid, the bots with
#      WECHAT_DEDUP=off and WECHAT_TIMESTAMP_WINDOW=0 (the fixture repeats one message);
#   3. checks each one first: the fixture's request must get a reply that verifies, decrypts and
#      echoes (w5-load --fixture --requests 1), a forged signature must get a 4xx;
#   4. wrk -t2 -c64 -d10s --timeout 2s --latency -s post.lua against each, after a 3 s warm-up;
#   5. w5-load (64 connections, 10 s, 3 s warm-up) with distinct, freshly signed messages against
#      raw-pipeline, stack-bot and echo-bot in their DEFAULT configuration (retry cache on,
#      timestamp window on), and, when redis-server is installed, echo-bot with its retry record
#      in a private local redis-server (REDIS_URL; issue 13) beside the one in memory;
#   6. prints the tables: req/s, p50, p99, errors, ratio to raw-pipeline, and the server's CPU
#      time per request (steadier than req/s on a shared machine). Raw outputs go to
#      $W5_RESULTS (default target/w5-bench/<time>).
# With W5_ROUNDS=n, steps 4 and 5 are repeated n times, the servers interleaved, and the tables
# show medians (the per-round figures beside them): on a noisy machine, use 3 or 5.
#
# Knobs (environment): W5_PORT_BASE (38080), W5_DURATION (10), W5_WARMUP (3), W5_CONNECTIONS (64),
# W5_ROUNDS (1), W5_VERIFY_EVERY (1: w5-load decrypts every reply), W5_SKIP_ECHO_BOT=1,
# W5_SKIP_REDIS=1 (no echo-bot-redis row),
# W5_NO_BUILD=1 (reuse the release binaries), W5_RESULTS (a directory).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

port_base="${W5_PORT_BASE:-38080}"
duration="${W5_DURATION:-10}"
warmup="${W5_WARMUP:-3}"
conns="${W5_CONNECTIONS:-64}"
verify_every="${W5_VERIFY_EVERY:-1}"
rounds="${W5_ROUNDS:-1}"
results="${W5_RESULTS:-$root/target/w5-bench/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$results"

fixture="$root/wechat-core/benches/data/fixture.json"
json_str() { sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" "$fixture" | head -n1; }
token="$(json_str token)"
aes_key="$(json_str encoding_aes_key)"
appid="$(json_str appid)"
query="$(json_str query)"
# The fixture's body (for the forged-signature check), without a JSON parser: it has no escapes.
body="$(json_str encrypted_body)"

log() { printf '== %s\n' "$*" >&2; }

# --- 1. tools and build ------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get install -y wrk || { $sudo apt-get update && $sudo apt-get install -y wrk; }
fi

with_echo_bot=0
if [ -f "$root/examples/echo-bot/Cargo.toml" ] && [ "${W5_SKIP_ECHO_BOT:-0}" != "1" ]; then
    with_echo_bot=1
fi
packages=(-p w5-bench)
if [ "$with_echo_bot" = 1 ]; then packages+=(-p echo-bot); fi
if [ "${W5_NO_BUILD:-0}" = 1 ]; then
    log "W5_NO_BUILD=1: using the binaries already built"
else
    log "building ${packages[*]} (release)"
    cargo build --release "${packages[@]}"
fi
bin="${CARGO_TARGET_DIR:-$root/target}/release"

# --- 2. servers ---------------------------------------------------------------------------------
pids=()
declare -A spid # the pid of each server (env execs the binary)
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "${redis_pid:-}" ]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME PORT ENV... -- BINARY
start() {
    local name="$1" port="$2"
    shift 2
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    env "${envs[@]}" ADDR="127.0.0.1:$port" "$@" >"$results/$name.log" 2>&1 &
    pids+=("$!")
    spid[$name]="$!"
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    log "$name did not listen on 127.0.0.1:$port; its log:"
    cat "$results/$name.log" >&2
    exit 1
}

safe=(WECHAT_TOKEN="$token" WECHAT_ENCODING_AES_KEY="$aes_key" WECHAT_APPID="$appid")
bench_env=(WECHAT_DEDUP=off WECHAT_TIMESTAMP_WINDOW=0)

names=(bare-hyper raw-pipeline stack-bot)
declare -A port
port[bare-hyper]=$((port_base))
port[raw-pipeline]=$((port_base + 1))
port[stack-bot]=$((port_base + 2))
port[echo-bot]=$((port_base + 3))
port[stack-bot-default]=$((port_base + 4))
port[echo-bot-default]=$((port_base + 5))
port[echo-bot-redis]=$((port_base + 6))
redis_port=$((port_base + 7))

start bare-hyper "${port[bare-hyper]}" -- "$bin/bare-hyper"
start raw-pipeline "${port[raw-pipeline]}" "${safe[@]}" -- "$bin/raw-pipeline"
start stack-bot "${port[stack-bot]}" "${safe[@]}" "${bench_env[@]}" -- "$bin/stack-bot"
start stack-bot-default "${port[stack-bot-default]}" "${safe[@]}" -- "$bin/stack-bot"
if [ "$with_echo_bot" = 1 ]; then
    names+=(echo-bot)
    start echo-bot "${port[echo-bot]}" "${safe[@]}" "${bench_env[@]}" -- "$bin/echo-bot"
    start echo-bot-default "${port[echo-bot-default]}" "${safe[@]}" -- "$bin/echo-bot"
fi
# echo-bot in its default configuration with the retry record in Redis (issue 13): a private
# redis-server on loopback, no persistence, killed on exit.
with_redis=0
if [ "$with_echo_bot" = 1 ] && [ "${W5_SKIP_REDIS:-0}" != "1" ] && command -v redis-server >/dev/null 2>&1; then
    redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
        >"$results/redis-server.log" 2>&1 &
    redis_pid="$!"
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null; then break; fi
        sleep 0.1
    done
    start echo-bot-redis "${port[echo-bot-redis]}" "${safe[@]}" \
        REDIS_URL="redis://127.0.0.1:$redis_port/" -- "$bin/echo-bot"
    with_redis=1
elif [ "$with_echo_bot" = 1 ] && [ "${W5_SKIP_REDIS:-0}" != "1" ]; then
    log "redis-server not found: no echo-bot-redis row (apt-get install -y redis-server)"
fi

# --- 3. correctness -----------------------------------------------------------------------------
url() { printf 'http://127.0.0.1:%s/wechat' "${port[$1]}"; }
status_of() { # status_of NAME QUERY: the status of a POST of the fixture's body with QUERY
    curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: text/xml' \
        --data-binary "$body" "$(url "$1")?$2"
}
forged="${query/signature=/signature=0}" # the first one: `signature`, now 41 characters

log "correctness checks"
answer="$(curl -s -X POST --data-binary "$body" "$(url bare-hyper)?$query")"
[ "$answer" = "success" ] || { log "bare-hyper answered '$answer'"; exit 1; }
for name in "${names[@]:1}"; do
    "$bin/w5-load" --url "$(url "$name")" --fixture --requests 1 >"$results/check-$name.json" ||
        { log "$name: the fixture's request did not get a verified echo"; cat "$results/check-$name.json" >&2; exit 1; }
    code="$(status_of "$name" "$forged")"
    case "$code" in 4??) ;; *) log "$name answered $code to a forged signature"; exit 1 ;; esac
    log "$name: fixture reply verifies, decrypts and echoes; forged signature -> $code"
done
defaults=(raw-pipeline stack-bot-default)
if [ "$with_echo_bot" = 1 ]; then defaults+=(echo-bot-default); fi
if [ "$with_redis" = 1 ]; then defaults+=(echo-bot-redis); fi
for name in "${defaults[@]}"; do
    "$bin/w5-load" --url "$(url "$name")" --requests 1 >"$results/check-fresh-$name.json" ||
        { log "$name: a fresh message did not get a verified echo"; cat "$results/check-fresh-$name.json" >&2; exit 1; }
    if [ "$name" = raw-pipeline ]; then
        log "$name: a fresh message gets a verified echo"
    else
        code="$(status_of "$name" "$query")"
        log "$name (default config): a fresh message gets a verified echo; the fixture's old timestamp -> $code"
    fi
done

# --- 4. wrk on the fixture, 5. w5-load with fresh messages (W5_ROUNDS rounds, interleaved) ----
# Values per round are appended to space-separated lists; the tables show medians. Interleaving
# the servers round by round spreads any background load over all of them.
declare -A rps p50 p99 errs loadavg cpu lrps lp50 lp99 lerrs lloadavg lcpu
jnum() { sed -nE "s/.*\"$1\":(-?[0-9.]+).*/\1/p" <<<"$2" | head -n1; }
# The server's CPU time (user + system) in clock ticks, and µs of it per request: unlike req/s,
# this hardly depends on what else the machine runs.
ticks() { awk '{ print $14 + $15 }' "/proc/${spid[$1]}/stat"; }
hz="$(getconf CLK_TCK)"
per_req() { awk -v t="$1" -v n="$2" -v hz="$hz" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "" }'; }
for round in $(seq "$rounds"); do
    for name in "${names[@]}"; do
        log "round $round/$rounds, wrk: $name (warm-up ${warmup}s, then ${duration}s)"
        out="$results/wrk-$name-r$round.txt"
        wrk -t2 -c"$conns" -d"${warmup}s" --timeout 2s -s "$here/post.lua" \
            "http://127.0.0.1:${port[$name]}" >"$results/wrk-warmup-$name-r$round.txt" 2>&1
        loadavg[$name]+="$(cut -d' ' -f1 /proc/loadavg) "
        t0="$(ticks "$name")"
        wrk -t2 -c"$conns" -d"${duration}s" --timeout 2s --latency -s "$here/post.lua" \
            "http://127.0.0.1:${port[$name]}" >"$out" 2>&1
        t1="$(ticks "$name")"
        line="$(grep '^W5 ' "$out" || true)"
        cpu[$name]+="$(per_req $((t1 - t0)) "$(jnum requests "$line")") "
        rps[$name]+="$(jnum rps "$line") "
        p50[$name]+="$(jnum p50_ms "$line") "
        p99[$name]+="$(jnum p99_ms "$line") "
        errs[$name]+="$(jnum errors "$line") "
    done
    for name in "${defaults[@]}"; do
        log "round $round/$rounds, w5-load: $name (warm-up ${warmup}s, then ${duration}s, fresh messages)"
        out="$results/load-$name-r$round.json"
        lloadavg[$name]+="$(cut -d' ' -f1 /proc/loadavg) "
        t0="$(ticks "$name")"
        "$bin/w5-load" --url "$(url "$name")" -c "$conns" -d "$duration" --warmup "$warmup" \
            --verify-every "$verify_every" >"$out" 2>"${out%.json}.err" || true
        t1="$(ticks "$name")"
        line="$(cat "$out")"
        lcpu[$name]+="$(per_req $((t1 - t0)) "$(jnum sent_with_warmup "$line")") "
        lrps[$name]+="$(jnum req_per_sec "$line") "
        lp50[$name]+="$(jnum p50_ms "$line") "
        lp99[$name]+="$(jnum p99_ms "$line") "
        lerrs[$name]+="$(jnum errors "$line") "
    done
done

# Every figure of every round, for the record.
{
    for name in "${names[@]}"; do
        echo "wrk $name: req/s ${rps[$name]}| p50 ${p50[$name]}| p99 ${p99[$name]}| errors ${errs[$name]}| cpu_us ${cpu[$name]}| load ${loadavg[$name]}"
    done
    for name in "${defaults[@]}"; do
        echo "w5-load $name: req/s ${lrps[$name]}| p50 ${lp50[$name]}| p99 ${lp99[$name]}| errors ${lerrs[$name]}| cpu_us ${lcpu[$name]}| load ${lloadavg[$name]}"
    done
} >"$results/rounds.txt"

# --- 6. tables ----------------------------------------------------------------------------------
median() { # median LIST [PRINTF-FORMAT]
    tr ' ' '\n' <<<"$1" | grep . | sort -g | awk -v f="${2:-%.0f}" '{ v[NR] = $1 }
        END { if (NR == 0) print "-"; else printf f "\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
total() { tr ' ' '\n' <<<"$1" | grep . | awk '{ s += $1 } END { print s + 0 }'; }
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.0f %%", 100 * a / b; else print "-" }'; }
row() { # row NAME RPS P50 P99 ERRS RAW_RPS LOADAVG CPU RAW_CPU
    local m; m="$(median "$2")"
    local c; c="$(median "$8" %.1f)"
    printf '| %-17s | %10s | %8s | %8s | %6s | %7s | %8s | %7s | %-24s | %-18s |\n' "$1" "$m" \
        "$(median "$3" %.2f)" "$(median "$4" %.2f)" "$(total "$5")" "$(ratio "$m" "$(median "$6")")" \
        "$c" "$(ratio "$(median "$9" %.1f)" "$c")" \
        "$(for v in $2; do printf '%.0f ' "$v"; done | sed 's/ $//')" "${7% }"
}
header() {
    printf '| %-17s | %10s | %8s | %8s | %6s | %7s | %8s | %7s | %-24s | %-18s |\n' server "req/s" \
        "p50 ms" "p99 ms" errors "vs raw" "CPU µs" "CPU raw" "req/s per round" "load avg per round"
    echo "|-------------------|------------|----------|----------|--------|---------|----------|---------|--------------------------|--------------------|"
}
{
    echo
    echo "W5 on $(nproc) cores, $(date -u +%FT%TZ); $rounds round(s), medians; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "wrk -t2 -c$conns -d${duration}s --timeout 2s --latency -s post.lua (the fixture's request; bots: WECHAT_DEDUP=off WECHAT_TIMESTAMP_WINDOW=0)"
    echo
    header
    for name in "${names[@]}"; do
        row "$name" "${rps[$name]}" "${p50[$name]}" "${p99[$name]}" "${errs[$name]}" "${rps[raw-pipeline]}" \
            "${loadavg[$name]}" "${cpu[$name]}" "${cpu[raw-pipeline]}"
    done
    echo
    echo "w5-load -c $conns -d $duration --warmup $warmup (distinct, freshly signed messages, every ${verify_every}. reply decrypted; bots in their default configuration)"
    echo
    header
    for name in "${defaults[@]}"; do
        row "$name" "${lrps[$name]}" "${lp50[$name]}" "${lp99[$name]}" "${lerrs[$name]}" "${lrps[raw-pipeline]}" \
            "${lloadavg[$name]}" "${lcpu[$name]}" "${lcpu[raw-pipeline]}"
    done
    echo
    if [ "$with_redis" = 1 ]; then
        echo "echo-bot-redis: retry record in a local redis-server (REDIS_URL), $(redis-cli -p "$redis_port" dbsize 2>/dev/null || echo '?') keys in it after the run;"
        echo "req/s against echo-bot-default (memory): $(ratio "$(median "${lrps[echo-bot-redis]}")" "$(median "${lrps[echo-bot-default]}")")"
        echo
    fi
    echo "CPU µs: the server's CPU time (user + system) per request, median; CPU raw: raw-pipeline's"
    echo "CPU per request over this server's, so 100 % is as efficient as the reference pipeline."
    echo "raw outputs: $results"
} | tee "$results/summary.md"
