/**
 * Helper of pytorch-ulps.py: reads cases (JSON on stdin: a list of
 * { grads: number[][], maxNorm, normType }), clips float32 copies with
 * gradclip's clipGradNorm_, and writes the clipped values (JSON on stdout).
 */
import { clipGradNorm_ } from "../src/index.js";

interface Case {
  grads: number[][];
  maxNorm: number;
  normType: number | "inf";
}

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const cases = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Case[];
const out = cases.map((c) => {
  const grads = c.grads.map((g) => Float32Array.from(g));
  clipGradNorm_(grads, c.maxNorm, { normType: c.normType });
  return grads.map((g) => Array.from(g));
});
process.stdout.write(JSON.stringify(out));
