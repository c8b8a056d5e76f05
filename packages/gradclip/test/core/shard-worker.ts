/**
 * One worker of test/core/sharded.test.ts: owns some tensors of a shared
 * buffer, reports its norm part, and clips its tensors with the total
 * combined from every worker's part (the transport is postMessage of JSON).
 */
import { parentPort, workerData } from "node:worker_threads";
import {
  clipGradsWithNorm_,
  combineNormParts,
  getLocalNormPart,
  type NormPart,
  type NormType,
} from "../../src/index.js";

interface ShardData {
  buffer: SharedArrayBuffer;
  /** The tensors this worker owns: [offset, length] in floats. */
  tensors: [number, number][];
}

export type ShardRequest = { cmd: "part"; normType: NormType } | { cmd: "clip"; parts: string; maxNorm: number };

const { buffer, tensors } = workerData as ShardData;
const grads = tensors.map(([offset, length]) => new Float32Array(buffer, offset * 4, length));

parentPort!.on("message", (m: ShardRequest) => {
  if (m.cmd === "part") {
    parentPort!.postMessage(JSON.stringify(getLocalNormPart(grads, { normType: m.normType })));
  } else {
    const total = combineNormParts(JSON.parse(m.parts) as NormPart[]);
    clipGradsWithNorm_(grads, m.maxNorm, total);
    parentPort!.postMessage(total);
  }
});
