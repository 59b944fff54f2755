// The chat surface through the gateway to Inferplane's simulator, with the official openai SDK.
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { type GatewayHandle, startGateway } from "../../../src/gateway/server.js";
import { type SimServerHandle, startSimServer } from "../../../src/sim/server.js";
import { parseSpec } from "../../../src/spec/load.js";
import { ALL_CHECKS } from "./sdk-checks.js";

describe("gateway → inferplane sim: tools, parse, n, logprobs, refusals (openai SDK)", () => {
  let sim: SimServerHandle;
  let gw: GatewayHandle;
  let client: OpenAI;
  before(async () => {
    sim = await startSimServer({ model: "llama-3.1-8b", speed: 50, outputLenMean: 12 });
    const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - name: llama
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    servedModelName: ${sim.servedModelName}
    endpoints: ["${sim.url}"]
routes:
  - name: chat
    targets: [{model: llama}]
`);
    gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: () => {} });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await gw?.close();
    await sim?.stop();
  });
  for (const check of ALL_CHECKS) it(check.name, () => check.run(client, "chat"));
});
