// The Responses and Anthropic Messages doors through the gateway itself (admission, router,
// dispatch) to Inferplane's simulator, driven by the official openai and @anthropic-ai/sdk clients.
import { after, before, describe, it } from "node:test";
import { type GatewayHandle, startGateway } from "../../../src/gateway/server.js";
import { type SimServerHandle, startSimServer } from "../../../src/sim/server.js";
import { parseSpec } from "../../../src/spec/load.js";
import { messagesChecks, responsesChecks } from "./doors-harness.js";

describe("gateway doors → inferplane sim, through the official SDKs", () => {
  let sim: SimServerHandle;
  let gw: GatewayHandle;
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
  - name: assistant
    targets: [{model: llama}]
`);
    gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: () => {} });
  });
  after(async () => {
    await gw?.close();
    await sim?.stop();
  });
  for (const check of [...responsesChecks, ...messagesChecks])
    it(check.name, () => check.run(gw.url, "assistant"));
});
