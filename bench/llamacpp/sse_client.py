"""An independent streaming client (Python stdlib only) for checking `inferplane bench` against a
real llama.cpp server: N sequential streamed chat requests; TTFT = send to the first content
token, ITL = every gap between content tokens; prints p50s as JSON.

    python3 sse_client.py URL MODEL N INPUT_WORDS OUTPUT_TOKENS SEED
"""
import http.client
import json
import random
import statistics
import sys
import time
from urllib.parse import urlparse

url, model, n, words, out_tokens, seed = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
u = urlparse(url)
rng = random.Random(seed)
vocab = "time person year way day thing man world life hand part child eye woman place work week case point government company number group problem fact".split()
ttft, itl = [], []
for i in range(n):
    prompt = " ".join(rng.choice(vocab) for _ in range(words))
    body = json.dumps({
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": out_tokens,
        "ignore_eos": True,
        "stream": True,
    })
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
    t0 = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", body, {"content-type": "application/json"})
    resp = conn.getresponse()
    last = None
    for raw in resp:
        line = raw.decode().strip()
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        chunk = json.loads(line[6:])
        choices = chunk.get("choices") or []
        if not choices or not (choices[0].get("delta") or {}).get("content"):
            continue
        now = time.perf_counter()
        if last is None:
            ttft.append((now - t0) * 1000)
        else:
            itl.append((now - last) * 1000)
        last = now
    conn.close()
print(json.dumps({"requests": len(ttft), "ttftP50": statistics.median(ttft), "itlP50": statistics.median(itl)}))
