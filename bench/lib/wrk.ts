/** wrk moved to src/bench/wrk.ts (`inferplane bench` checks its throughput against it); kept for older imports. */
export { parseWrk, runWrk, type WrkResult } from "../../src/bench/wrk.js";
