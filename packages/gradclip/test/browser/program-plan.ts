/**
 * How many GPU programs the shader paths run for a list of gradient sizes,
 * from the same grouping (`planGroups`) the paths use: the browser suite
 * checks this model against the counts it measures, and the Node tests use
 * it for sizes too heavy for SwiftShader (GPT-2 small at full size).
 */
import { chunks, planGroups } from "../../src/tfjs/backends/shader-kernels.js";

export interface BackendLimits {
  readonly backend: "webgl" | "webgpu";
  /** webgl: MAX_TEXTURE_IMAGE_UNITS; webgpu: maxStorageBuffersPerShaderStage. */
  readonly bindings: number;
  /** webgl: MAX_TEXTURE_SIZE (a flat output holds at most its square). */
  readonly maxTextureSize?: number;
}

export interface PlannedCounts {
  clipGradNorm_: number;
  getTotalNorm: number;
  clipGradValue_: number;
}

/**
 * Programs of one call each, for gradients of `sizes` (`packed[i]`: a packed webgl texture). The
 * in-place batches (`planBatches`) are whole programs, so batching adds none, except webgl's packed
 * coefficient copy, made once per batch of packed gradients.
 */
export function plannedPrograms(
  sizes: readonly number[],
  packed: readonly boolean[],
  limits: BackendLimits,
): PlannedCounts {
  const webgl = limits.backend === "webgl";
  // As webgl.ts / webgpu.ts read them.
  const units = webgl ? Math.min(limits.bindings, 16) : Math.max(2, limits.bindings);
  const normInputs = Math.max(2, webgl ? units : units - 1);
  const keys = webgl ? packed.map((p) => (p ? "packed" : "unpacked")) : null;
  let partials = planGroups(sizes, keys, { maxCount: normInputs }).length;
  let norm = partials;
  while (partials > normInputs) {
    partials = chunks(new Array<number>(partials).fill(0), normInputs).length;
    norm += partials;
  }
  norm += 1;
  const map = (extraInputs: number): number => {
    // webgpu: sizes that are multiples of 4 (mapped as vec4) and the others in separate dispatches.
    if (!webgl) {
      const perDispatch = Math.floor(units / 2);
      return (
        chunks(
          sizes.filter((n) => n % 4 === 0),
          perDispatch,
        ).length +
        chunks(
          sizes.filter((n) => n % 4 !== 0),
          perDispatch,
        ).length
      );
    }
    const unpacked = sizes.filter((_, i) => !packed[i]);
    const maxElements = (limits.maxTextureSize ?? 2048) ** 2;
    const nPacked = sizes.length - unpacked.length;
    // The in-place functions hand packed gradients over 16 at a time (webgl.ts's planBatches),
    // and each such call makes one packed copy of the coefficient.
    const packedCoefficient = extraInputs > 0 ? Math.ceil(nPacked / 16) : 0;
    return (
      planGroups(unpacked, null, { maxCount: units - extraInputs, maxElements }).length + nPacked + packedCoefficient
    );
  };
  return { clipGradNorm_: norm + 1 + map(1), getTotalNorm: norm, clipGradValue_: map(0) };
}
