// Small helpers shared by the simulator's HTTP tests (not a test file itself).

/** One sample of Prometheus text: name, labels, value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m?.[1] || m[3] === undefined) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) if (l[1]) labels[l[1]] = l[2] ?? "";
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples of `name` whose labels include `match`; undefined when there is none. */
export function metric(text: string, name: string, match: Record<string, string> = {}): number | undefined {
  const hits = parseMetrics(text).filter(
    (s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v),
  );
  return hits.length === 0 ? undefined : hits.reduce((a, s) => a + s.value, 0);
}

export async function scrape(url: string, path = "/metrics"): Promise<string> {
  const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(5_000) });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
  return res.text();
}

export function post(url: string, body: unknown, headers: Record<string, string> = {}, timeoutMs = 10_000) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
}

/** `data:` payloads of an SSE body, in order (`[DONE]` included). */
export function sseData(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("data:"))
    .map((l) => l.slice(5).trimStart());
}

/** Words of a deterministic English-ish text of roughly `n` words (system prompts for prefix tests). */
export function longText(n: number, salt = ""): string {
  const vocab =
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega".split(
      " ",
    );
  const words: string[] = [];
  for (let i = 0; i < n; i++)
    words.push(`${vocab[(i * 7 + i * i) % vocab.length]}${i % 13 === 0 ? "." : ""}`);
  return `${salt}${words.join(" ")}`;
}
