/**
 * The mean and the sum of squared deviations from it, the two moments the
 * adaptive rules and the monitor's statistics divide as they need (by n for
 * the population variance, as ZClip's reference and the monitor; by n - 1
 * for the sample variance, as OLMo-core's spike test).
 */

/**
 * Mean and Σ (x - mean)² of `xs`, two passes in float64, summed left to
 * right (as Python's `sum`, so ZClip matches its reference bit for bit).
 * No values give mean NaN and a sum of 0.
 */
export function meanAndSquaredDeviations(xs: readonly number[]): { mean: number; squaredDeviations: number } {
  let s = 0;
  for (const x of xs) s += x;
  const mean = s / xs.length;
  let v = 0;
  for (const x of xs) v += (x - mean) * (x - mean);
  return { mean, squaredDeviations: v };
}
