/**
 * What the relay itself computes for one streamed token, step by step, in this process (no
 * sockets): the read's bytes as a latin1 string, the HTTP chunk decoder, the SSE scan, the
 * `model` rename and the HTTP chunk framing of the answer — each line adds one step to the
 * previous ones. The difference between a relayed token's CPU (bench/gateway-overhead-stream.ts)
 * and this is the cost of Node's socket read callback, its Writable write path and GC.
 *
 *   node --import tsx bench/relay-steps.ts [--tokens 1000000]
 */
import { parseArgs } from "node:util";
import { SseRelay } from "../src/gateway/proxy/sse-relay.js";
import { ResponseParser } from "../src/gateway/upstream/h1-parser.js";

const { values } = parseArgs({ options: { tokens: { type: "string", default: "1000000" } } });
const N = Number(values.tokens);
// One vLLM chat chunk, as the simulator sends it, in one HTTP chunk.
const event = `data: {"id":"chatcmpl-1234567890abcdef","object":"chat.completion.chunk","created":1733580000,"model":"meta-llama/Llama-3.1-8B-Instruct","choices":[{"index":0,"delta":{"content":" the"},"logprobs":null,"finish_reason":null}]}\n\n`;
const read = Buffer.from(`${event.length.toString(16)}\r\n${event}\r\n`, "latin1");
const from = '"model":"meta-llama/Llama-3.1-8B-Instruct"';
const to = '"model":"llama"';

const parser = new ResponseParser(() => {});
parser.feed("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
const relay = new SseRelay(false);
let sink = 0;

const steps: [string, () => void][] = [
  ["bytes as latin1", () => (sink += read.toString("latin1", 0, read.length).length)],
  ["+ chunk decoder", () => (sink += parser.feed(read.toString("latin1", 0, read.length)).length)],
  ["+ SSE scan", () => (sink += relay.push(parser.feed(read.toString("latin1", 0, read.length))).length)],
  [
    "+ model rename",
    () =>
      (sink += relay.push(parser.feed(read.toString("latin1", 0, read.length))).replaceAll(from, to).length),
  ],
  [
    "+ chunk framing",
    () => {
      const t = relay.push(parser.feed(read.toString("latin1", 0, read.length))).replaceAll(from, to);
      sink += Buffer.byteLength(`${t.length.toString(16)}\r\n${t}\r\n`, "latin1");
    },
  ],
];
const rows = steps.map(([step, f]) => {
  for (let i = 0; i < 10_000; i++) f(); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) f();
  return { step, nsPerToken: Math.round(Number(process.hrtime.bigint() - t0) / N) };
});
console.table(rows);
if (sink === 0) console.log("(nothing relayed)");
