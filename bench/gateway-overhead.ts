/**
 * What a gateway costs on the request path: the same non-streaming chat request sent
 * (a) straight to an upstream, (b) through Inferplane (`inferplane serve`), (c) through nginx
 * (keep-alive upstream block), (d) through Portkey's gateway (`npx @portkey-ai/gateway`), and
 * two floors of our own (bench/lib/bare-proxy.ts: node:http + undici, fastify + JSON + undici).
 *
 * Upstreams: `sim` — `inferplane sim --speed 1000000`, whose engine time for a 16-token reply is
 * a fraction of a microsecond, so what remains is the sim's HTTP handling; `static` — an nginx
 * that answers every request with a canned chat completion (nearly free), so that the proxy, not
 * the upstream, sets the maximum throughput.
 *
 * Placement (2-core machine): every server under test runs alone on `--server-cpu` (default 1);
 * the load generator and the upstream share `--client-cpu` (default 0). Measurements:
 * - open loop, `--rate` req/s (Poisson) for `--open-seconds` after a warm-up, by the Node
 *   generator in bench/lib/load-gen.ts (its own process): latency percentiles and the latency
 *   each proxy adds over direct;
 * - closed loop, `--connections` connections for `--closed-seconds`, by wrk (Debian) if present,
 *   else the Node generator: maximum requests/s.
 * Every configuration runs `--rounds` times, targets interleaved (their order rotates each
 * round) so that drift on a shared machine hits all of them alike.
 *
 *   npm run build && node --import tsx bench/gateway-overhead.ts [--rounds 2] [--rate 500]
 *     [--open-seconds 12] [--closed-seconds 10] [--upstreams sim,static]
 *     [--targets direct,inferplane,inferplane-nolog,inferplane-baseline,nginx,portkey,bare-node,bare-fastify]
 *     [--baseline-root DIR] [--profile 8] [--json FILE]
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { mean, percentile } from "../src/bench/stats.js";
import { runWrk } from "../src/bench/wrk.js";
import { parseBareTarget, startBareProxy } from "./lib/bare-proxy.js";
import { type ProfileSummary, summarizeProfileFile } from "./lib/cpuprofile.js";
import { startGatewayProcess } from "./lib/gateway-process.js";
import { type LoadResult, runLoad } from "./lib/load-gen.js";
import { startNginx } from "./lib/nginx.js";
import {
  CLI,
  cpuSeconds,
  freePort,
  gitRevision,
  hasCommand,
  httpReady,
  processTree,
  progress,
  type Service,
  spawnService,
  stopAll,
} from "./lib/procs.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "2" },
    rate: { type: "string", default: "500" },
    "open-seconds": { type: "string", default: "12" },
    "closed-seconds": { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    connections: { type: "string", default: "64" },
    arrivals: { type: "string", default: "poisson" },
    upstreams: { type: "string", default: "sim,static" },
    targets: { type: "string", default: "direct,inferplane,nginx,portkey,bare-node,bare-fastify" },
    "server-cpu": { type: "string", default: "1" },
    "client-cpu": { type: "string", default: "0" },
    "sim-speed": { type: "string", default: "1000000" },
    profile: { type: "string", default: "0" },
    strace: { type: "string", default: "0" },
    "profile-upstream": { type: "string" },
    ladder: { type: "string", default: "hook,hijack,signal,esignal,timer,close,timeouts,metrics,all" },
    json: { type: "string" },
    "baseline-root": { type: "string" },
  },
});

const rounds = Number(values.rounds);
const rate = Number(values.rate);
const openS = Number(values["open-seconds"]);
const closedS = Number(values["closed-seconds"]);
/** A built checkout of another revision: target `inferplane-baseline` runs its gateway (A/B in one run). */
const baselineRoot = values["baseline-root"];
const warmupS = Number(values.warmup);
const connections = Number(values.connections);
const arrivals: "uniform" | "poisson" = values.arrivals === "uniform" ? "uniform" : "poisson";
const serverCpu = values["server-cpu"];
const clientCpu = values["client-cpu"];
const simSpeed = values["sim-speed"];
const profileS = Number(values.profile);
const straceS = Number(values.strace);
const upstreams = (values.upstreams ?? "")
  .split(",")
  .filter((u): u is "sim" | "static" => u === "sim" || u === "static");
const wantTargets = (values.targets ?? "").split(",").filter(Boolean);
/** The ablation ladder: bare-fastify plus one gateway feature at a time (closed loop, static upstream only). */
const ladder = (values.ladder ?? "")
  .split(",")
  .filter(Boolean)
  .map((f) => `bare-fastify+${f}`);
for (const name of [...wantTargets, ...ladder]) parseBareTarget(name); // fails early on a typo
/** The gateway is profiled against this upstream (static by default: there the gateway, not the upstream, is saturated). */
const profileUpstream = values["profile-upstream"] ?? (upstreams.includes("static") ? "static" : "sim");

const SERVED = "meta-llama/Llama-3.1-8B-Instruct";
const ROUTE = "llama";
const MESSAGES = [{ role: "user", content: "Say hello in sixteen words." }];
const bodyFor = (model: string) => JSON.stringify({ model, messages: MESSAGES, max_tokens: 16 });

/** A canned chat completion of the size the sim sends for 16 tokens (for the static upstream). */
const CANNED = JSON.stringify({
  id: "chatcmpl-static",
  object: "chat.completion",
  created: 1700000000,
  model: SERVED,
  choices: [
    {
      index: 0,
      message: {
        role: "assistant",
        content: "the a of and to in is was for on that with as by at from",
        tool_calls: [],
      },
      logprobs: null,
      finish_reason: "length",
      stop_reason: null,
    },
  ],
  usage: { prompt_tokens: 17, total_tokens: 33, completion_tokens: 16, prompt_tokens_details: null },
  prompt_logprobs: null,
});

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  service?: Service;
  /** The process whose CPU time is the server's (the upstream itself for `direct`). */
  pid?: number | undefined;
}

interface TargetRuns {
  open: LoadResult[];
  closed: {
    rps: number;
    p50Ms: number;
    p99Ms: number;
    errors: number;
    tool: string;
    /** CPU time the server used per successful request (user + system, its process tree), µs. */
    cpuUsPerReq: number;
  }[];
}

const r2 = (x: number) => Math.round(x * 100) / 100;

async function startUpstream(kind: "sim" | "static"): Promise<{ url: string; service: Service }> {
  const port = await freePort();
  if (kind === "sim") {
    const service = await spawnService({
      name: "sim",
      cmd: process.execPath,
      args: [CLI, "sim", "--model", "llama-3.1-8b", "--speed", simSpeed, "--port", String(port)],
      cpu: clientCpu,
      ready: httpReady(`http://127.0.0.1:${port}/v1/models`),
    });
    return { url: `http://127.0.0.1:${port}`, service };
  }
  const service = await startNginx({ port, cpu: clientCpu, staticBody: CANNED });
  return { url: `http://127.0.0.1:${port}`, service };
}

async function startTargets(
  upstream: string,
  upstreamPid: number | undefined,
  names: readonly string[],
): Promise<Target[]> {
  const out: Target[] = [];
  const chat = "/v1/chat/completions";
  for (const name of names) {
    try {
      if (name === "direct") {
        out.push({ name, url: `${upstream}${chat}`, headers: {}, body: bodyFor(SERVED), pid: upstreamPid });
      } else if (name === "inferplane" || name === "inferplane-nolog" || name === "inferplane-baseline") {
        if (name === "inferplane-baseline" && !baselineRoot)
          throw new Error("inferplane-baseline needs --baseline-root DIR");
        const port = await freePort();
        const gw = await startGatewayProcess(
          {
            route: ROUTE,
            source: `hf://${SERVED}`,
            endpoints: [upstream],
            balancer: "round-robin",
            accessLog: name !== "inferplane-nolog",
          },
          { port, cpu: serverCpu, ...(name === "inferplane-baseline" ? { root: baselineRoot } : {}) },
        );
        out.push({ name, url: `${gw.url}${chat}`, headers: {}, body: bodyFor(ROUTE), service: gw });
      } else if (name === "nginx") {
        if (!hasCommand("nginx")) {
          progress("nginx not installed (apt-get install -y nginx-light): skipped");
          continue;
        }
        const port = await freePort();
        const svc = await startNginx({ port, cpu: serverCpu, proxyTo: upstream });
        out.push({
          name,
          url: `http://127.0.0.1:${port}${chat}`,
          headers: {},
          body: bodyFor(SERVED),
          service: svc,
        });
      } else if (name === "portkey") {
        const port = await freePort();
        const svc = await spawnService({
          name: "portkey",
          cmd: "npx",
          args: ["-y", "@portkey-ai/gateway", `--port=${port}`, "--headless"],
          cpu: serverCpu,
          ready: httpReady(`http://127.0.0.1:${port}/`),
          timeoutMs: 180_000,
        });
        out.push({
          name,
          url: `http://127.0.0.1:${port}${chat}`,
          headers: {
            "x-portkey-provider": "openai",
            "x-portkey-custom-host": `${upstream}/v1`,
            authorization: "Bearer x",
          },
          body: bodyFor(SERVED),
          service: svc,
        });
      } else if (parseBareTarget(name)) {
        const bare = parseBareTarget(name) as NonNullable<ReturnType<typeof parseBareTarget>>;
        const port = await freePort();
        const svc = await startBareProxy({
          mode: bare.mode,
          port,
          upstream,
          model: SERVED,
          features: bare.features,
          cpu: serverCpu,
        });
        out.push({
          name,
          url: `http://127.0.0.1:${port}${chat}`,
          headers: {},
          body: bodyFor(bare.mode === "node" ? SERVED : ROUTE),
          service: svc,
        });
      } else {
        progress(`unknown target ${name}: skipped`);
      }
    } catch (err) {
      progress(`${name} did not start, skipped: ${err instanceof Error ? err.message.slice(0, 400) : err}`);
    }
  }
  // One request each, to fail early on a broken set-up.
  for (const t of out) {
    const res = await fetch(t.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...t.headers },
      body: t.body,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${t.name}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
  return out;
}

async function closedLoop(t: Target, seconds: number): Promise<TargetRuns["closed"][number]> {
  const pid = t.pid ?? t.service?.child.pid;
  const cpu0 = cpuSeconds(pid);
  const r = await closedLoopLoad(t, seconds);
  const cpu = cpuSeconds(pid) - cpu0;
  return { ...r, cpuUsPerReq: (cpu * 1e6) / Math.max(1, r.rps * seconds) };
}

async function closedLoopLoad(
  t: Target,
  seconds: number,
): Promise<Omit<TargetRuns["closed"][number], "cpuUsPerReq">> {
  if (hasCommand("wrk")) {
    const w = await runWrk({
      url: t.url,
      headers: t.headers,
      body: t.body,
      connections,
      durationS: seconds,
      cpu: clientCpu,
    });
    return { rps: w.rps, p50Ms: w.p50Ms, p99Ms: w.p99Ms, errors: w.non2xx + w.socketErrors, tool: "wrk" };
  }
  const r = await runLoad(
    {
      mode: "closed",
      url: t.url,
      headers: t.headers,
      body: t.body,
      durationS: seconds,
      warmupS: 0,
      connections,
    },
    clientCpu,
  );
  return {
    rps: r.rps,
    p50Ms: percentile(r.latenciesMs, 50),
    p99Ms: percentile(r.latenciesMs, 99),
    errors: r.errors + r.non2xx,
    tool: "node",
  };
}

/** The sim's cost beyond HTTP: its trivial GET /health against the chat POST, same load. */
async function simCostCheck(
  url: string,
): Promise<{ healthP50: number; chatP50: number; healthP99: number; chatP99: number }> {
  const common = {
    mode: "open" as const,
    rate,
    arrivals,
    durationS: 5,
    warmupS: 2,
    connections: 256,
    headers: {},
  };
  const health = await runLoad({ ...common, url: `${url}/health`, method: "GET", body: "" }, clientCpu);
  const chat = await runLoad(
    { ...common, url: `${url}/v1/chat/completions`, body: bodyFor(SERVED) },
    clientCpu,
  );
  return {
    healthP50: percentile(health.latenciesMs, 50),
    healthP99: percentile(health.latenciesMs, 99),
    chatP50: percentile(chat.latenciesMs, 50),
    chatP99: percentile(chat.latenciesMs, 99),
  };
}

interface ProfiledRun {
  target: string;
  rps: number;
  requests: number;
  summary: ProfileSummary;
}

/** A V8 CPU profile of one proxy during `seconds` of closed-loop load (after a 3 s warm-up). */
async function profileTarget(
  which: "inferplane" | "bare-fastify",
  upstream: string,
  seconds: number,
): Promise<ProfiledRun> {
  const port = await freePort();
  const file = join(tmpdir(), `inferplane-${which}-${process.pid}.cpuprofile`);
  const svc =
    which === "inferplane"
      ? await startGatewayProcess(
          { route: ROUTE, source: `hf://${SERVED}`, endpoints: [upstream], balancer: "round-robin" },
          { port, cpu: serverCpu, profileFile: file },
        )
      : await startBareProxy({
          mode: "fastify",
          port,
          upstream,
          model: SERVED,
          cpu: serverCpu,
          profileFile: file,
        });
  const t: Target = {
    name: which,
    url: `http://127.0.0.1:${port}/v1/chat/completions`,
    headers: {},
    body: bodyFor(ROUTE),
  };
  try {
    await closedLoop(t, 3); // warm-up (JIT)
    const exited = new Promise<void>((r) => svc.child.once("exit", () => r()));
    svc.child.kill("SIGUSR2");
    const during = await closedLoop(t, seconds);
    svc.child.kill("SIGUSR2");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    progress(
      `profiled ${which}: ${seconds} s of closed-loop load at ${during.rps.toFixed(0)} req/s → ${file}`,
    );
    return {
      target: which,
      rps: during.rps,
      requests: during.rps * seconds,
      summary: summarizeProfileFile(file),
    };
  } finally {
    await svc.stop(1_000);
  }
}

interface SyscallRun {
  target: string;
  requests: number;
  /** Syscall → calls per request, descending. */
  perRequest: Record<string, number>;
  total: number;
}

/**
 * Syscalls per request of each proxy (strace -c on its whole process tree during `seconds` of
 * closed-loop load): exact counts, whatever the noise; strace slows the process, not the count.
 */
async function syscallCounts(
  upstream: string,
  upstreamPid: number | undefined,
  seconds: number,
): Promise<SyscallRun[]> {
  const names = ["inferplane", "bare-fastify", "bare-node", "nginx"].filter(
    (n) => n !== "nginx" || hasCommand("nginx"),
  );
  const targets = await startTargets(upstream, upstreamPid, names);
  const out: SyscallRun[] = [];
  try {
    for (const t of targets) {
      await closedLoop(t, 2); // warm-up
      const pid = t.service?.child.pid;
      if (pid === undefined) continue;
      const file = join(tmpdir(), `inferplane-strace-${t.name}-${process.pid}.txt`);
      const pids = processTree(pid);
      const st = spawn("strace", ["-c", "-f", "-o", file, ...pids.flatMap((p) => ["-p", String(p)])], {
        stdio: "ignore",
      });
      await new Promise((r) => setTimeout(r, 1_000)); // attached
      const load = await closedLoopLoad(t, seconds);
      const exited = new Promise<void>((r) => st.once("exit", () => r()));
      st.kill("SIGINT");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      const requests = load.rps * seconds;
      const perRequest: Record<string, number> = {};
      let total = 0;
      for (const line of readFileSync(file, "utf8").split("\n")) {
        const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?([a-z_0-9]+)\s*$/.exec(line);
        if (!m || m[2] === "total") continue;
        const calls = Number(m[1]) / Math.max(1, requests);
        perRequest[m[2] as string] = calls;
        total += calls;
      }
      out.push({ target: t.name, requests, perRequest, total });
      progress(`strace ${t.name}: ${Math.round(requests)} requests, ${total.toFixed(2)} syscalls/request`);
    }
  } finally {
    await Promise.all(targets.map((t) => t.service?.stop()));
  }
  return out;
}

interface UpstreamReport {
  upstream: "sim" | "static";
  simCost?: Awaited<ReturnType<typeof simCostCheck>>;
  targets: Record<string, TargetRuns>;
}

const report: {
  git: ReturnType<typeof gitRevision>;
  machine: { cpus: string; serverCpu: string | undefined; clientCpu: string | undefined; node: string };
  settings: Record<string, unknown>;
  upstreams: UpstreamReport[];
  profile?: ProfiledRun[];
  profileUpstream?: string;
  syscalls?: SyscallRun[];
  straceUpstream?: string;
} = {
  git: gitRevision(),
  machine: {
    cpus: String((await import("node:os")).cpus().length),
    serverCpu,
    clientCpu,
    node: process.version,
  },
  settings: {
    rounds,
    rate,
    arrivals,
    openSeconds: openS,
    closedSeconds: closedS,
    warmupSeconds: warmupS,
    connections,
    simSpeed: Number(simSpeed),
    closedLoopTool: hasCommand("wrk") ? "wrk" : "node",
    openLoopTool: "node (bench/lib/load-gen.ts, undici Pool)",
  },
  upstreams: [],
};

try {
  for (const kind of upstreams) {
    progress(`upstream ${kind}: starting`);
    const up = await startUpstream(kind);
    const ur: UpstreamReport = { upstream: kind, targets: {} };
    report.upstreams.push(ur);
    try {
      if (kind === "sim") {
        progress("sim cost check: GET /health vs POST chat at the same rate");
        ur.simCost = await simCostCheck(up.url);
        progress(`  sim /health p50 ${ur.simCost.healthP50} ms, chat p50 ${ur.simCost.chatP50} ms`);
      }
      const targets = await startTargets(
        up.url,
        up.service.child.pid,
        kind === "static" ? [...wantTargets, ...ladder] : wantTargets,
      );
      for (const t of targets) ur.targets[t.name] = { open: [], closed: [] };
      try {
        for (let round = 0; round < rounds; round++) {
          const order = targets.map((_, i) => targets[(i + round) % targets.length] as Target);
          for (const t of order) {
            const runs = ur.targets[t.name] as TargetRuns;
            if (kind === "sim" && !ladder.includes(t.name)) {
              progress(`[${kind} ${round + 1}/${rounds}] ${t.name}: open loop ${rate} req/s × ${openS} s`);
              const r = await runLoad(
                {
                  mode: "open",
                  url: t.url,
                  headers: t.headers,
                  body: t.body,
                  rate,
                  arrivals,
                  durationS: openS,
                  warmupS,
                  connections: 512,
                  seed: round + 1,
                },
                clientCpu,
              );
              runs.open.push(r);
              progress(
                `  p50 ${percentile(r.latenciesMs, 50)} ms, p99 ${percentile(r.latenciesMs, 99)} ms, ok ${r.ok}/${r.sent}, send lag p99 ${r.lagMs?.p99} ms`,
              );
            }
            progress(
              `[${kind} ${round + 1}/${rounds}] ${t.name}: closed loop ${connections} conns × ${closedS} s`,
            );
            await closedLoop(t, 2); // warm-up
            const c = await closedLoop(t, closedS);
            runs.closed.push(c);
            progress(`  ${c.rps.toFixed(0)} req/s (${c.tool}), errors ${c.errors}`);
          }
        }
      } finally {
        await Promise.all(targets.map((t) => t.service?.stop()));
      }
      if (kind === profileUpstream && profileS > 0 && wantTargets.includes("inferplane")) {
        progress(`profiling the gateway for ${profileS} s of closed-loop load (upstream ${kind})`);
        report.profile = [
          await profileTarget("inferplane", up.url, profileS),
          await profileTarget("bare-fastify", up.url, profileS),
        ];
        report.profileUpstream = kind;
      }
      if (kind === profileUpstream && straceS > 0) {
        if (!hasCommand("strace"))
          progress("strace not installed (apt-get install -y strace): no syscall counts");
        else report.syscalls = await syscallCounts(up.url, up.service.child.pid, straceS);
        report.straceUpstream = kind;
      }
    } finally {
      await up.service.stop();
    }
  }
} finally {
  await stopAll();
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------
function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
const lines: string[] = [];
const simReport = report.upstreams.find((u) => u.upstream === "sim");
const summary: Record<string, unknown> = {};

if (simReport && Object.values(simReport.targets).some((t) => t.open.length > 0)) {
  const pooled = (name: string) => simReport.targets[name]?.open.flatMap((r) => r.latenciesMs) ?? [];
  const direct = pooled("direct");
  const d50 = percentile(direct, 50);
  const d99 = percentile(direct, 99);
  lines.push(
    `### Open loop: ${rate} req/s (${arrivals}), non-streaming chat, upstream \`inferplane sim --speed ${simSpeed}\``,
    "",
    `${rounds} × ${openS} s per target (after ${warmupS} s warm-up each), latencies of all rounds pooled; "added" = target − direct at the same percentile; range = per-round added p50 / p99.`,
    "",
    "| Target | p50 ms | p90 ms | p99 ms | p99.9 ms | added p50 ms | added p99 ms | per-round added p50 / p99 ms | ok / sent | client send lag p99 ms |",
    "|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const [name, runs] of Object.entries(simReport.targets)) {
    const all = pooled(name);
    if (all.length === 0) continue;
    const p50 = percentile(all, 50);
    const p99 = percentile(all, 99);
    const perRound = runs.open.map((r, i) => {
      const dr = simReport.targets.direct?.open[i]?.latenciesMs ?? [];
      return `${r2(percentile(r.latenciesMs, 50) - percentile(dr, 50))} / ${r2(percentile(r.latenciesMs, 99) - percentile(dr, 99))}`;
    });
    const ok = runs.open.reduce((s, r) => s + r.ok, 0);
    const sent = runs.open.reduce((s, r) => s + r.sent, 0);
    const lag = Math.max(...runs.open.map((r) => r.lagMs?.p99 ?? Number.NaN));
    lines.push(
      `| ${name} | ${r2(p50)} | ${r2(percentile(all, 90))} | ${r2(p99)} | ${r2(percentile(all, 99.9))} | ${name === "direct" ? "—" : r2(p50 - d50)} | ${name === "direct" ? "—" : r2(p99 - d99)} | ${name === "direct" ? "—" : perRound.join("; ")} | ${ok} / ${sent} | ${r2(lag)} |`,
    );
    summary[`open.${name}`] = {
      p50,
      p99,
      addedP50: p50 - d50,
      addedP99: p99 - d99,
      ok,
      sent,
      ...(runs.open.some((r) => r.overheadHeaderMs.length > 0)
        ? {
            selfReportedOverheadP50: percentile(
              runs.open.flatMap((r) => r.overheadHeaderMs),
              50,
            ),
            selfReportedOverheadP99: percentile(
              runs.open.flatMap((r) => r.overheadHeaderMs),
              99,
            ),
          }
        : {}),
    };
  }
  const own = runsOverhead(simReport.targets.inferplane);
  if (own) {
    lines.push(
      "",
      `Inferplane's own \`x-inferplane-overhead-ms\` header over the same requests: p50 ${r2(own.p50)} ms, p99 ${r2(own.p99)} ms (time in the gateway outside the upstream call).`,
    );
  }
  if (simReport.simCost) {
    const c = simReport.simCost;
    lines.push(
      "",
      `Sim cost check (direct, ${rate} req/s, 5 s): GET /health p50 ${r2(c.healthP50)} ms / p99 ${r2(c.healthP99)} ms; POST chat (16 tokens) p50 ${r2(c.chatP50)} ms / p99 ${r2(c.chatP99)} ms.`,
    );
  }
  lines.push("");
}

function runsOverhead(t: TargetRuns | undefined): { p50: number; p99: number } | undefined {
  const xs = t?.open.flatMap((r) => r.overheadHeaderMs) ?? [];
  return xs.length ? { p50: percentile(xs, 50), p99: percentile(xs, 99) } : undefined;
}

const names = [...new Set(report.upstreams.flatMap((u) => Object.keys(u.targets)))];
const maxRps = (u: UpstreamReport, name: string) => median(u.targets[name]?.closed.map((c) => c.rps) ?? []);
const cpuPerReq = (u: UpstreamReport, name: string) =>
  median(u.targets[name]?.closed.map((c) => c.cpuUsPerReq) ?? []);
for (const u of report.upstreams) {
  lines.push(
    `### Closed loop, upstream ${u.upstream}: maximum requests/s, ${connections} connections × ${closedS} s (${hasCommand("wrk") ? "wrk, 1 thread" : "Node generator"})`,
    "",
    `Median of ${rounds} rounds, each round's value, the best; and the CPU time the server process (tree) used per request (user + system from /proc; less sensitive to a noisy neighbour than req/s; the minimum over rounds is the least disturbed), with the req/s one core would give at that cost.`,
    "",
    "| Target | req/s (median) | rounds | best | server CPU µs/req: median (min) | ⇒ req/s per core at the median | p50 / p99 ms | errors |",
    "|---|---|---|---|---|---|---|---|",
  );
  for (const name of names) {
    const c = u.targets[name]?.closed ?? [];
    if (c.length === 0) continue;
    const errs = c.reduce((s, x) => s + x.errors, 0);
    const cpu = cpuPerReq(u, name);
    lines.push(
      `| ${name}${name === "direct" ? ` (the ${u.upstream} upstream itself, on the client's core)` : ""} | ${Math.round(maxRps(u, name))} | ${c.map((x) => Math.round(x.rps)).join(", ")} | ${Math.round(Math.max(...c.map((x) => x.rps)))} | ${r2(cpu)} (${r2(Math.min(...c.map((x) => x.cpuUsPerReq)))}) | ${Math.round(1e6 / cpu)} | ${r2(median(c.map((x) => x.p50Ms)))} / ${r2(median(c.map((x) => x.p99Ms)))} | ${errs} |`,
    );
  }
  lines.push("");
}

// Targets
const verdict = (ok: boolean) => (ok ? "**met**" : "**missed**");
const t: string[] = ["### Targets", "", "| Target | Measured | Result |", "|---|---|---|"];
const openInf = summary["open.inferplane"] as { addedP50: number; addedP99: number } | undefined;
if (openInf) {
  t.push(
    `| Inferplane added p50 ≤ 0.5 ms at ${rate} req/s | ${r2(openInf.addedP50)} ms | ${verdict(openInf.addedP50 <= 0.5)} |`,
  );
  t.push(
    `| Inferplane added p99 ≤ 2 ms at ${rate} req/s | ${r2(openInf.addedP99)} ms | ${verdict(openInf.addedP99 <= 2)} |`,
  );
}
for (const u of report.upstreams) {
  const inf = maxRps(u, "inferplane");
  const pk = maxRps(u, "portkey");
  const ng = maxRps(u, "nginx");
  const cpuRatio = (other: string) => cpuPerReq(u, other) / cpuPerReq(u, "inferplane");
  if (Number.isFinite(inf) && Number.isFinite(pk))
    t.push(
      `| max req/s ≥ 2 × Portkey (upstream ${u.upstream}) | ${Math.round(inf)} vs ${Math.round(pk)} = ${r2(inf / pk)}× (CPU per request: Portkey ${r2(cpuRatio("portkey"))}× Inferplane's) | ${verdict(inf >= 2 * pk)} |`,
    );
  if (Number.isFinite(inf) && Number.isFinite(ng))
    t.push(
      `| max req/s ≥ 40% of nginx (upstream ${u.upstream}) | ${Math.round(inf)} vs ${Math.round(ng)} = ${Math.round((inf / ng) * 100)}% (CPU per request: nginx ${Math.round(cpuRatio("nginx") * 100)}% of Inferplane's) | ${verdict(inf >= 0.4 * ng)} |`,
    );
  const direct = maxRps(u, "direct");
  if (u.upstream === "sim" && Number.isFinite(ng) && Number.isFinite(direct) && ng >= 0.9 * direct)
    t.push(
      `| (note) nginx through the sim reaches ${Math.round((ng / direct) * 100)}% of direct: the sim, not nginx, limits it | | |`,
    );
}
lines.push(...t, "");

if (report.profile && report.profile.length > 0) {
  const runs = report.profile;
  const perReq = (run: ProfiledRun, ms: number) => (ms * 1000) / Math.max(1, run.requests);
  const comps = [...new Set(runs.flatMap((r) => r.summary.components.map((c) => c.component)))];
  const compUs = (run: ProfiledRun, c: string) =>
    perReq(run, run.summary.components.find((x) => x.component === c)?.ms ?? 0);
  const first = runs[0] as ProfiledRun;
  comps.sort((x, y) => compUs(first, y) - compUs(first, x));
  lines.push(
    `### Where the CPU goes: V8 sampling profiles, ${profileS} s of closed-loop load each, upstream ${report.profileUpstream}`,
    "",
    `CPU time per request (busy time × component share ÷ requests served in the window), in µs. ${runs
      .map(
        (r) =>
          `${r.target}: ${Math.round(r.rps)} req/s, ${r2((r.summary.busyMs / r.summary.wallMs) * 100)}% busy, ${r2(perReq(r, r.summary.busyMs))} µs/request`,
      )
      .join("; ")}.`,
    "",
    `| Component (self time) | ${runs.map((r) => `${r.target} µs/req`).join(" | ")} |${runs.length > 1 ? " difference µs/req |" : ""}`,
    `|---|${runs.map(() => "---").join("|")}|${runs.length > 1 ? "---|" : ""}`,
    ...comps.map(
      (c) =>
        `| ${c} | ${runs.map((r) => r2(compUs(r, c))).join(" | ")} |${runs.length > 1 ? ` ${r2(compUs(first, c) - compUs(runs[1] as ProfiledRun, c))} |` : ""}`,
    ),
    `| **total** | ${runs.map((r) => `**${r2(perReq(r, r.summary.busyMs))}**`).join(" | ")} |${runs.length > 1 ? ` **${r2(perReq(first, first.summary.busyMs) - perReq(runs[1] as ProfiledRun, (runs[1] as ProfiledRun).summary.busyMs))}** |` : ""}`,
    "",
    `Hottest functions of ${first.target} (self time):`,
    "",
    "| Function | where | µs/req | share |",
    "|---|---|---|---|",
    ...first.summary.top
      .slice(0, 20)
      .map((f) => `| ${f.fn} | ${f.where} | ${r2(perReq(first, f.ms))} | ${(f.share * 100).toFixed(1)}% |`),
    "",
  );
}

if (report.syscalls && report.syscalls.length > 0) {
  const runs = report.syscalls;
  const calls = [...new Set(runs.flatMap((r) => Object.keys(r.perRequest)))]
    .map((c) => ({ c, max: Math.max(...runs.map((r) => r.perRequest[c] ?? 0)) }))
    .filter((x) => x.max >= 0.05)
    .sort((a, b) => b.max - a.max)
    .map((x) => x.c);
  lines.push(
    `### Syscalls per request (strace -c on the server's process tree, ${straceS} s of closed-loop load, upstream ${report.straceUpstream})`,
    "",
    `| Syscall | ${runs.map((r) => r.target).join(" | ")} |`,
    `|---|${runs.map(() => "---").join("|")}|`,
    ...calls.map((c) => `| ${c} | ${runs.map((r) => r2(r.perRequest[c] ?? 0)).join(" | ")} |`),
    `| **total** | ${runs.map((r) => `**${r2(r.total)}**`).join(" | ")} |`,
    "",
  );
}

const md = lines.join("\n");
console.log(md);
if (values.json) {
  const slim = {
    ...report,
    summary,
    upstreams: report.upstreams.map((u) => ({
      ...u,
      targets: Object.fromEntries(
        Object.entries(u.targets).map(([name, runs]) => [
          name,
          {
            closed: runs.closed,
            open: runs.open.map((r) => ({
              sent: r.sent,
              ok: r.ok,
              non2xx: r.non2xx,
              errors: r.errors,
              firstError: r.firstError,
              rps: r.rps,
              lagMs: r.lagMs,
              p50: percentile(r.latenciesMs, 50),
              p90: percentile(r.latenciesMs, 90),
              p99: percentile(r.latenciesMs, 99),
              p999: percentile(r.latenciesMs, 99.9),
              mean: mean(r.latenciesMs),
              overheadHeaderP50: percentile(r.overheadHeaderMs, 50),
              overheadHeaderP99: percentile(r.overheadHeaderMs, 99),
            })),
          },
        ]),
      ),
    })),
    markdown: md,
  };
  writeFileSync(values.json, JSON.stringify(slim, null, 2));
  progress(`wrote ${values.json}`);
}
