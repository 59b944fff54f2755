// The simulator against published vLLM figures, on the accelerated engine (docs/simulator.md).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CALIBRATION } from "../../src/sim/model/calibration.js";

describe("calibration against published figures", () => {
  for (const point of CALIBRATION) {
    it(`${point.description}: within ±${point.band * 100}% of ${point.published} ${point.unit}`, () => {
      const ours = point.run();
      const error = (ours - point.published) / point.published;
      assert.ok(
        Math.abs(error) <= point.band,
        `${ours.toFixed(2)} ${point.unit} is ${(error * 100).toFixed(1)}% from ${point.published}`,
      );
    });
  }
});
