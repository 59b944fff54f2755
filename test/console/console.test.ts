// The operator console in a real browser (Debian Chromium through playwright-core) against a
// real gateway with API keys on and two simulated replicas: every endpoint shown, a stopped
// replica turning unhealthy, a streamed chat, a key created in the page and used over HTTP.
// Also: nothing in the console's JSON or page exposes a key, a hash, the admin token or a prompt.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BUDGET_BYTES } from "../../src/gateway/console/assets.js";
import { generateKey } from "../../src/gateway/policy/keys.js";
import { type GatewayHandle, startGateway } from "../../src/gateway/server.js";
import { type SimServerHandle, startSimServer } from "../../src/sim/server.js";
import { parseSpec } from "../../src/spec/load.js";
import { startChromium } from "../services/chromium.js";
import { requireService } from "../services/harness.js";
import { buildConsole, contrastScript, shot } from "./helpers.js";

const ADMIN_TOKEN = "console-test-admin-token-7f3a9c";
const PROMPT_CANARY = "canary-prompt-91d2e";
const quiet = () => {};
/** A key declared in the spec by its hash (GitOps): the Spec view must not show the hash. */
const GITOPS = generateKey();

function spec(a: SimServerHandle, b: SimServerHandle, db: string, consoleOn = true) {
  return parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: console-test}
models:
  - name: llama
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    servedModelName: ${a.servedModelName}
    endpoints: ["${a.url}", "${b.url}"]
routes:
  - name: chat
    aliases: [gpt-4o-mini]
    targets: [{model: llama}]
gateway:
  console: {enabled: ${consoleOn}}
  auth:
    mode: keys
    sqlitePath: ${db}
    keys: [{name: gitops, hash: "${GITOPS.hash}"}]
  outlierDetection: {interval: 1s}
  http: {securityHeaders: true}
`).platform;
}

describe("operator console", () => {
  let a: SimServerHandle;
  let b: SimServerHandle;
  let gw: GatewayHandle;
  const env = { INFERPLANE_ADMIN_TOKEN: ADMIN_TOKEN };

  before(async () => {
    buildConsole();
    a = await startSimServer({ model: "llama-3.1-8b", gpu: "H100-80GB", speed: 20 });
    b = await startSimServer({ model: "llama-3.1-8b", gpu: "H100-80GB", speed: 20 });
    const db = join(mkdtempSync(join(tmpdir(), "inferplane-console-")), "gw.db");
    gw = await startGateway(spec(a, b, db), {
      host: "127.0.0.1",
      port: 0,
      log: quiet,
      env,
      endpoints: { llama: [a.url, b.url] }, // as `inferplane up` hands over simulated replicas
    });
  });
  after(async () => {
    await gw?.close();
    await a?.stop();
    await b?.stop();
  });

  it("the built page stays within its size budget", () => {
    const dir = "dist/console";
    const total = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    assert.ok(total > 0 && total <= BUDGET_BYTES, `${total} bytes, budget ${BUDGET_BYTES}`);
  });

  it("the state JSON needs the admin token and exposes no secret, hash or prompt", async () => {
    const none = await fetch(`${gw.url}/console/api/state`);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { error: { code: string } }).error.code, "invalid_api_key");
    const wrong = await fetch(`${gw.url}/console/api/state`, { headers: { authorization: "Bearer nope" } });
    assert.equal(wrong.status, 401);
    assert.doesNotMatch(await wrong.text(), /nope|console-test-admin/);

    // A key and a request carrying a recognisable prompt, so there is something to leak.
    const created = await fetch(`${gw.url}/admin/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "leak-probe" }),
    });
    assert.equal(created.status, 201);
    const key = (await created.json()) as { key: string; id: string };
    const chat = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.key}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "chat",
        max_tokens: 3,
        messages: [{ role: "user", content: PROMPT_CANARY }],
      }),
    });
    assert.equal(chat.status, 200);

    const res = await fetch(`${gw.url}/console/api/state`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const text = await res.text();
    const state = JSON.parse(text) as { authMode: string; pools: { endpoints: { url: string }[] }[] };
    assert.equal(state.authMode, "keys");
    assert.equal(state.pools[0]?.endpoints.length, 2);
    const admin = { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };
    const specDoc = await (await fetch(`${gw.url}/console/api/spec`, admin)).text();
    assert.match(specDoc, /"name":"gitops"/, "the spec view shows the declared key, by name");
    const reports = await (await fetch(`${gw.url}/console/api/reports`, admin)).text();
    const planUrl = (JSON.parse(reports) as { plan: { url: string } }).plan.url;
    const plan = await (await fetch(`${gw.url}${planUrl}`)).text();
    assert.match(plan, /<svg/);
    const bodies = [text, specDoc, reports, plan, await (await fetch(`${gw.url}/console`)).text()];
    for (const f of readdirSync("dist/console").filter((n) => n.endsWith(".js"))) {
      bodies.push(await (await fetch(`${gw.url}/console/${f}`)).text());
    }
    for (const body of bodies) {
      for (const secret of [ADMIN_TOKEN, key.key, PROMPT_CANARY, "v1$", GITOPS.key, GITOPS.hash]) {
        assert.ok(!body.includes(secret), `the console exposes ${secret.slice(0, 8)}…`);
      }
    }
    // Every JSON route needs the token; an unknown report link answers 404.
    for (const path of ["/console/api/spec", "/console/api/reports"]) {
      assert.equal((await fetch(`${gw.url}${path}`)).status, 401, path);
    }
    assert.equal((await fetch(`${gw.url}/console/report/nope/plan.html`)).status, 404);
  });

  it("serves the page with a CSP that allows only its own files; 404 when disabled", async () => {
    const res = await fetch(`${gw.url}/console`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(
      res.headers.get("content-security-policy") ?? "",
      /script-src 'self'; style-src 'self'; connect-src 'self'/,
    );
    assert.equal((await fetch(`${gw.url}/console/nope.js`)).status, 404);
    const db = join(mkdtempSync(join(tmpdir(), "inferplane-console-off-")), "gw.db");
    const off = await startGateway(spec(a, b, db, false), { host: "127.0.0.1", port: 0, log: quiet, env });
    try {
      assert.equal((await fetch(`${off.url}/console`)).status, 404);
      assert.equal((await fetch(`${off.url}/console/api/state`)).status, 404);
    } finally {
      await off.close();
    }
  });

  it("in Chromium: sign in, see every endpoint, chat, create a key and use it, see a replica go unhealthy", async (t) => {
    const chromium = await requireService(t, "chromium", startChromium);
    if (!chromium) return;
    const context = await chromium.browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      // The first poll, before signing in, is refused (401) by design.
      if (m.type() === "error" && !m.text().includes("401")) errors.push(m.text());
    });
    await page.goto(`${gw.url}/console`);
    let apiKey = "";

    await t.test("sign in with the admin token (keyboard only)", async () => {
      await page.getByLabel("Admin token").waitFor();
      await page.getByLabel("Admin token").focus();
      await page.keyboard.type(ADMIN_TOKEN);
      await page.keyboard.press("Enter");
      await page.locator("#status").filter({ hasText: "Live" }).waitFor({ timeout: 5_000 });
      await page.locator("#signin").waitFor({ state: "hidden", timeout: 5_000 });
    });

    await t.test("live view: every endpoint of the pool, healthy and simulated", async () => {
      for (const url of [a.url, b.url]) {
        const row = page.locator(`tr[data-endpoint="${url}"]`);
        await row.waitFor({ timeout: 5_000 });
        assert.equal(await row.getAttribute("data-health"), "healthy");
        assert.match((await row.textContent()) ?? "", /simulated/);
      }
      assert.match((await page.locator("section[data-route=chat] h3").textContent()) ?? "", /Route chat/);
      assert.match((await page.locator("#spec").textContent()) ?? "", /console-test/);
      await shot(page, "live");
    });

    await t.test("keys: create one in the page (secret shown once), use it over HTTP", async () => {
      await page.getByRole("button", { name: "Keys" }).click();
      await page.getByLabel("Name").fill("from-console");
      await page.getByRole("button", { name: "Create key" }).click();
      const secret = (await page.locator("#new-key").textContent({ timeout: 5_000 })) ?? "";
      assert.match(secret, /^ipk_/);
      await page.locator('tr[data-key="from-console"]').waitFor({ timeout: 5_000 });
      await shot(page, "keys");
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "chat", max_tokens: 2, messages: [{ role: "user", content: "hi" }] }),
      });
      assert.equal(res.status, 200, "the key created in the console is accepted");
      await page.getByRole("button", { name: "I have copied it" }).click();
      assert.ok(!((await page.locator("body").textContent()) ?? "").includes(secret), "shown once");
      apiKey = secret;
    });

    await t.test("playground: a streamed chat with that key, timings shown", async () => {
      const secret = apiKey;
      await page.getByRole("button", { name: "Playground" }).click();
      await page.getByLabel(/^API key \(/).fill(secret);
      await page.getByLabel("Max tokens").fill("24");
      await page.getByLabel("Message").fill("Tell me about GPUs.");
      await page.getByRole("button", { name: "Send" }).click();
      await page.locator('[data-timing="TTFT"]').waitFor({ timeout: 15_000 });
      assert.ok(((await page.locator("#chat-out").textContent()) ?? "").length > 0, "tokens arrived");
      assert.equal(await page.locator('[data-timing="Tokens"]').textContent(), "24");
      assert.match((await page.locator('[data-timing="Gateway overhead"]').textContent()) ?? "", /ms$/);
      await shot(page, "playground");
    });

    await t.test(
      "live view: the route's traffic from the gateway's counters, as figures and charts",
      async () => {
        await page.getByRole("button", { name: "Live" }).click();
        // Samples are 5 s apart: the chat above shows within one interval.
        await page
          .locator("section[data-route=chat] p.meta")
          .filter({ hasText: /req\/s, [\d.]+% errors, TTFT p50 \d+/ })
          .waitFor({ timeout: 12_000 });
        const charts = page.locator("[data-charts=chat] svg[role=img]");
        assert.equal(await charts.count(), 4);
        const labels = await charts.evaluateAll((els) => els.map((e) => e.getAttribute("aria-label") ?? ""));
        assert.match(labels[0] ?? "", /^Requests, latest: rate [\d.]+ req\/s/);
        assert.match(labels[2] ?? "", /^TTFT, latest: p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms/);
        assert.ok(
          (await page.locator("[data-charts=chat] svg polyline, [data-charts=chat] svg circle").count()) > 0,
        );
        await shot(page, "live-traffic");
      },
    );

    await t.test("a stopped replica turns unhealthy within 5 s", async () => {
      await page.getByRole("button", { name: "Live" }).click();
      await b.stop();
      const t0 = Date.now();
      await page.locator(`tr[data-endpoint="${b.url}"][data-health="unhealthy"]`).waitFor({ timeout: 5_000 });
      assert.ok(Date.now() - t0 <= 5_000);
      assert.equal(await page.locator(`tr[data-endpoint="${a.url}"]`).getAttribute("data-health"), "healthy");
      await shot(page, "live-unhealthy");
    });

    await t.test("narrow window and dark theme", async () => {
      await page.setViewportSize({ width: 380, height: 800 });
      await page.getByRole("button", { name: /dark and light/ }).click();
      const theme = (await page.evaluate("document.documentElement.dataset.theme")) as string;
      assert.ok(theme === "dark" || theme === "light");
      if (theme !== "dark") await page.getByRole("button", { name: /dark and light/ }).click();
      const overflow = (await page.evaluate(
        "document.documentElement.scrollWidth - window.innerWidth",
      )) as number;
      assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow}px in a narrow window`);
      await shot(page, "live-narrow-dark");
    });

    await t.test("every control has a label; text contrast is at least 4.5:1 in both themes", async () => {
      const unlabelled = await page.evaluate(
        `[...document.querySelectorAll("input, select, textarea")].filter((el) => el.labels.length === 0).map((el) => el.id)`,
      );
      assert.deepEqual(unlabelled, []);
      for (const theme of ["light", "dark"]) {
        const worst = (await page.evaluate(contrastScript(theme))) as number;
        assert.ok(worst < 21, "some text was measured");
        assert.ok(worst >= 4.5, `${theme}: lowest text contrast ${worst.toFixed(2)}:1`);
      }
    });

    assert.deepEqual(errors, []);
    await context.close();
  });
});
