/** Small statistics helpers: nearest-rank percentiles and rounding for the report. */

export function percentile(values, p) {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function summary(values) {
  if (values.length === 0) return { n: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((s, v) => s + v, 0) / sorted.length;
  return {
    n: sorted.length,
    min: round(sorted[0]),
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1]),
    mean: round(mean),
  };
}

export function round(v, digits = 2) {
  if (v === undefined || v === null || !Number.isFinite(v)) return v;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Counts events (times in ms) per window of `windowMs` from `start` to `end`. */
export function windowCounts(times, start, end, windowMs) {
  const n = Math.max(1, Math.ceil((end - start) / windowMs));
  const counts = new Array(n).fill(0);
  for (const t of times) {
    if (t < start || t >= end) continue;
    counts[Math.min(n - 1, Math.floor((t - start) / windowMs))] += 1;
  }
  return counts;
}

/**
 * Peak count in any window of `windowMs` (sliding: every window that starts at an event), and the
 * mean count per window over [start, end).
 */
export function herd(times, start, end, windowMs) {
  const inside = times.filter((t) => t >= start && t < end).sort((a, b) => a - b);
  let peak = 0;
  let j = 0;
  for (let i = 0; i < inside.length; i++) {
    while (j < inside.length && inside[j] < inside[i] + windowMs) j++;
    peak = Math.max(peak, j - i);
  }
  const mean = (inside.length * windowMs) / Math.max(windowMs, end - start);
  return { requests: inside.length, peak, meanPerWindow: mean, factor: mean > 0 ? peak / mean : undefined };
}
