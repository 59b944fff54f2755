// Attack class "secrets in logs": a plaintext key pasted into `auth.keys[].hash`, a password in
// `redis.url`, a key in $INFERPLANE_KEY_HASHES — `inferplane validate`, a rejected reload of a
// running `inferplane serve`, and the gateway's start name the field and the problem, never the value.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { main } from "../../src/cli/main.js";
import { generateKey } from "../../src/gateway/policy/keys.js";
import { startGateway } from "../../src/gateway/server.js";
import { parseSpec } from "../../src/spec/load.js";
import { type GatewayProcess, startGatewayProcess } from "../gateway/policy/processes.js";
import { leakedSecrets } from "./stack.js";

const plaintext = generateKey().key;
const PASSWORD = "hunter2-redis-secret-5b1e";

function specText(o: { hash?: string; redisUrl?: string; dir: string }): string {
  return `apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: sec}
models:
  - {name: llama, source: hf://meta-llama/Llama-3.1-8B-Instruct, endpoints: ["http://127.0.0.1:9"]}
routes:
  - {name: chat, targets: [{model: llama}]}
gateway:
  auth:
    mode: keys
    sqlitePath: ${join(o.dir, "gw.db")}
${o.hash ? `    keys: [{name: pasted, hash: "${o.hash}"}]\n` : ""}${o.redisUrl ? `  redis: {url: "${o.redisUrl}"}\n` : ""}`;
}

async function validate(file: string): Promise<{ code: number; out: string }> {
  let out = "";
  const io = {
    out: (t: string) => {
      out += `${t}\n`;
    },
    err: (t: string) => {
      out += `${t}\n`;
    },
    isTTY: false,
  };
  const code = await main(["node", "inferplane", "validate", "-c", file], io);
  return { code, out };
}

describe("security: no secret is printed", () => {
  const procs: GatewayProcess[] = [];
  after(async () => {
    for (const p of procs) await p.stop();
  });

  it("`inferplane validate` names the field without echoing a pasted key or a URL's password", async () => {
    const dir = mkdtempSync(join(tmpdir(), "inferplane-sec-validate-"));
    const file = join(dir, "inferplane.yaml");
    writeFileSync(file, specText({ dir, hash: plaintext, redisUrl: `redis://:${PASSWORD}@127.0.0.1:6379` }));
    const r = await validate(file);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /gateway\.auth\.keys\[0\]\.hash/);
    assert.match(r.out, /gateway\.redis\.url/);
    assert.ok(!r.out.includes(plaintext), `the key is not printed:\n${r.out}`);
    assert.ok(!r.out.includes(PASSWORD), `the password is not printed:\n${r.out}`);
  });

  it("a rejected reload of a running gateway logs the problems, not the values", async () => {
    const dir = mkdtempSync(join(tmpdir(), "inferplane-sec-reload-"));
    const file = join(dir, "inferplane.yaml");
    writeFileSync(file, specText({ dir }));
    const gw = await startGatewayProcess("security-reload", file, { INFERPLANE_ADMIN_TOKEN: "adm-x" });
    procs.push(gw);
    writeFileSync(
      file,
      specText({ dir, hash: plaintext, redisUrl: `redis://user:${PASSWORD}@127.0.0.1:6379` }),
    );
    gw.child.kill("SIGHUP");
    let log = "";
    for (let i = 0; i < 100 && !log.includes("rejected the new spec"); i++) {
      await sleep(100);
      log = readFileSync(gw.logFile, "utf8");
    }
    assert.match(log, /rejected the new spec/);
    assert.match(log, /gateway\.auth\.keys\[0\]\.hash/);
    assert.ok(!log.includes(plaintext), "the pasted key is not in the log");
    assert.ok(!log.includes(PASSWORD), "the password is not in the log");
    assert.equal((await fetch(`${gw.url}/healthz`)).status, 200, "the old spec keeps serving");
  });

  it("a key pasted into $INFERPLANE_KEY_HASHES is refused without quoting it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "inferplane-sec-env-"));
    const { platform } = parseSpec(specText({ dir }));
    await assert.rejects(
      startGateway(platform, {
        host: "127.0.0.1",
        port: 0,
        log: () => {},
        env: { INFERPLANE_KEY_HASHES: plaintext },
      }),
      (err: Error) => {
        assert.match(err.message, /INFERPLANE_KEY_HASHES is not a JSON array/);
        assert.ok(!err.message.includes("ipk_"), err.message);
        return true;
      },
    );
  });

  it("no secret of this suite reached any log of the run", () => {
    assert.deepEqual(leakedSecrets([plaintext, PASSWORD]), []);
  });
});
