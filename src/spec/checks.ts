/**
 * Cross-reference checks that a schema cannot express: names that must exist and be unique,
 * and agreement with the catalog (MIG layouts a GPU can place, a model's context length,
 * quantization of the published variant). Pure: platform in, problems out.
 */
import { type EngineId, type MetricKey, metricNames } from "../catalog/engines.js";
import { findGpu, type GpuSpec } from "../catalog/gpus.js";
import { isLegalMigLayout, normalizeProfileName } from "../catalog/mig.js";
import { type ModelSpec as CatalogModel, findModel, findModelByRepo } from "../catalog/models.js";
import { engineDefinition, isExternalEngine, sourceProblem } from "../engines/index.js";
import { deployCrossCheck } from "./checks-deploy.js";
import type { GpuPool, ModelSpec, Platform, RouteSpec } from "./schema.js";

export interface CheckProblem {
  path: (string | number)[];
  message: string;
}

type Path = CheckProblem["path"];

/** The catalog entry a served model corresponds to: `catalog`, else its hf:// repo. */
export function catalogModelOf(m: ModelSpec): CatalogModel | undefined {
  if (m.catalog !== undefined) return findModel(m.catalog);
  return m.source.startsWith("hf://") ? findModelByRepo(m.source)?.model : undefined;
}

/** The model name the engine serves: as written, else the hf:// repo, ollama:// or openai:// name, else the pool name. */
export function servedModelName(m: ModelSpec): string {
  if (m.servedModelName) return m.servedModelName;
  const match = /^(hf|ollama|openai):\/\/(.+)$/.exec(m.source);
  return match?.[2] ?? m.name;
}

/** A model's kind: as written, else the catalog's, else chat. */
export function modelKind(m: ModelSpec): "chat" | "embedding" | "rerank" {
  return m.kind ?? catalogModelOf(m)?.kind ?? "chat";
}

/** GPUs of a pool that are not MIG-partitioned. */
export function wholeGpus(pool: GpuPool): number {
  if (pool.sharing.mode !== "mig") return pool.count;
  return pool.count - (pool.sharing.mig?.layouts ?? []).reduce((s, l) => s + l.gpus, 0);
}

/** The replicas a model runs at least (autoscaling's floor, else its fixed count). */
export function minimumReplicas(m: ModelSpec): number {
  return m.autoscaling?.enabled ? m.autoscaling.minReplicas : m.replicas;
}

function duplicates(names: string[]): Map<string, number[]> {
  const seen = new Map<string, number[]>();
  names.forEach((n, i) => {
    seen.set(n, [...(seen.get(n) ?? []), i]);
  });
  return new Map([...seen].filter(([, idx]) => idx.length > 1));
}

type At = (...rest: Path) => Path;

function checkPools(p: Platform, out: CheckProblem[]): void {
  p.gpus.forEach((pool, i) => {
    const at: At = (...rest) => ["gpus", i, ...rest];
    const gpu = findGpu(pool.type);
    if (!gpu) return; // the schema's enum already reported it
    if (pool.gpusPerNode !== undefined && pool.gpusPerNode > pool.count) {
      out.push({
        path: at("gpusPerNode"),
        message: `${pool.gpusPerNode} GPUs per node exceeds the pool's ${pool.count}`,
      });
    }
    const { mode, mig } = pool.sharing;
    if (mode === "mig") {
      if (!checkMigPartitioning(gpu, pool, at, out)) return;
    } else if (mig) {
      out.push({ path: at("sharing", "mig"), message: `\`mig\` is set but the sharing mode is \`${mode}\`` });
    }
    checkSharingReplicas(pool, at, out);
  });
}

/** A MIG pool's layouts against the GPU; false when the pool's remaining checks do not apply. */
function checkMigPartitioning(gpu: GpuSpec, pool: GpuPool, at: At, out: CheckProblem[]): boolean {
  const mig = pool.sharing.mig;
  if (gpu.migSlices === null) {
    out.push({ path: at("sharing", "mode"), message: `${gpu.id} does not support MIG` });
    return false;
  }
  // Without `mig` (or layouts) the planner chooses the geometry.
  if (!mig) return false;
  mig.layouts.forEach((layout, j) => {
    const result = isLegalMigLayout(gpu.id, layout.profiles);
    if (!result.ok)
      out.push({ path: at("sharing", "mig", "layouts", j, "profiles"), message: result.reason });
  });
  const partitioned = mig.layouts.reduce((s, l) => s + l.gpus, 0);
  if (partitioned > pool.count) {
    out.push({
      path: at("sharing", "mig", "layouts"),
      message: `layouts partition ${partitioned} GPUs but the pool has ${pool.count}`,
    });
  }
  const distinct = new Set(mig.layouts.flatMap((l) => l.profiles.map(normalizeProfileName)));
  if (mig.strategy === "single" && distinct.size > 1) {
    out.push({
      path: at("sharing", "mig", "strategy"),
      message: `strategy \`single\` allows one MIG profile per node, the layouts use ${[...distinct].join(", ")}; use \`mixed\``,
    });
  }
  return true;
}

/** `replicas` (pods per GPU) belongs to time-slicing and mps, and only to them. */
function checkSharingReplicas(pool: GpuPool, at: At, out: CheckProblem[]): void {
  const { mode, replicas } = pool.sharing;
  if ((mode === "time-slicing" || mode === "mps") && replicas === undefined) {
    out.push({
      path: at("sharing", "replicas"),
      message: `mode \`${mode}\` needs \`replicas\` (pods per GPU)`,
    });
  }
  if ((mode === "exclusive" || mode === "mig") && replicas !== undefined) {
    out.push({
      path: at("sharing", "replicas"),
      message: `\`replicas\` applies to time-slicing and mps, not \`${mode}\``,
    });
  }
}

function checkModel(p: Platform, m: ModelSpec, i: number, out: CheckProblem[]): void {
  const at: At = (...rest) => ["models", i, ...rest];
  const cat = checkedCatalogEntry(m, at, out);
  if (cat) checkAgainstCatalog(m, cat, at, out);
  checkSourceAndEndpoints(m, at, out);
  if (m.gpu) checkGpuPool(p, m, at, out);
  if (m.autoscaling?.enabled) checkAutoscaling(p, m, at, out);
}

/** The catalog entry of `catalog` or the hf:// repo, reporting an unknown id or a quantization the variant is not. */
function checkedCatalogEntry(m: ModelSpec, at: At, out: CheckProblem[]): CatalogModel | undefined {
  if (m.catalog !== undefined) {
    const cat = findModel(m.catalog);
    if (!cat) out.push({ path: at("catalog"), message: `"${m.catalog}" is not a catalog model id` });
    return cat;
  }
  if (!m.source.startsWith("hf://")) return undefined;
  const found = findModelByRepo(m.source);
  const q = m.quantization;
  if (found && q !== undefined) {
    const v = found.variant.quantization;
    const agrees = q === v || (q === "none" && v === "none") || (q === "gptq" && v.startsWith("gptq"));
    if (!agrees) {
      out.push({
        path: at("quantization"),
        message: `${found.variant.repo} is published as ${v === "none" ? "unquantized" : v}, not ${q}`,
      });
    }
  }
  return found?.model;
}

function checkAgainstCatalog(m: ModelSpec, cat: CatalogModel, at: At, out: CheckProblem[]): void {
  if (m.kind !== undefined && m.kind !== cat.kind) {
    out.push({ path: at("kind"), message: `${cat.displayName} is a ${cat.kind} model, not ${m.kind}` });
  }
  if (m.maxModelLen !== undefined && m.maxModelLen > cat.maxContext) {
    out.push({
      path: at("maxModelLen"),
      message: `${m.maxModelLen} exceeds ${cat.displayName}'s maximum context of ${cat.maxContext} tokens`,
    });
  }
}

/** The source against the engine, and where an external or existing model is reached. */
function checkSourceAndEndpoints(m: ModelSpec, at: At, out: CheckProblem[]): void {
  const scheme = m.source.slice(0, m.source.indexOf(":"));
  if ((scheme === "openai") !== isExternalEngine(m.engine)) {
    out.push({ path: at("engine"), message: "openai:// sources go with engine `openai`, and only they" });
  }
  const sourceIssue = sourceProblem(m.engine, m.source);
  if (sourceIssue !== undefined) out.push({ path: at("source"), message: sourceIssue });
  if (m.discovery && m.endpoints.length > 0) {
    out.push({ path: at("discovery"), message: "give either `endpoints` or `discovery`, not both" });
  }
  if (
    m.discovery?.kind === "dns" &&
    m.discovery.port === undefined &&
    m.discovery.record !== undefined &&
    m.discovery.record !== "SRV"
  ) {
    out.push({
      path: at("discovery", "port"),
      message: `${m.discovery.record} records carry no port: set \`port\``,
    });
  }
  if (isExternalEngine(m.engine) && m.gpu) {
    out.push({ path: at("gpu"), message: "an external provider (engine `openai`) runs on no GPU of ours" });
  }
}

function checkGpuPool(p: Platform, m: ModelSpec, at: At, out: CheckProblem[]): void {
  const pool = p.gpus.find((g) => g.name === m.gpu?.pool);
  if (pool) {
    checkGpuRequest(m, pool, at, out);
    return;
  }
  const known = p.gpus.map((g) => g.name);
  out.push({
    path: at("gpu", "pool"),
    message: `no GPU pool "${m.gpu?.pool}"${known.length ? `; pools: ${known.join(", ")}` : "; `gpus` is empty"}`,
  });
}

function checkAutoscaling(p: Platform, m: ModelSpec, at: At, out: CheckProblem[]): void {
  const a = m.autoscaling;
  if (!a) return;
  if (a.minReplicas > a.maxReplicas) {
    out.push({
      path: at("autoscaling", "minReplicas"),
      message: `${a.minReplicas} is above maxReplicas ${a.maxReplicas}`,
    });
  }
  if (m.replicas < a.minReplicas || m.replicas > a.maxReplicas) {
    out.push({
      path: at("replicas"),
      message: `${m.replicas} is outside the autoscaling range ${a.minReplicas}–${a.maxReplicas}`,
    });
  }
  // vLLM's KV-cache usage gauge is a 0–1 fraction: a target of 70 never triggers (guide error #1).
  if (a.metric === "kv_cache_usage" && a.target > 1) {
    out.push({
      path: at("autoscaling", "target"),
      message: `kv_cache_usage is a 0–1 fraction; ${a.target} can never be reached (write ${a.target >= 1 && a.target <= 100 ? a.target / 100 : 0.8})`,
    });
  }
  if (deploysEngine(m)) {
    const metric = metricNames(m.engine as EngineId, m.engineVersion)[SCALING_METRIC[a.metric] ?? "waiting"];
    if (!metric || metric.exposed.length === 0) {
      out.push({
        path: at("autoscaling", "metric"),
        message: `engine ${m.engine}${m.engineVersion ? ` ${m.engineVersion}` : ""} exposes no ${a.metric} metric to autoscale on`,
      });
    }
  }
  if (a.minReplicas === 0) checkScaleToZero(p, m, at, out);
}

/** Spec scaling metric → the catalog's metric key. */
const SCALING_METRIC: Record<string, MetricKey> = {
  num_requests_waiting: "waiting",
  num_requests_running: "running",
  kv_cache_usage: "kvCacheUsage",
};

/** Whether render deploys an engine for the model (not external, not pointed at existing endpoints). */
export function deploysEngine(m: ModelSpec): boolean {
  return (
    engineDefinition(m.engine).container !== undefined &&
    m.endpoints.length === 0 &&
    m.discovery === undefined
  );
}

/** Routes whose traffic reaches the model (targets or aliases of it). */
export function routesTo(p: Platform, m: ModelSpec): string[] {
  return p.routes.filter((r) => r.targets.some((t) => t.model === m.name)).map((r) => r.name);
}

/**
 * Scale to zero: at zero pods the engine's own metric does not exist, so only a signal from
 * outside the engine can bring the first replica back. KEDA activates on the gateway's
 * per-route request rate (render adds that trigger); an HPA cannot go below one replica
 * without the HPAScaleToZero feature gate, and a model no route reaches has no such signal.
 */
function checkScaleToZero(p: Platform, m: ModelSpec, at: (...rest: Path) => Path, out: CheckProblem[]): void {
  if (!deploysEngine(m)) return;
  const path = at("autoscaling", "minReplicas");
  if (m.autoscaling?.via !== "keda") {
    out.push({
      path,
      message:
        "minReplicas 0 needs `via: keda`: an HPA cannot scale a Deployment back up from zero (its metric comes from the pods it would start)",
    });
  } else if (routesTo(p, m).length === 0) {
    out.push({
      path,
      message:
        "minReplicas 0: no route targets this model, so no gateway traffic can activate its first replica (at zero pods its own metric does not exist)",
    });
  }
}

/**
 * What render must be able to deploy, checked here so that validate, plan and render agree:
 * a time-sliced GPU shares its memory, so replicas' utilisations must add up to at most one GPU;
 * an engine may refuse to be rendered (Triton needs a prepared model repository).
 */
function checkDeployable(p: Platform, m: ModelSpec, at: (...rest: Path) => Path, out: CheckProblem[]): void {
  if (!deploysEngine(m)) return;
  const refusal = engineDefinition(m.engine).renderRefusal;
  if (refusal !== undefined) out.push({ path: at("engine"), message: refusal });
  const pool = m.gpu ? p.gpus.find((g) => g.name === m.gpu?.pool) : undefined;
  const shared = pool !== undefined && (pool.sharing.mode === "time-slicing" || pool.sharing.mode === "mps");
  const ways = pool?.sharing.replicas ?? 1;
  // With `count: auto` the planner chooses the share and its memory fraction itself.
  const fixed = m.gpu?.migProfile === undefined && m.gpu?.count !== "auto";
  if (shared && fixed && m.gpuMemoryUtilization * ways > 1 + 1e-9) {
    out.push({
      path: at("gpuMemoryUtilization"),
      message: `${m.gpuMemoryUtilization} on pool ${pool?.name}, shared ${ways} ways, claims ${(m.gpuMemoryUtilization * ways).toFixed(2)} of one GPU (time slicing isolates no memory); use at most ${(Math.floor(100 / ways) / 100).toFixed(2)}`,
    });
  }
}

function checkGpuRequest(
  m: ModelSpec,
  pool: GpuPool,
  at: (...rest: Path) => Path,
  out: CheckProblem[],
): void {
  const gpu = findGpu(pool.type) as GpuSpec;
  const req = m.gpu;
  if (!req) return;
  if (req.migProfile !== undefined) {
    const profile = normalizeProfileName(req.migProfile);
    if (pool.sharing.mode !== "mig") {
      out.push({ path: at("gpu", "migProfile"), message: `pool ${pool.name} is not partitioned with MIG` });
      return;
    }
    if (!gpu.migProfiles.some((x) => x.name === profile)) {
      out.push({
        path: at("gpu", "migProfile"),
        message: `${gpu.id} has no MIG profile ${req.migProfile}; its profiles: ${gpu.migProfiles.map((x) => x.name).join(", ")}`,
      });
      return;
    }
    const layouts = pool.sharing.mig?.layouts ?? [];
    // No layouts: the planner lays the pool out. With layouts, uncovered GPUs stay whole.
    if (layouts.length > 0 && !layouts.some((l) => l.profiles.map(normalizeProfileName).includes(profile))) {
      out.push({
        path: at("gpu", "migProfile"),
        message: `no layout of pool ${pool.name} creates ${profile} instances`,
      });
    }
    if (pool.sharing.mig?.strategy === "single") {
      out.push({
        path: at("gpu", "migProfile"),
        message: `pool ${pool.name} uses MIG strategy \`single\`, which exposes nvidia.com/gpu, not nvidia.com/mig-${profile}`,
      });
    }
    if (req.count !== 1) {
      out.push({
        path: at("gpu", "count"),
        message: "a replica on a MIG instance uses exactly one instance",
      });
    }
    return;
  }
  const perNode = pool.gpusPerNode ?? Math.min(pool.count, 8);
  if (typeof req.count === "number" && req.count > perNode) {
    out.push({
      path: at("gpu", "count"),
      message: `${req.count} GPUs per replica exceeds the ${perNode} GPUs per node of pool ${pool.name} (tensor parallelism stays within a node)`,
    });
  }
}

/** Minimum demand against what each pool offers: whole GPUs, MIG instances, time slices. */
function checkCapacity(p: Platform, out: CheckProblem[]): void {
  p.gpus.forEach((pool, i) => {
    const users = p.models.filter((m) => m.gpu?.pool === pool.name);
    checkWholeGpuDemand(pool, i, users, out);
    checkMigInstanceDemand(pool, i, users, out);
  });
}

function checkWholeGpuDemand(pool: GpuPool, i: number, users: ModelSpec[], out: CheckProblem[]): void {
  const slots =
    pool.sharing.mode === "time-slicing" || pool.sharing.mode === "mps" ? (pool.sharing.replicas ?? 1) : 1;
  const whole = users.filter((m) => m.gpu?.migProfile === undefined && typeof m.gpu?.count === "number");
  const demand = whole.reduce((s, m) => s + minimumReplicas(m) * (m.gpu?.count as number), 0);
  const offer = wholeGpus(pool) * slots;
  if (demand > offer) {
    const detail = whole.map((m) => `${m.name} ${minimumReplicas(m)} × ${m.gpu?.count}`).join(", ");
    out.push({
      path: ["gpus", i, "count"],
      message: `models need ${demand} GPU${slots > 1 ? " slices" : "s"} at their minimum replicas (${detail}) but pool ${pool.name} offers ${offer}`,
    });
  }
}

function checkMigInstanceDemand(pool: GpuPool, i: number, users: ModelSpec[], out: CheckProblem[]): void {
  const instances = new Map<string, number>();
  for (const l of pool.sharing.mode === "mig" ? (pool.sharing.mig?.layouts ?? []) : []) {
    for (const prof of l.profiles) {
      const name = normalizeProfileName(prof);
      instances.set(name, (instances.get(name) ?? 0) + l.gpus);
    }
  }
  const migDemand = new Map<string, number>();
  for (const m of users) {
    if (m.gpu?.migProfile === undefined) continue;
    const name = normalizeProfileName(m.gpu.migProfile);
    migDemand.set(name, (migDemand.get(name) ?? 0) + minimumReplicas(m));
  }
  for (const [name, need] of migDemand) {
    const have = instances.get(name) ?? 0;
    if (have > 0 && need > have) {
      out.push({
        path: ["gpus", i, "sharing", "mig", "layouts"],
        message: `models need ${need} ${name} instances at their minimum replicas but the layouts create ${have}`,
      });
    }
  }
}

function checkRoutes(p: Platform, out: CheckProblem[]): void {
  const models = new Map(p.models.map((m) => [m.name, m]));
  const routeNames = new Set(p.routes.map((r) => r.name));
  p.routes.forEach((r, i) => {
    checkRoute(r, (...rest) => ["routes", i, ...rest], models, routeNames, out);
  });
  checkPoolBalancers(p, out);
  checkPublicNamesUnique(p, out);
}

function checkRoute(
  r: RouteSpec,
  at: At,
  models: Map<string, ModelSpec>,
  routeNames: Set<string>,
  out: CheckProblem[],
): void {
  const kinds = new Set<string>();
  r.targets.forEach((t, j) => {
    const m = models.get(t.model);
    if (!m) out.push({ path: at("targets", j, "model"), message: `no model named "${t.model}"` });
    else kinds.add(modelKind(m));
  });
  if (kinds.size > 1) {
    out.push({ path: at("targets"), message: `targets mix model kinds (${[...kinds].join(", ")})` });
  }
  if (r.targets.every((t) => t.weight === 0)) {
    out.push({ path: at("targets"), message: "every target has weight 0; the route can serve nothing" });
  }
  r.fallbacks.forEach((f, j) => {
    if (!routeNames.has(f)) out.push({ path: at("fallbacks", j), message: `no route named "${f}"` });
    else if (f === r.name)
      out.push({ path: at("fallbacks", j), message: "a route cannot fall back to itself" });
  });
  if (r.contextFallback !== undefined && !routeNames.has(r.contextFallback)) {
    out.push({ path: at("contextFallback"), message: `no route named "${r.contextFallback}"` });
  } else if (r.contextFallback === r.name) {
    out.push({ path: at("contextFallback"), message: "a route cannot fall back to itself" });
  }
  if (r.sticky?.by === "header" && !r.sticky.header) {
    out.push({ path: at("sticky", "header"), message: "`by: header` needs the header name" });
  }
}

/** The balancer belongs to the pool: routes sharing a pool must agree on it. */
function checkPoolBalancers(p: Platform, out: CheckProblem[]): void {
  const balancerOf = new Map<string, { balancer: string; route: string }>();
  p.routes.forEach((r, i) => {
    for (const t of r.targets) {
      const prev = balancerOf.get(t.model);
      if (!prev) balancerOf.set(t.model, { balancer: r.balancer, route: r.name });
      else if (prev.balancer !== r.balancer) {
        out.push({
          path: ["routes", i, "balancer"],
          message: `pool ${t.model} is balanced with ${prev.balancer} by route ${prev.route}; routes sharing a pool use one balancer`,
        });
      }
    }
  });
}

/** Route names and aliases share one namespace of public model names. */
function checkPublicNamesUnique(p: Platform, out: CheckProblem[]): void {
  const seen = new Set<string>();
  p.routes.forEach((r, i) => {
    const named: { name: string; path: Path }[] = [{ name: r.name, path: ["routes", i, "name"] }];
    r.aliases.forEach((a, j) => {
      named.push({ name: a, path: ["routes", i, "aliases", j] });
    });
    for (const { name, path } of named) {
      if (seen.has(name))
        out.push({ path, message: `public model name "${name}" is already used by another route` });
      seen.add(name);
    }
  });
}

function checkRag(p: Platform, out: CheckProblem[]): void {
  const rag = p.rag;
  if (!rag) return;
  const kindOfRoute = (name: string) => {
    const r = p.routes.find((x) => x.name === name || x.aliases.includes(name));
    const m = r && p.models.find((x) => x.name === r.targets[0]?.model);
    return { route: r, kind: m ? modelKind(m) : undefined, model: m };
  };
  const expect = (name: string, kind: string, path: Path) => {
    const found = kindOfRoute(name);
    if (!found.route) out.push({ path, message: `no route named "${name}"` });
    else if (found.kind !== undefined && found.kind !== kind) {
      out.push({ path, message: `route "${name}" serves a ${found.kind} model, not ${kind}` });
    }
    return found;
  };
  const emb = expect(rag.embedding.route, "embedding", ["rag", "embedding", "route"]);
  const dims = emb.model ? catalogModelOf(emb.model)?.embeddingDims : undefined;
  if (dims !== undefined && dims !== rag.embedding.dimensions) {
    out.push({
      path: ["rag", "embedding", "dimensions"],
      message: `${emb.model?.name} produces ${dims}-dimensional vectors, not ${rag.embedding.dimensions}`,
    });
  }
  if (rag.rerank) expect(rag.rerank.route, "rerank", ["rag", "rerank", "route"]);
  if (rag.answer) expect(rag.answer.route, "chat", ["rag", "answer", "route"]);
  if (rag.chunking.overlapTokens >= rag.chunking.maxTokens) {
    out.push({
      path: ["rag", "chunking", "overlapTokens"],
      message: "overlap must be smaller than maxTokens",
    });
  }
}

function checkGateway(p: Platform, out: CheckProblem[]): void {
  const g = p.gateway;
  if (g.auth.store === "redis" && !g.redis) {
    out.push({ path: ["gateway", "auth", "store"], message: "the `redis` key store needs `gateway.redis`" });
  }
  const limited =
    g.limits.rpm !== undefined || g.limits.tpm !== undefined || g.auth.keys.some((k) => k.rpm || k.tpm);
  if (limited && g.replicas > 1 && !g.redis) {
    out.push({
      path: ["gateway", "redis"],
      message: `rate limits with ${g.replicas} gateway replicas need shared state in Redis, or each replica enforces its own (the real limit becomes limit × replicas)`,
    });
  }
}

/**
 * Checks of what `render` deploys that a local run (`serve`, `up`: one process) does not care
 * about. validate, plan and render run them all three, so none accepts what render refuses.
 */
export function deployChecks(p: Platform): CheckProblem[] {
  const out: CheckProblem[] = [];
  p.models.forEach((m, i) => {
    checkDeployable(p, m, (...rest: Path): Path => ["models", i, ...rest], out);
  });
  const g = p.gateway;
  // The embedded SQLite store is a file inside one pod: more gateway pods would each index and
  // search a throwaway database of their own.
  const sqlite = (["vector", "keyword"] as const).filter((k) => p.rag?.stores[k]?.kind === "sqlite");
  if (p.rag?.enabled && sqlite.length > 0 && g.replicas > 1) {
    out.push({
      path: ["gateway", "replicas"],
      message: `${g.replicas} gateway replicas with the embedded SQLite RAG store (rag.stores.${sqlite[0]}): each pod would get its own empty database; use 1 replica, or milvus / elasticsearch / opensearch stores`,
    });
  }
  return out;
}

export function crossCheck(p: Platform): CheckProblem[] {
  const out: CheckProblem[] = [];
  const unique = (section: "gpus" | "models" | "routes", names: string[]) => {
    for (const [name, idx] of duplicates(names)) {
      for (const i of idx.slice(1))
        out.push({ path: [section, i, "name"], message: `duplicate name "${name}"` });
    }
  };
  unique(
    "gpus",
    p.gpus.map((g) => g.name),
  );
  unique(
    "models",
    p.models.map((m) => m.name),
  );
  checkPools(p, out);
  p.models.forEach((m, i) => {
    checkModel(p, m, i, out);
  });
  checkCapacity(p, out);
  checkRoutes(p, out);
  checkRag(p, out);
  checkGateway(p, out);
  out.push(...deployCrossCheck(p));
  return out;
}
