/**
 * Bounding the data a plot carries: a 100,000-step history would otherwise
 * put every step into the SVG (megabytes, seconds, hundreds of MB of memory)
 * although the plot is a few hundred pixels wide.
 */

/** A point of a line: its step and value. */
export interface StepPoint {
  step: number;
  value: number;
}

/** A step range split into `buckets` equal parts; `index` maps a step to its part (0..buckets-1). */
function bucketer(lo: number, hi: number, buckets: number): (step: number) => number {
  const span = hi - lo;
  if (!(span > 0)) return () => 0;
  return (step) => Math.min(buckets - 1, Math.max(0, Math.floor(((step - lo) / span) * buckets)));
}

/**
 * Min-max decimation: at most `2 * buckets` points of `points` (whose order
 * does not matter). The step range is split into `buckets` equal parts and
 * each part keeps its smallest and its largest value (ties: the earliest
 * step), so a one-step spike or dip survives whatever the history's length.
 * With one bucket per horizontal pixel, the drawn line covers exactly the
 * pixels the full line would. Returns the kept points sorted by step;
 * `points` unchanged (copied) when there are at most `2 * buckets`.
 */
export function decimateMinMax<P extends StepPoint>(points: readonly P[], buckets: number): P[] {
  if (!Number.isSafeInteger(buckets) || buckets < 1)
    throw new RangeError(`buckets must be an integer >= 1; got ${buckets}.`);
  if (points.length <= 2 * buckets) return [...points].sort((a, b) => a.step - b.step);
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of points) {
    if (p.step < lo) lo = p.step;
    if (p.step > hi) hi = p.step;
  }
  const bucketOf = bucketer(lo, hi, buckets);
  const minAt = new Int32Array(buckets).fill(-1);
  const maxAt = new Int32Array(buckets).fill(-1);
  const better = (i: number, j: number, sign: 1 | -1): boolean => {
    const a = points[i]!;
    const b = points[j]!;
    return sign * (a.value - b.value) < 0 || (a.value === b.value && a.step < b.step);
  };
  for (let i = 0; i < points.length; i++) {
    const b = bucketOf(points[i]!.step);
    if (minAt[b]! < 0 || better(i, minAt[b]!, 1)) minAt[b] = i;
    if (maxAt[b]! < 0 || better(i, maxAt[b]!, -1)) maxAt[b] = i;
  }
  const out: P[] = [];
  for (let b = 0; b < buckets; b++) {
    const i = minAt[b]!;
    const j = maxAt[b]!;
    if (i < 0) continue;
    out.push(points[i]!);
    if (j !== i) out.push(points[j]!);
  }
  return out.sort((a, b) => a.step - b.step);
}

/**
 * Thins event marks (one per step) to at most one per `buckets` part of
 * `[lo, hi]` for each distinct `key(e)`: the earliest event of each
 * (key, part) is kept, with `count` = how many events it stands for. A part
 * that had an event of some key always keeps one, so no kind of event ever
 * disappears from a stretch of the plot; events outside `[lo, hi]` are
 * clamped to the first/last part. Returns `events` with count 1 each when
 * there are at most `buckets` of them.
 */
export function bucketEvents<E extends { step: number }>(
  events: readonly E[],
  key: (e: E) => string,
  lo: number,
  hi: number,
  buckets: number,
): (E & { count: number })[] {
  if (!Number.isSafeInteger(buckets) || buckets < 1)
    throw new RangeError(`buckets must be an integer >= 1; got ${buckets}.`);
  if (events.length <= buckets) return events.map((e) => ({ ...e, count: 1 }));
  const bucketOf = bucketer(lo, hi, buckets);
  const kept = new Map<string, E & { count: number }>();
  for (const e of events) {
    const id = `${key(e)}\u0000${bucketOf(e.step)}`;
    const k = kept.get(id);
    if (k === undefined) kept.set(id, { ...e, count: 1 });
    else {
      k.count++;
      if (e.step < k.step) Object.assign(k, e, { count: k.count });
    }
  }
  return [...kept.values()];
}
