/** Routes: the public model names and the targets behind them. (A section of the spec schema: src/spec/schema.ts.) */
import { z } from "zod";
import { duration } from "../units.js";
import { BALANCERS } from "./enums.js";

// ---------------------------------------------------------------- routes
const Target = z
  .strictObject({
    model: z.string().describe("Model (pool) name, `models[].name`."),
    weight: z
      .number()
      .int()
      .nonnegative()
      .default(100)
      .describe("Relative share of traffic (canary splits: 90 / 10)."),
  })
  .describe("A pool this route sends traffic to.");

export const Route = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, "a model name as clients send it")
      .describe("Public model name clients send in `model`."),
    aliases: z.array(z.string().min(1)).default([]).describe("Other public names for the same route."),
    targets: z.array(Target).min(1).describe("Pools behind the route, with weights."),
    balancer: z.enum(BALANCERS).default("least-request").describe("How an endpoint is picked inside a pool."),
    fallbacks: z
      .array(z.string())
      .default([])
      .describe("Routes tried in order on 429, 5xx, connect errors and timeouts before the first byte."),
    contextFallback: z
      .string()
      .optional()
      .describe("Route with a longer context, tried when the request exceeds this route's context."),
    sticky: z
      .strictObject({
        by: z.enum(["user", "header"]).describe("Stick on the request's `user` field or on a header."),
        header: z.string().optional().describe("Header name when `by: header` (e.g. x-session-id)."),
      })
      .optional()
      .describe("Session affinity across weighted targets."),
    required: z.boolean().default(true).describe("`/readyz` fails while this route has no healthy endpoint."),
    timeout: duration("Total request timeout for this route (overrides gateway.timeouts.total).").optional(),
  })
  .describe("A public model name and where its traffic goes.");
