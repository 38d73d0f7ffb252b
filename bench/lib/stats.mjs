// Run statistics shared by the workloads and the report.

/** `{ median, min, max, n }` of a list of numbers (the lower median for an even count). */
export function spread(values) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (sorted.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 }
  return { median: sorted[Math.floor((sorted.length - 1) / 2)], min: sorted[0], max: sorted[sorted.length - 1], n: sorted.length }
}

/** The p-th percentile (0–100) of latency samples, nearest rank. */
export function percentile(samples, p) {
  if (samples.length === 0) return NaN
  const sorted = Float64Array.from(samples).sort()
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/** Milliseconds since `t0` (a `process.hrtime.bigint()` reading). */
export const msSince = (t0) => Number(process.hrtime.bigint() - t0) / 1e6
