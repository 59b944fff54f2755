/**
 * `inferplane bench` end to end, in-process, against in-process simulators in constant-latency
 * mode: the table, the report files (--json with --records, --md, the sweep's SVG), --compare,
 * progress only on a TTY, and bad input.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { RequestRecord } from "../../src/bench/load.js";
import type { BenchReport } from "../../src/bench/report.js";
import { percentile } from "../../src/bench/stats.js";
import { main } from "../../src/cli/main.js";
import { type SimServerHandle, startSimServer } from "../../src/sim/server.js";

interface Run {
  code: number;
  out: string;
  err: string;
}

async function bench(args: string[], isTTY = false): Promise<Run> {
  let out = "";
  let err = "";
  const code = await main(["node", "inferplane", "bench", ...args], {
    out: (t) => {
      out += t.endsWith("\n") ? t : `${t}\n`;
    },
    err: (t) => {
      err += t;
    },
    isTTY,
  });
  return { code, out, err };
}

describe("inferplane bench (CLI)", () => {
  let fast: SimServerHandle;
  let slow: SimServerHandle;
  let dir: string;
  const common = () => [
    "--api",
    "completions",
    "--ignore-eos",
    "--input-tokens",
    "16",
    "--output-tokens",
    "10",
  ];

  before(async () => {
    fast = await startSimServer({ model: "llama-3.1-8b", constantLatency: { ttftMs: 20, itlMs: 10 } });
    slow = await startSimServer({ model: "llama-3.1-8b", constantLatency: { ttftMs: 40, itlMs: 20 } });
    dir = mkdtempSync(join(tmpdir(), "inferplane-bench-test-"));
  });
  after(async () => {
    await Promise.all([fast?.stop(), slow?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("prints the final table and writes --json (with --records) and --md; quiet when not a TTY", async () => {
    const json = join(dir, "run.json");
    const md = join(dir, "run.md");
    const r = await bench([
      "--url",
      fast.url,
      ...common(),
      "--concurrency",
      "4",
      "--requests",
      "24",
      "--warmup",
      "4",
      "--slo",
      "ttft=1s,tpot=50ms",
      "--json",
      json,
      "--records",
      "--md",
      md,
    ]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, "", "no progress output when not a TTY");
    assert.match(r.out, /Requests ok \/ sent\s+24 \/ 24/);
    assert.match(r.out, /TTFT mean \/ p50 \(ms\)/);
    assert.match(r.out, /Goodput \(req\/s, ttft≤1000ms, tpot≤50ms\)\s+[\d.,]+ \(100\.0%\)/);
    assert.match(r.out, /client: [\d.,]+ µs CPU per request/);

    const report = JSON.parse(readFileSync(json, "utf8")) as BenchReport;
    assert.equal(report.tool, "inferplane bench");
    assert.equal(report.settings.model, fast.servedModelName, "the model comes from /v1/models");
    const t = report.targets[0];
    assert.ok(t);
    assert.equal(t.requests.ok, 24);
    assert.equal(t.totalOutputTokens, 240);
    const records = report.records as RequestRecord[];
    assert.equal(records.length, 28, "24 measured + 4 warm-up");
    assert.equal(records.filter((x) => !x.measured).length, 4);
    const measured = records.filter((x) => x.measured);
    for (const x of measured) {
      assert.equal(x.outputTokens, 10);
      assert.equal(x.itlMs.length, 9);
      // The last token is due 20 + 9 × 10 ms after the request (deadlines are absolute).
      assert.ok(x.ttftMs >= 19 && x.e2eMs >= 109, JSON.stringify(x));
    }
    // The figures in the report are the records' figures.
    assert.equal(
      t.ttftMs.p50,
      percentile(
        measured.map((x) => x.ttftMs),
        50,
      ),
    );
    assert.equal(t.itlMs.count, 24 * 9);
    assert.equal(
      t.e2eMs.p99,
      percentile(
        measured.map((x) => x.e2eMs),
        99,
      ),
    );
    assert.equal(t.goodput?.share, 1);

    const text = readFileSync(md, "utf8");
    assert.match(text, /^# inferplane bench/);
    assert.match(text, /\| Request throughput \(req\/s\) \| [\d.,]+ \|/);
    assert.match(text, /\| TTFT mean \/ p50 \(ms\) \|/);
    assert.deepEqual(
      readFileSync(md, "utf8"),
      text,
      "the file is whole (written through a temporary file and a rename)",
    );
  });

  it("--json without a file prints the report as JSON", async () => {
    const r = await bench(["--url", fast.url, ...common(), "--requests", "5", "--rate", "50", "--json"]);
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out) as BenchReport;
    assert.equal(report.targets[0]?.requests.ok, 5);
    assert.ok(report.targets[0]?.sendLagMs, "the open loop reports its send lag");
    assert.equal(report.records, undefined);
  });

  it("--compare sends the same requests to both and reports ratios side by side", async () => {
    const json = join(dir, "compare.json");
    const r = await bench([
      "--url",
      fast.url,
      "--compare",
      slow.url,
      ...common(),
      "--concurrency",
      "4",
      "--requests",
      "20",
      "--json",
      json,
      "--records",
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Figure\s+A\s+B\s+B \/ A/);
    const report = JSON.parse(readFileSync(json, "utf8")) as BenchReport;
    const [a, b] = report.targets;
    assert.ok(a && b);
    assert.equal(a.url, fast.url);
    assert.equal(b.url, slow.url);
    assert.equal(a.requests.ok, 20);
    assert.equal(b.requests.ok, 20);
    // Same requests: the same prompts went to both.
    const byTarget = (i: number) =>
      (report.records as RequestRecord[])
        .filter((x) => x.target === i)
        .map((x) => x.session)
        .sort();
    assert.deepEqual(byTarget(0), byTarget(1));
    // The slow server has twice the latencies; the ratio column says so.
    const itlRatio = b.itlMs.p50 / a.itlMs.p50;
    assert.ok(itlRatio > 1.6 && itlRatio < 2.4, `ITL ratio ${itlRatio}`);
    const row = r.out.split("\n").find((l) => l.startsWith("TTFT p50 (ms)"));
    assert.ok(row, r.out);
    const ratio = Number(/([\d.]+)×\s*$/.exec(row)?.[1]);
    assert.ok(ratio > 1.6 && ratio < 2.4, row);
  });

  it("--sweep runs each rate, prints the table and writes the SVG chart and Markdown", async () => {
    const chart = join(dir, "sweep.svg");
    const md = join(dir, "sweep.md");
    const json = join(dir, "sweep.json");
    const r = await bench([
      "--url",
      fast.url,
      ...common(),
      "--sweep",
      "20,50,inf",
      "--requests",
      "12",
      "--warmup",
      "2",
      "--chart",
      chart,
      "--md",
      md,
      "--json",
      json,
    ]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split("\n");
    assert.ok(lines.some((l) => /^Rate \(req\/s\)\s+ok \/ sent/.test(l)));
    for (const rate of ["20", "50", "inf"])
      assert.ok(
        lines.some((l) => new RegExp(`^${rate}\\s+12 / 12`).test(l)),
        `${rate} row:\n${r.out}`,
      );
    const svg = readFileSync(chart, "utf8");
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>\n$/);
    assert.equal((svg.match(/<polyline /g) ?? []).length, 4, "TTFT and TPOT, p50 and p99");
    assert.equal((svg.match(/<circle /g) ?? []).length, 12, "3 points × 4 series");
    assert.match(svg, />inf req\/s</);
    assert.match(readFileSync(md, "utf8"), /## Sweep\n\n\| Rate \(req\/s\) \|/);
    const report = JSON.parse(readFileSync(json, "utf8")) as BenchReport;
    assert.equal(report.targets.length, 3);
    assert.deepEqual(report.settings.sweep, [20, 50, "inf"]);
  });

  it("shows live progress on a TTY", async () => {
    const r = await bench(["--url", fast.url, ...common(), "--concurrency", "2", "--requests", "40"], true);
    assert.equal(r.code, 0);
    assert.match(r.err, /\[=*\s*\] \d+\/50 done, 0 failed \| TTFT p50 [\d.]+ ms/);
  });

  it("bad input: exit 2 with a message naming the flag, and no file written", async () => {
    const json = join(dir, "bad.json");
    const cases: [string[], RegExp][] = [
      [["--rate", "0"], /--rate must be a positive number or inf/],
      [["--rate", "5", "--concurrency", "2"], /exclude each other/],
      [["--slo", "ttfb=5ms"], /--slo: "ttfb=5ms"/],
      [["--workload", "jsonl"], /needs --dataset/],
      [["--workload", "nope"], /--workload must be/],
      [["--input-tokens", "many"], /--input-tokens/],
      [["--api", "embeddings"], /--api must be chat or completions/],
      [["--rate", "inf", "--duration", "5s"], /give --requests/],
      [["--extra-body", "[1]"], /--extra-body must be a JSON object/],
    ];
    for (const [args, re] of cases) {
      const r = await bench(["--url", fast.url, ...args, "--json", json]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
      assert.match(r.err, re, args.join(" "));
      assert.equal(existsSync(json), false);
    }
    const noUrl = await bench(["--requests", "1"]);
    assert.equal(noUrl.code, 2);
    assert.match(noUrl.err, /--url is required/);
  });

  it("inferplane sim's constant-latency flags: a bad duration is exit 2 naming the flag", async () => {
    let err = "";
    const code = await main(
      [
        "node",
        "inferplane",
        "sim",
        "--model",
        "llama-3.1-8b",
        "--port",
        "0",
        "--time-to-first-token",
        "fast",
      ],
      { out: () => {}, err: (t) => (err += t), isTTY: false },
    );
    assert.equal(code, 2);
    assert.match(err, /--time-to-first-token must be a duration/);
    await assert.rejects(
      startSimServer({ model: "llama-3.1-8b", constantLatency: { ttftMs: -1, itlMs: 10 } }),
      /must be ≥ 0 ms/,
    );
  });

  it("a server that refuses every request: errors counted by type, exit 1", async () => {
    const dead = await startSimServer({ model: "llama-3.1-8b", constantLatency: { ttftMs: 0, itlMs: 0 } });
    const url = dead.url;
    await dead.stop();
    const r = await bench(["--url", url, "--model", "m", ...common(), "--requests", "3", "--json"]);
    assert.equal(r.code, 1);
    assert.match(r.err, /every request failed/);
    const report = JSON.parse(r.out) as BenchReport;
    assert.deepEqual(report.targets[0]?.requests.errors, { ECONNREFUSED: 3 });
  });

  it("shared-prefix sessions: turns carry the conversation, the server's prefix cache serves the shared part", async () => {
    const engine = await startSimServer({ model: "llama-3.1-8b", speed: 50 });
    try {
      const json = join(dir, "shared.json");
      const r = await bench([
        "--url",
        engine.url,
        "--workload",
        "shared-prefix",
        "--prefixes",
        "2",
        "--prefix-tokens",
        "256",
        "--turns",
        "3",
        "--input-tokens",
        "20",
        "--output-tokens",
        "10",
        "--ignore-eos",
        "--concurrency",
        "4",
        "--requests",
        "8",
        "--warmup",
        "0",
        "--json",
        json,
        "--records",
      ]);
      assert.equal(r.code, 0, r.err);
      const report = JSON.parse(readFileSync(json, "utf8")) as BenchReport;
      const records = report.records as RequestRecord[];
      assert.equal(records.length, 24, "8 sessions × 3 turns");
      const sessions = new Map<string, RequestRecord[]>();
      for (const x of records) sessions.set(x.session, [...(sessions.get(x.session) ?? []), x]);
      assert.equal(sessions.size, 8);
      for (const turns of sessions.values()) {
        turns.sort((a, b) => a.turn - b.turn);
        assert.deepEqual(
          turns.map((x) => x.turn),
          [0, 1, 2],
        );
        // Each turn's prompt holds the system prompt, the earlier turns and their replies.
        for (let k = 1; k < 3; k++) {
          const prev = turns[k - 1] as RequestRecord;
          const cur = turns[k] as RequestRecord;
          assert.equal(cur.inputTokens, prev.inputTokens + 10 + 20);
          assert.ok(cur.promptTokens > prev.promptTokens + 30, `${cur.promptTokens} vs ${prev.promptTokens}`);
        }
      }
      // The simulator's queue-time histogram, scraped before and after: every request of the run.
      assert.equal(report.targets[0]?.serverQueue?.requests, 24);
      assert.equal(report.targets[0]?.serverQueue?.metric, "vllm:request_queue_time_seconds");
      assert.ok((report.targets[0]?.serverQueue?.meanMs ?? -1) >= 0);
      const share = report.targets[0]?.cachedShare ?? 0;
      assert.ok(share > 0.5, `prefix-cache share ${share}`);
    } finally {
      await engine.stop();
    }
  });

  it("HTTP errors are counted by status", async () => {
    const r = await bench([
      "--url",
      fast.url,
      "--model",
      "no-such-model",
      ...common(),
      "--requests",
      "3",
      "--json",
    ]);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.out) as BenchReport;
    assert.deepEqual(report.targets[0]?.requests.errors, { http_404: 3 });
    assert.match(report.targets[0]?.requests.firstError ?? "", /model/i);
  });
});
