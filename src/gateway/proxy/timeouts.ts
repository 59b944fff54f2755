/**
 * The request's clock: the total timeout (the route's, else `gateway.timeouts.total`) and the
 * client going away both cancel the exchange; the upstream request carries the first-byte and
 * idle timeouts itself (undici's headersTimeout and bodyTimeout, see attempt.ts).
 */
import { InferplaneError } from "../../errors.js";
import type { Exchange } from "./exchange.js";
import type { Layer } from "./layers.js";

export function totalTimeout(totalMs: (ex: Exchange) => number): Layer {
  return (next) => async (ex) => {
    const res = ex.res;
    const onClose = () => {
      if (!res.writableFinished) ex.signal.abort();
    };
    res.on("close", onClose);
    const ms = totalMs(ex);
    const timer = setTimeout(
      () =>
        ex.signal.abort(
          new InferplaneError("upstream_timeout", `no complete answer within ${ms} ms (total timeout)`),
        ),
      ms,
    );
    try {
      await next(ex);
    } finally {
      clearTimeout(timer);
      res.off("close", onClose);
    }
  };
}
