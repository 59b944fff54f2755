/** What an engine's metrics say about its load, as its adapter reads them (`parseLoad`). */

/** Engine load as read from an endpoint's metrics (through its engine adapter). */
export interface EndpointLoad {
  /** Requests waiting in the engine's queue. */
  waiting: number;
  /** Requests running in the engine's batch. */
  running: number;
  /** KV-cache usage, a 0–1 fraction; `undefined` when the engine does not export it. */
  kvUsage?: number;
  /** When the sample was taken (ms, performance.now() clock). */
  at: number;
}
