/**
 * Benchmark workloads: what to send, built before the run (seeded, so every run and every target
 * gets the same requests). Token counts use the simulator's tokenizer (gpt-tokenizer,
 * cl100k_base; src/sim/text.ts), and synthetic prompts are its pseudo-text, which re-tokenizes to
 * exactly the length asked for.
 *
 * A workload is a sequence of sessions built on demand (session i is the same every time: each
 * draws from its own seeded stream, so a long timed run holds no big list); a session is one request (random, sharegpt, jsonl) or several
 * turns of one conversation (shared-prefix): a turn is sent when the previous one has finished,
 * after a think time, with the replies so far carried in its messages.
 */
import { readFileSync } from "node:fs";
import { InferplaneError } from "../errors.js";
import { type LengthDist, rng, sampleLength } from "../sim/model/workload.js";
import { countTokens, pseudoText } from "../sim/text.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** One turn: a prompt (completions API; chat sends it as one user message) or chat messages. */
export interface Turn {
  /** New user text of this turn (chat) or the whole prompt (completions). */
  prompt: string;
  /** Tokens of `prompt` alone (system prompt and history not included). */
  promptTokens: number;
  maxTokens: number;
}

export interface Session {
  id: string;
  /** System prompt shared by the sessions of one prefix group (chat). */
  system?: { text: string; tokens: number; group: number };
  turns: Turn[];
  /** Mean think time between turns, ms (exponential). */
  thinkMs: number;
}

export interface Workload {
  name: string;
  /** How many sessions there are (Infinity: as many as a timed run asks for). */
  size: number;
  /** Session `i` (0 ≤ i < size); the same for every call. */
  at(i: number): Session;
  /** A line per setting, for reports. */
  description: string;
}

const usage = (message: string) => new InferplaneError("usage", message);

/** `202` → fixed; `100-300` → uniform; `202:0.5` → log-normal mean 202 σ 0.5; `202:0.5:4-1024` → the same clipped. */
export function parseLength(flag: string, text: string): LengthDist {
  const t = text.trim();
  let m = /^(\d+)$/.exec(t);
  if (m) return { kind: "fixed", value: positive(flag, Number(m[1])) };
  m = /^(\d+)\s*-\s*(\d+)$/.exec(t);
  if (m) {
    const [min, max] = [positive(flag, Number(m[1])), positive(flag, Number(m[2]))];
    if (min > max) throw usage(`--${flag}: range ${t} has min > max`);
    return { kind: "uniform", min, max };
  }
  m = /^(\d+)\s*:\s*(\d+(?:\.\d+)?)(?:\s*:\s*(\d+)\s*-\s*(\d+))?$/.exec(t);
  if (m) {
    const d: LengthDist = {
      kind: "lognormal",
      mean: positive(flag, Number(m[1])),
      sigma: Number(m[2]),
      min: 1,
    };
    if (m[3] !== undefined) {
      d.min = positive(flag, Number(m[3]));
      d.max = positive(flag, Number(m[4]));
      if (d.min > d.max) throw usage(`--${flag}: range ${m[3]}-${m[4]} has min > max`);
    }
    return d;
  }
  throw usage(`--${flag} must be N, MIN-MAX or MEAN:SIGMA[:MIN-MAX] (log-normal, clipped), got "${text}"`);
}

function positive(flag: string, n: number): number {
  if (!(Number.isInteger(n) && n >= 1)) throw usage(`--${flag} must be a positive integer, got ${n}`);
  return n;
}

/** A prompt of exactly `tokens` tokens, distinct per `seed` (so a prefix cache does not hit across requests). */
export function syntheticPrompt(tokens: number, seed: number): string {
  return pseudoText(seed >>> 0, tokens);
}

/** Session i's own random stream: independent of how many sessions came before. */
function streamOf(seed: number, i: number): () => number {
  return rng((Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(i + 1, 0x85ebca6b)) >>> 0);
}

/** The first `n` sessions of `w`, as a list (tests, small workloads). */
export function sessionsOf(w: Workload, n = w.size): Session[] {
  return Array.from({ length: n }, (_, i) => w.at(i));
}

export interface RandomOptions {
  sessions: number;
  input: LengthDist;
  output: LengthDist;
  seed: number;
}

export function randomWorkload(o: RandomOptions): Workload {
  const at = (i: number): Session => {
    const rand = streamOf(o.seed, i);
    const promptTokens = sampleLength(o.input, rand);
    const maxTokens = sampleLength(o.output, rand);
    const prompt = syntheticPrompt(promptTokens, Math.floor(rand() * 2 ** 32));
    return { id: `r${i}`, turns: [{ prompt, promptTokens, maxTokens }], thinkMs: 0 };
  };
  return {
    name: "random",
    size: o.sessions,
    at,
    description: `random: input ${describe(o.input)}, output ${describe(o.output)} tokens`,
  };
}

export interface SharedPrefixOptions {
  sessions: number;
  prefixes: number;
  prefixTokens: number;
  /** Tokens of each turn's new user message. */
  input: LengthDist;
  output: LengthDist;
  /** Turns per session. */
  turns: LengthDist;
  thinkMs: number;
  seed: number;
}

/** Users with multi-turn sessions, each session's system prompt one of `prefixes` shared ones. */
export function sharedPrefixWorkload(o: SharedPrefixOptions): Workload {
  if (!(Number.isInteger(o.prefixes) && o.prefixes >= 1))
    throw usage(`--prefixes must be ≥ 1, got ${o.prefixes}`);
  const systems = Array.from({ length: o.prefixes }, (_, g) => {
    const text = syntheticPrompt(o.prefixTokens, 0x5157 + g * 7919 + o.seed);
    return { text, tokens: o.prefixTokens, group: g };
  });
  const at = (i: number): Session => {
    const rand = streamOf(o.seed, i);
    const system = systems[Math.floor(rand() * systems.length)] as (typeof systems)[number];
    const n = Math.max(1, sampleLength(o.turns, rand));
    const turns: Turn[] = [];
    for (let k = 0; k < n; k++) {
      const promptTokens = sampleLength(o.input, rand);
      turns.push({
        prompt: syntheticPrompt(promptTokens, Math.floor(rand() * 2 ** 32)),
        promptTokens,
        maxTokens: sampleLength(o.output, rand),
      });
    }
    return { id: `s${i}`, system, turns, thinkMs: o.thinkMs };
  };
  return {
    name: "shared-prefix",
    size: o.sessions,
    at,
    description: `shared-prefix: ${o.prefixes} system prompts of ${o.prefixTokens} tokens, ${describe(o.turns)} turns per session, user messages ${describe(o.input)}, replies ${describe(o.output)} tokens, think time ${o.thinkMs} ms`,
  };
}

export interface FileOptions {
  path: string;
  sessions: number;
  /** Reply length when the file gives none. */
  output: LengthDist;
  seed: number;
}

/**
 * ShareGPT format (a JSON array of `{conversations: [{from: "human"|"gpt", value}]}`), sampled as
 * vLLM's benchmark does: the first human turn is the prompt, the tokens of the reply that follows
 * are the output length; pairs with fewer than 4 prompt or output tokens, prompts over 1,024 or
 * pairs over 2,048 tokens are dropped. Requests are drawn in a seeded order, repeating the file
 * when more are asked for than it holds.
 */
export function sharegptWorkload(o: FileOptions): Workload {
  const data = readJson(o.path);
  if (!Array.isArray(data))
    throw usage(`${o.path}: a ShareGPT file is a JSON array of {conversations: [...]}`);
  const rand = rng(o.seed);
  const order = shuffle(
    data.map((_, i) => i),
    rand,
  );
  const turns: Turn[] = [];
  for (const i of order) {
    if (turns.length >= o.sessions) break;
    const conv = (data[i] as { conversations?: { from?: string; value?: string }[] } | null)?.conversations;
    if (!Array.isArray(conv) || conv.length < 2) continue;
    const [q, a] = conv;
    if (typeof q?.value !== "string" || typeof a?.value !== "string") continue;
    const promptTokens = countTokens(q.value);
    const outputTokens = countTokens(a.value);
    if (promptTokens < 4 || outputTokens < 4 || promptTokens > 1024 || promptTokens + outputTokens > 2048)
      continue;
    turns.push({ prompt: q.value, promptTokens, maxTokens: outputTokens });
  }
  if (turns.length === 0)
    throw usage(`${o.path}: no usable conversation (need a human turn and a reply of 4–1,024 tokens)`);
  return {
    name: "sharegpt",
    ...repeat(turns, o.sessions),
    description: `sharegpt: ${o.path} (${turns.length} usable pairs)`,
  };
}

/**
 * One prompt per line: a JSON string, or an object with `prompt` (or `text`) and optionally
 * `max_tokens` / `output_tokens`. Blank lines are skipped; a bad line is an error naming it.
 */
export function jsonlWorkload(o: FileOptions): Workload {
  let text: string;
  try {
    text = readFileSync(o.path, "utf8");
  } catch (err) {
    throw usage(`cannot read ${o.path}: ${(err as Error).message}`);
  }
  const rand = rng(o.seed);
  const turns: Turn[] = [];
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const line = (lines[n] as string).trim();
    if (line === "") continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw usage(`${o.path}:${n + 1}: not JSON (${(err as Error).message})`);
    }
    const obj = typeof v === "string" ? { prompt: v } : (v as Record<string, unknown> | null);
    const prompt = obj?.prompt ?? obj?.text;
    if (typeof prompt !== "string" || prompt === "")
      throw usage(`${o.path}:${n + 1}: expected a JSON string or an object with a "prompt" string`);
    const given = obj?.max_tokens ?? obj?.output_tokens;
    if (given !== undefined && !(Number.isInteger(given) && (given as number) >= 1))
      throw usage(`${o.path}:${n + 1}: max_tokens must be a positive integer, got ${JSON.stringify(given)}`);
    turns.push({
      prompt,
      promptTokens: countTokens(prompt),
      maxTokens: (given as number | undefined) ?? sampleLength(o.output, rand),
    });
  }
  if (turns.length === 0) throw usage(`${o.path}: no prompts`);
  return {
    name: "jsonl",
    ...repeat(turns, o.sessions),
    description: `jsonl: ${o.path} (${turns.length} prompts)`,
  };
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw usage(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw usage(`${path}: not JSON (${(err as Error).message})`);
  }
}

function shuffle<T>(xs: T[], rand: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}

/** `n` sessions going round the file's prompts. */
function repeat(turns: readonly Turn[], n: number): Pick<Workload, "size" | "at"> {
  return {
    size: n,
    at: (i) => ({ id: `p${i}`, turns: [turns[i % turns.length] as Turn], thinkMs: 0 }),
  };
}

function describe(d: LengthDist): string {
  switch (d.kind) {
    case "fixed":
      return String(d.value);
    case "uniform":
      return `${d.min}–${d.max}`;
    case "lognormal":
      return `~${d.mean} (log-normal σ ${d.sigma}${d.max !== undefined ? `, ${d.min}–${d.max}` : ""})`;
  }
}
