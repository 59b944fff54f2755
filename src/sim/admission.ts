/**
 * Admission of one generation request, in its own event-loop slice (src/sim/slices.ts): the
 * readiness check, parsing, the fault decision, the reply's plan, then the engine job(s) and the
 * writer that streams them (generation.ts, or rich-reply.ts for n choices, tools, JSON output,
 * logprobs and continuous usage).
 */

import type { ServerResponse } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import { wireFor } from "./dialects/index.js";
import { FAULT_HEADER, type FaultAction, type FaultInjector } from "./faults.js";
import type { Flavour } from "./flavours.js";
import { Generation, type Job, type Life, type WireContext } from "./generation.js";
import { RequestRejected } from "./model/engine.js";
import {
  type GenRoute,
  type ParsedGeneration,
  parseGeneration,
  planReply,
  type ReplyPlanner,
} from "./request.js";
import { RichReply } from "./rich-reply.js";
import { type ChoiceContent, choiceContent, type RichSpec } from "./structured.js";
import {
  badRequest,
  type Dialect,
  errorBody,
  faultError,
  readyOrRefuse,
  sendError,
  wireError,
} from "./wire-errors.js";

/** What admission reads from its replica. */
export interface AdmissionHost extends ReplyPlanner {
  readonly servedModelName: string;
  readonly flavour: Flavour;
  readonly faults: FaultInjector;
  /** The incarnation serving now: work of an earlier one (killed or restarted) is dropped. */
  readonly current: Life | undefined;
  wireContext(): WireContext;
  created(): number;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function admit(
  host: AdmissionHost,
  life: Life,
  req: FastifyRequest,
  reply: FastifyReply,
  dialect: Dialect,
  route: GenRoute,
): void {
  if (!readyOrRefuse(life.readyAt, reply, dialect)) return;
  const parsed = parseGeneration(req, route, host.servedModelName, host.flavour);
  if ("status" in parsed) {
    sendError(reply, dialect, parsed);
    return;
  }

  const fault = host.faults.decide(headerValue(req.headers[FAULT_HEADER]));
  if (typeof fault === "string") {
    sendError(reply, dialect, badRequest(fault, FAULT_HEADER));
    return;
  }
  if (fault.kind === "status") {
    sendError(reply, dialect, faultError(fault.status));
    return;
  }

  const job = planReply(parsed, fault, host);
  if ("status" in job) {
    sendError(reply, dialect, job);
    return;
  }

  reply.hijack();
  const res = reply.raw;
  if (fault.kind === "hang") return; // never answered; the socket dies with the client or the server
  if (parsed.rich !== null) {
    admitRich(host, life, res, dialect, parsed, parsed.rich, job, fault);
    return;
  }
  const wire = wireFor(route, host.wireContext(), parsed, job);
  const begin = () => {
    if (res.destroyed || host.current !== life) return;
    const g = new Generation(life, job, wire, res, life.rt.now());
    res.once("close", g.onClose);
    try {
      life.rt.submit(
        {
          id: job.id,
          promptTokens: job.promptIds.length,
          maxTokens: job.outputTokens,
          tokenIds: job.promptIds,
        },
        g,
      );
    } catch (err) {
      res.off("close", g.onClose);
      const e = wireError(
        dialect,
        err instanceof RequestRejected
          ? badRequest(err.message, null, "context_length_exceeded")
          : { status: 500, type: "server_error", code: "internal_error", message: String(err) },
      );
      res.writeHead(e.status, life.jsonHeaders);
      res.end(JSON.stringify(errorBody(dialect, e)));
      return;
    }
    if (wire.stream) g.startStream(wire.contentType === "sse" ? life.sseHeaders : life.ndjsonHeaders);
  };
  if (fault.kind === "slow") {
    const t = setTimeout(begin, fault.ms);
    res.once("close", () => clearTimeout(t));
  } else begin();
}

/**
 * A reply of n choices, tool calls, JSON output, logprobs or continuous usage: one engine job
 * per choice (src/sim/rich-reply.ts), each choice's content from src/sim/structured.ts.
 */
function admitRich(
  host: AdmissionHost,
  life: Life,
  res: ServerResponse,
  dialect: Dialect,
  p: ParsedGeneration,
  spec: RichSpec,
  first: Job,
  fault: FaultAction,
): void {
  const jobs: Job[] = [];
  const contents: ChoiceContent[] = [];
  const limit = p.maxTokens ?? host.config.maxModelLen - p.promptIds.length;
  for (let i = 0; i < spec.n; i++) {
    let job = first;
    if (i > 0) {
      const planned = planReply({ ...p, seed: p.seed !== undefined ? p.seed + i : undefined }, fault, host);
      if ("status" in planned) throw new Error(planned.message);
      job = { ...planned, id: `${first.id}-${i}` };
    }
    const content = choiceContent(spec.output, job.textSeed, i);
    if (content.pieces !== null && content.pieces.length > 0) {
      // Guided decoding: the reply is the structured text, cut only by max_tokens.
      const outputTokens = Math.min(content.pieces.length, limit);
      job = {
        ...job,
        outputTokens,
        texts: content.pieces.slice(0, outputTokens),
        finishReason: content.pieces.length <= limit ? "stop" : "length",
        stopReason: "null",
        cutAt: fault.kind === "cut" ? Math.floor((outputTokens - 1) / 2) : -1,
      };
    }
    jobs.push(job);
    contents.push(content);
  }
  const begin = () => {
    if (res.destroyed || host.current !== life) return;
    const rich = new RichReply(
      {
        metrics: life.metrics,
        abort: (id) => life.rt.abort(id),
        now: () => life.rt.now(),
        res,
        jsonHeaders: life.jsonHeaders,
        sseHeaders: life.sseHeaders,
        model: host.servedModelName,
        created: host.created(),
        id: `${spec.chat ? "chatcmpl" : "cmpl"}-${first.id}`,
        stream: p.stream,
        includeUsage: p.includeUsage,
        spec,
      },
      jobs,
      contents,
      life.rt.now(),
    );
    try {
      jobs.forEach((job, i) => {
        life.rt.submit(
          {
            id: job.id,
            promptTokens: job.promptIds.length,
            maxTokens: job.outputTokens,
            tokenIds: job.promptIds,
          },
          rich.listener(i),
        );
      });
    } catch (err) {
      rich.detach();
      for (const job of jobs) life.rt.abort(job.id);
      const e = wireError(
        dialect,
        err instanceof RequestRejected
          ? badRequest(err.message, null, "context_length_exceeded")
          : { status: 500, type: "server_error", code: "internal_error", message: String(err) },
      );
      res.writeHead(e.status, life.jsonHeaders);
      res.end(JSON.stringify(errorBody(dialect, e)));
      return;
    }
    if (p.stream) rich.startStream();
  };
  if (fault.kind === "slow") {
    const t = setTimeout(begin, fault.ms);
    res.once("close", () => clearTimeout(t));
  } else begin();
}
