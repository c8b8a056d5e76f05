// The grouping of tensors into shader programs (several per program, up to a backend's
// binding limits), and the program counts it gives on GPT-2 small's shapes at full size.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { planGroups } from "../../src/tfjs/backends/shader-kernels.js";
import { plannedPrograms, type BackendLimits } from "./program-plan.js";
import { seededRandom } from "../support/random.js";

test("planGroups: every item once, keys apart and in order, within maxCount and maxElements", () => {
  const r = seededRandom(11);
  const rand = (n: number) => r.int(n);
  for (let round = 0; round < 200; round++) {
    const n = rand(60);
    const sizes = Array.from({ length: n }, () => 1 + rand(1000));
    const keys = round % 2 ? Array.from({ length: n }, () => (rand(3) === 0 ? "packed" : "unpacked")) : null;
    const limits = { maxCount: 1 + rand(9), ...(round % 3 ? { maxElements: 1 + rand(3000) } : {}) };
    const groups = planGroups(sizes, keys, limits);
    assert.deepEqual(
      groups.flat().sort((a, b) => a - b),
      sizes.map((_, i) => i),
    );
    const firstOfKey = new Map<string, number>();
    let lastKeyOrder = -1;
    for (const g of groups) {
      assert.ok(g.length >= 1 && g.length <= limits.maxCount);
      const key = keys?.[g[0]!] ?? "";
      assert.ok(
        g.every((i) => (keys?.[i] ?? "") === key),
        "one key per group",
      );
      assert.ok(
        g.every((i, j) => j === 0 || i > g[j - 1]!),
        "order kept",
      );
      const total = g.reduce((a, i) => a + sizes[i]!, 0);
      if (limits.maxElements !== undefined && g.length > 1) assert.ok(total <= limits.maxElements);
      if (!firstOfKey.has(key)) firstOfKey.set(key, g[0]!);
      const order = [...firstOfKey.keys()].indexOf(key);
      assert.ok(order >= lastKeyOrder, "groups of one key together");
      lastKeyOrder = order;
    }
    // Greedy: a group is closed only when the next item would break a limit.
    for (let gi = 0; gi + 1 < groups.length; gi++) {
      const g = groups[gi]!,
        next = groups[gi + 1]!;
      if ((keys?.[g[0]!] ?? "") !== (keys?.[next[0]!] ?? "")) continue;
      const total = g.reduce((a, i) => a + sizes[i]!, 0);
      assert.ok(
        g.length === limits.maxCount ||
          (limits.maxElements !== undefined && total + sizes[next[0]!]! > limits.maxElements),
      );
    }
  }
  assert.throws(() => planGroups([1], null, { maxCount: 0 }), RangeError);
});

const shapesFile = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../../../../../shared/bench/gpt2-small-shapes.json",
);

test("GPT-2 small at full size (148 tensors, 124M floats): at most 0.5 programs per tensor on either backend's limits", (t) => {
  if (!existsSync(shapesFile)) {
    t.skip(`${shapesFile} not found (the workspace's ../shared)`);
    return;
  }
  const shapes = (JSON.parse(readFileSync(shapesFile, "utf8")) as { shapes: { shape: number[] }[] }).shapes.map(
    (s) => s.shape,
  );
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  assert.equal(sizes.length, 148);
  const cases: { label: string; limits: BackendLimits; packed: boolean }[] = [
    {
      label: "webgl, WebGL2's guaranteed 16 texture units, MAX_TEXTURE_SIZE 16384",
      limits: { backend: "webgl", bindings: 16, maxTextureSize: 16384 },
      packed: false,
    },
    {
      label: "webgl, SwiftShader's MAX_TEXTURE_SIZE 8192 (and 32 units, of which 16 are used)",
      limits: { backend: "webgl", bindings: 32, maxTextureSize: 8192 },
      packed: false,
    },
    {
      label: "webgl, 16 units, 2-D gradients packed (as matMul leaves them)",
      limits: { backend: "webgl", bindings: 16, maxTextureSize: 16384 },
      packed: true,
    },
    {
      label: "webgpu, the default 8 storage buffers per stage",
      limits: { backend: "webgpu", bindings: 8 },
      packed: false,
    },
  ];
  for (const { label, limits, packed } of cases) {
    const counts = plannedPrograms(
      sizes,
      shapes.map((s) => packed && s.length >= 2),
      limits,
    );
    t.diagnostic(
      `${label}: ${Object.entries(counts)
        .map(([name, n]) => `${name} ${n} (${(n / 148).toFixed(3)}/tensor)`)
        .join(", ")}`,
    );
    for (const [name, n] of Object.entries(counts)) assert.ok(n / 148 <= 0.5, `${label}: ${name} ${n} programs`);
  }
});
