// Test helpers for the front doors (Responses, Anthropic Messages):
//   - mountDoors(): a door host in front of an OpenAI-compatible upstream that applies a door's
//     translation the way the gateway does (translate → POST the chat body → response() or the
//     stream translator), without the gateway's admission and dispatch. For door tests only:
//     the gateway's own test mounts the doors through startGateway.
//   - responsesChecks / messagesChecks: the SDK scenarios, each `{name, run(baseURL, model)}`, so
//     the same assertions run against a door host here and through the gateway at merge.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Anthropic from "@anthropic-ai/sdk";
import { Ajv } from "ajv";
import OpenAI from "openai";
import { type ErrorCode, InferplaneError, isInferplaneError } from "../../../src/errors.js";
import type { FrontDoor } from "../../../src/gateway/api/door.js";

export interface DoorHost {
  url: string;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => {
      s += c;
    });
    req.on("end", () => resolve(s));
    req.on("error", reject);
  });
}

function upstreamError(status: number, text: string): InferplaneError {
  let message = text;
  try {
    const j = JSON.parse(text) as { error?: { message?: string } };
    message = j.error?.message ?? text;
  } catch {}
  const code: ErrorCode =
    status === 429 ? "rate_limit_exceeded" : status < 500 ? "invalid_request" : "upstream_error";
  return new InferplaneError(code, message);
}

async function serve(
  door: FrontDoor,
  upstream: string,
  upstreamModel: string | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const fail = (err: InferplaneError) => {
    res.writeHead(err.def.status, { "content-type": "application/json" });
    res.end(JSON.stringify(door.errorBody(err)));
  };
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    return fail(new InferplaneError("invalid_json", "The request body is not valid JSON."));
  }
  let t: ReturnType<FrontDoor["translate"]>;
  try {
    t = door.translate(body);
    t.bind?.(undefined); // no keys here
  } catch (err) {
    if (isInferplaneError(err)) return fail(err);
    throw err;
  }
  const path = t.op === "chat" ? "/v1/chat/completions" : "/v1/completions";
  const up = await fetch(`${upstream}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(upstreamModel === undefined ? t.body : { ...t.body, model: upstreamModel }),
  });
  if (!up.ok) return fail(upstreamError(up.status, await up.text()));
  if (!t.stream) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(t.response(await up.json())));
    return;
  }
  const s = t.streamTranslator();
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const decoder = new TextDecoder();
  let buf = "";
  try {
    for await (const chunk of up.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let cut = buf.indexOf("\n\n");
      while (cut >= 0) {
        const frame = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        for (const line of frame.split("\n")) {
          if (!line.startsWith("data:")) continue;
          const data = line.slice(5).trim();
          for (const f of s.event(data === "[DONE]" ? data : JSON.parse(data))) res.write(f);
        }
        cut = buf.indexOf("\n\n");
      }
    }
    for (const f of s.end()) res.write(f);
  } catch (err) {
    for (const f of s.fail(new InferplaneError("upstream_stream_error", String(err)))) res.write(f);
  }
  res.end();
}

/** Serves each door's path on 127.0.0.1, forwarding to `upstream` (with `upstreamModel` as the model, if given). */
export async function mountDoors(
  doors: readonly FrontDoor[],
  upstream: string,
  upstreamModel?: string,
): Promise<DoorHost> {
  const server = createServer((req, res) => {
    const door = doors.find((d) => d.path === req.url?.split("?")[0]);
    if (req.method !== "POST" || door === undefined) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(
        JSON.stringify(new InferplaneError("not_found", `Not found: ${req.method} ${req.url}`).toOpenAI()),
      );
      return;
    }
    serve(door, upstream, upstreamModel, req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify(door.errorBody(new InferplaneError("internal", String(err)))));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// SDK scenarios
// ---------------------------------------------------------------------------------------------

export interface DoorCheck {
  name: string;
  /** `baseURL`: the server root (doors at /v1/…); `model`: the name the client asks for. */
  run(baseURL: string, model: string): Promise<void>;
}

export const WEATHER_SCHEMA = {
  type: "object",
  properties: { city: { type: "string" }, unit: { type: "string", enum: ["C", "F"] } },
  required: ["city", "unit"],
  additionalProperties: false,
};

const ajv = new Ajv({ strict: false });
function assertValid(schema: object, value: unknown): void {
  const validate = ajv.compile(schema);
  assert.ok(validate(value), `${JSON.stringify(value)}: ${ajv.errorsText(validate.errors)}`);
}

const openai = (baseURL: string) => new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: "unused", maxRetries: 0 });
const anthropic = (baseURL: string) => new Anthropic({ baseURL, apiKey: "unused", maxRetries: 0 });

export const responsesChecks: DoorCheck[] = [
  {
    name: "responses.create, plain: output_text, usage, the model asked for",
    async run(baseURL, model) {
      const r = await openai(baseURL).responses.create({
        model,
        input: "Say hello.",
        instructions: "Be brief.",
        max_output_tokens: 64,
      });
      assert.equal(r.object, "response");
      assert.match(r.id, /^resp_/);
      assert.equal(r.model, model);
      assert.ok(r.status === "completed" || r.status === "incomplete");
      assert.ok(r.output_text.length > 0);
      assert.equal(r.output[0]?.type, "message");
      assert.ok((r.usage?.input_tokens ?? 0) > 0 && (r.usage?.output_tokens ?? 0) > 0);
      assert.equal(r.usage?.total_tokens, (r.usage?.input_tokens ?? 0) + (r.usage?.output_tokens ?? 0));
    },
  },
  {
    name: "responses.create, streaming: the event sequence and a text that adds up",
    async run(baseURL, model) {
      const stream = await openai(baseURL).responses.create({
        model,
        input: [{ role: "user", content: "Count." }],
        stream: true,
        max_output_tokens: 32,
      });
      const types: string[] = [];
      let deltas = "";
      let done = "";
      let seq = -1;
      let final: OpenAI.Responses.Response | undefined;
      for await (const ev of stream) {
        assert.equal(ev.sequence_number, seq + 1, "sequence numbers count up from 0");
        seq = ev.sequence_number;
        types.push(ev.type);
        if (ev.type === "response.output_text.delta") deltas += ev.delta;
        if (ev.type === "response.output_text.done") done = ev.text;
        if (ev.type === "response.completed" || ev.type === "response.incomplete") final = ev.response;
      }
      const squeezed = types.filter((t, i) => t !== types[i - 1]);
      assert.deepEqual(squeezed.slice(0, 5), [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
      ]);
      assert.deepEqual(squeezed.slice(-4, -1), [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
      ]);
      assert.ok(deltas.length > 0);
      assert.equal(done, deltas);
      assert.ok(final !== undefined);
      assert.equal(
        final.output[0]?.type === "message" ? final.output[0].content[0]?.type : "",
        "output_text",
      );
      assert.ok((final.usage?.output_tokens ?? 0) > 0, "usage on the final event");
    },
  },
  {
    name: "responses.create with a named function tool: a function_call item with valid arguments",
    async run(baseURL, model) {
      const tools: OpenAI.Responses.Tool[] = [
        { type: "function", name: "get_weather", parameters: WEATHER_SCHEMA, strict: true },
      ];
      const r = await openai(baseURL).responses.create({
        model,
        input: "Weather in Oslo?",
        tools,
        tool_choice: { type: "function", name: "get_weather" },
      });
      const call = r.output.find((o) => o.type === "function_call");
      assert.ok(call !== undefined && call.type === "function_call");
      assert.equal(call.name, "get_weather");
      assertValid(WEATHER_SCHEMA, JSON.parse(call.arguments));
      // The tool's answer goes back with previous_response_id and a function_call_output item.
      const next = await openai(baseURL).responses.create({
        model,
        previous_response_id: r.id,
        input: [{ type: "function_call_output", call_id: call.call_id, output: '{"temp": 3}' }],
        tools,
      });
      assert.equal(next.previous_response_id, r.id);
      assert.ok(
        (next.usage?.input_tokens ?? 0) > (r.usage?.input_tokens ?? 0),
        "the earlier turn is part of the prompt",
      );
    },
  },
  {
    name: "responses.create streaming with tool_choice required: argument deltas add up",
    async run(baseURL, model) {
      const tools: OpenAI.Responses.Tool[] = [
        { type: "function", name: "get_weather", parameters: WEATHER_SCHEMA, strict: true },
      ];
      const stream = await openai(baseURL).responses.create({
        model,
        input: "Weather?",
        tools,
        tool_choice: "required",
        stream: true,
      });
      let deltas = "";
      let doneArgs = "";
      let added = 0;
      for await (const ev of stream) {
        if (ev.type === "response.output_item.added" && ev.item.type === "function_call") added++;
        if (ev.type === "response.function_call_arguments.delta") deltas += ev.delta;
        if (ev.type === "response.function_call_arguments.done") doneArgs = ev.arguments;
      }
      assert.equal(added, 1);
      assert.equal(deltas, doneArgs);
      assertValid(WEATHER_SCHEMA, JSON.parse(doneArgs));
    },
  },
  {
    name: "responses.stream helper: a strict function tool's arguments parse, and a cut reply is incomplete",
    async run(baseURL, model) {
      const tools: OpenAI.Responses.Tool[] = [
        { type: "function", name: "get_weather", parameters: WEATHER_SCHEMA, strict: true },
      ];
      const final = await openai(baseURL)
        .responses.stream({ model, input: "Weather?", tools, tool_choice: "required" })
        .finalResponse();
      const call = final.output.find((o) => o.type === "function_call");
      assert.ok(call !== undefined && call.type === "function_call");
      assertValid(WEATHER_SCHEMA, (call as { parsed_arguments?: unknown }).parsed_arguments);
      const cut = await openai(baseURL)
        .responses.stream({ model, input: "Talk.", max_output_tokens: 3 })
        .finalResponse();
      assert.ok(cut.output_text.length > 0);
      if (cut.usage?.output_tokens === 3) assert.equal(cut.status, "incomplete");
    },
  },
  {
    name: "responses.create with text.format json_schema: output_text validates",
    async run(baseURL, model) {
      const r = await openai(baseURL).responses.create({
        model,
        input: "Weather?",
        text: { format: { type: "json_schema", name: "weather", schema: WEATHER_SCHEMA, strict: true } },
      });
      assertValid(WEATHER_SCHEMA, JSON.parse(r.output_text));
    },
  },
  {
    name: "responses.create refuses bad input with param",
    async run(baseURL, model) {
      const client = openai(baseURL);
      await assert.rejects(
        client.responses.create({ model, input: "x", temperature: -1 }),
        (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === "temperature",
      );
      await assert.rejects(
        client.responses.create({ model, input: "x", previous_response_id: "resp_unknown" }),
        (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === "previous_response_id",
      );
      await assert.rejects(
        client.responses.create({ model, input: "x", tools: [{ type: "web_search" }] }),
        (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === "tools[0].type",
      );
    },
  },
];

export const messagesChecks: DoorCheck[] = [
  {
    name: "messages.create, plain: a text block, stop_reason and usage",
    async run(baseURL, model) {
      const m = await anthropic(baseURL).messages.create({
        model,
        max_tokens: 64,
        system: "Be brief.",
        messages: [{ role: "user", content: "Hello" }],
      });
      assert.equal(m.type, "message");
      assert.equal(m.role, "assistant");
      assert.equal(m.model, model);
      assert.equal(m.content[0]?.type, "text");
      assert.ok(m.stop_reason === "end_turn" || m.stop_reason === "max_tokens");
      assert.ok(m.usage.input_tokens > 0 && m.usage.output_tokens > 0);
    },
  },
  {
    name: "messages.stream: the event sequence, and the final message equals the deltas",
    async run(baseURL, model) {
      const stream = anthropic(baseURL).messages.stream({
        model,
        max_tokens: 32,
        messages: [{ role: "user", content: "Count." }],
      });
      const types: string[] = [];
      let text = "";
      stream.on("streamEvent", (ev) => {
        types.push(ev.type);
        if (ev.type === "content_block_delta" && ev.delta.type === "text_delta") text += ev.delta.text;
      });
      const final = await stream.finalMessage();
      const squeezed = types.filter((t, i) => t !== types[i - 1]);
      assert.deepEqual(squeezed, [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
      ]);
      assert.equal(final.content[0]?.type === "text" ? final.content[0].text : "", text);
      assert.ok(final.usage.output_tokens > 0);
      assert.ok(final.stop_reason === "end_turn" || final.stop_reason === "max_tokens");
    },
  },
  {
    name: "messages with a forced tool: a tool_use block whose input validates, then a tool_result turn",
    async run(baseURL, model) {
      const client = anthropic(baseURL);
      const tools: Anthropic.Tool[] = [
        {
          name: "get_weather",
          description: "Weather",
          input_schema: WEATHER_SCHEMA as Anthropic.Tool.InputSchema,
        },
      ];
      const m = await client.messages.create({
        model,
        max_tokens: 256,
        tools,
        tool_choice: { type: "tool", name: "get_weather" },
        messages: [{ role: "user", content: "Oslo?" }],
      });
      const use = m.content.find((b) => b.type === "tool_use");
      assert.ok(use !== undefined && use.type === "tool_use");
      assert.equal(use.name, "get_weather");
      assertValid(WEATHER_SCHEMA, use.input);
      assert.equal(m.stop_reason, "tool_use");
      const next = await client.messages.create({
        model,
        max_tokens: 32,
        tools,
        messages: [
          { role: "user", content: "Oslo?" },
          { role: "assistant", content: m.content },
          { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "3 °C" }] },
        ],
      });
      // The tool result reached the engine as a tool message; what the model does next is its choice.
      assert.ok(next.content.length > 0);
      assert.ok(["end_turn", "max_tokens", "tool_use"].includes(next.stop_reason ?? ""));
    },
  },
  {
    name: "messages streaming a forced tool: input_json_delta pieces build the input",
    async run(baseURL, model) {
      const tools: Anthropic.Tool[] = [
        { name: "get_weather", input_schema: WEATHER_SCHEMA as Anthropic.Tool.InputSchema },
      ];
      const stream = anthropic(baseURL).messages.stream({
        model,
        max_tokens: 256,
        tools,
        tool_choice: { type: "any" },
        messages: [{ role: "user", content: "Oslo?" }],
      });
      let json = "";
      stream.on("inputJson", (partial) => {
        json += partial;
      });
      const final = await stream.finalMessage();
      const use = final.content.find((b) => b.type === "tool_use");
      assert.ok(use !== undefined && use.type === "tool_use");
      assert.deepEqual(use.input, JSON.parse(json));
      assertValid(WEATHER_SCHEMA, use.input);
    },
  },
  {
    name: "messages errors come in Anthropic's shape",
    async run(baseURL, model) {
      const res = await fetch(`${baseURL}/v1/messages`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "anthropic-version": "2023-06-01",
          "x-api-key": "unused",
        },
        body: JSON.stringify({ model, messages: [{ role: "user", content: "x" }] }),
      });
      assert.equal(res.status, 400);
      const body = (await res.json()) as { type: string; error: { type: string; message: string } };
      assert.equal(body.type, "error");
      assert.equal(body.error.type, "invalid_request_error");
      assert.match(body.error.message, /max_tokens/);
      await assert.rejects(
        anthropic(baseURL).messages.create({
          model,
          max_tokens: 8,
          messages: [
            { role: "assistant", content: [{ type: "tool_result", tool_use_id: "x", content: "y" }] },
          ],
        }),
        (e: unknown) => e instanceof Anthropic.BadRequestError,
      );
    },
  },
];
