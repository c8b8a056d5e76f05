/**
 * Small programs that use the installed package the way users do, run by
 * library.test.ts on this Node and by node-versions.test.ts on others.
 */
import assert from "node:assert/strict";

/** A CommonJS program that requires both entries and clips once with each. */
export const CJS_CONSUMER = `
const gradclip = require("gradclip");
const g = new Float32Array([3, 4]);
const norm = gradclip.clipGradNorm_([g], 1);
const tf = require("@tensorflow/tfjs-core");
require("@tensorflow/tfjs-backend-cpu");
const gtf = require("gradclip/tfjs");
tf.setBackend("cpu").then(() => {
  const grads = { w: tf.tensor1d([3, 4]) };
  const total = gtf.clipGradNorm_(grads, 1);
  const opt = gtf.withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1 });
  console.log(JSON.stringify({
    norm, clipped: Array.from(g), tfNorm: total.dataSync()[0], tfClipped: Array.from(grads.w.dataSync()),
    wrapped: opt instanceof gtf.ClippedOptimizer, isModule: typeof module === "object", node: process.version,
  }));
});
`;

/** The same as an ES module. */
export const ESM_CONSUMER = `
import { clipGradNorm_ } from "gradclip";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as gtf from "gradclip/tfjs";
await tf.setBackend("cpu");
const g = new Float32Array([3, 4]);
const norm = clipGradNorm_([g], 1);
const grads = { w: tf.tensor1d([3, 4]) };
const total = gtf.clipGradNorm_(grads, 1);
const opt = gtf.withGradientClipping(tf.train.sgd(0.1), { maxNorm: 1 });
console.log(JSON.stringify({
  norm, clipped: Array.from(g), tfNorm: total.dataSync()[0], tfClipped: Array.from(grads.w.dataSync()),
  wrapped: opt instanceof gtf.ClippedOptimizer, isModule: typeof module === "object", node: process.version,
}));
`;

/** Checks what a consumer printed; `isModule`: it ran as CommonJS. */
export function checkConsumerOutput(out: unknown, isModule: boolean): void {
  const o = out as {
    norm: number;
    clipped: number[];
    tfNorm: number;
    tfClipped: number[];
    wrapped: boolean;
    isModule: boolean;
  };
  assert.equal(o.norm, 5);
  assert.ok(Math.abs(o.clipped[0]! - 0.6) < 1e-6 && Math.abs(o.clipped[1]! - 0.8) < 1e-6, String(o.clipped));
  assert.equal(o.tfNorm, 5);
  assert.ok(Math.abs(o.tfClipped[0]! - 0.6) < 1e-6 && Math.abs(o.tfClipped[1]! - 0.8) < 1e-6, String(o.tfClipped));
  assert.equal(o.wrapped, true);
  assert.equal(o.isModule, isModule);
}
