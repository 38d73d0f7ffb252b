// Reading a section's runs: successful runs, spreads over them, per-round ratios.

import { spread } from './stats.mjs'

export const ok = (runs = []) => runs.filter((r) => !r.failed)

/** Spread of `get(run)` over a store's successful runs. */
export const over = (runs, get) => spread(ok(runs).map(get))

/** Per-round ratios `get(a) / get(b)` of two stores of a section (rounds where both succeeded). */
export function ratioSpread(section, a, b, get) {
  const rb = ok(section.runs[b])
  const values = []
  for (const x of ok(section.runs[a])) {
    const y = rb.find((r) => r.round === x.round)
    if (y) values.push(get(x) / get(y))
  }
  return spread(values)
}

/** `failed in k of n: reasons`, or '' when every run passed. */
export function failures(runs) {
  const bad = runs.filter((r) => r.failed)
  return bad.length ? `failed in ${bad.length} of ${runs.length}: ${[...new Set(bad.map((r) => r.failed))].join('; ')}` : ''
}
