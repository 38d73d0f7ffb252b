// A CPU profile of one stretch of a workload (V8's sampling profiler through
// the inspector, in process), summarised as self time per function. A native
// addon call has no frame of its own: its time is the self time of the JS
// function that made the call.

import { Session } from 'node:inspector/promises'
import path from 'node:path'

import { REPO, WASTORE_PACKAGE } from './paths.mjs'

/** Runs `fn()` under the profiler; resolves to `{ value, selfMs: Map<"name file:line", ms>, totalMs }`. */
export async function profiled(fn) {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 200 })
  await session.post('Profiler.start')
  let value
  try {
    value = await fn()
  } finally {
    var { profile } = await session.post('Profiler.stop')
    session.disconnect()
  }
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfMs = new Map()
  let totalMs = 0
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000
    const { functionName, url, lineNumber } = byId.get(id).callFrame
    const file = url.replace(/^file:\/\//, '').replace(/.*node_modules\//, '').replace(`${WASTORE_PACKAGE}${path.sep}`, '').replace(`${REPO}${path.sep}`, '')
    const where = url ? `${file}:${lineNumber + 1}` : ''
    const key = `${functionName || '(anonymous)'} ${where}`.trim()
    selfMs.set(key, (selfMs.get(key) ?? 0) + ms)
    totalMs += ms
  })
  return { value, selfMs, totalMs }
}

/** The `n` functions with the most self time, as `{ fn, ms, share }`. */
export const topSelf = ({ selfMs, totalMs }, n) =>
  [...selfMs].sort((a, b) => b[1] - a[1]).slice(0, n).map(([fn, ms]) => ({ fn, ms, share: ms / totalMs }))

/** Self time of the functions whose key matches `re`. */
export const selfOf = ({ selfMs }, re) => [...selfMs].filter(([k]) => re.test(k)).reduce((sum, [, ms]) => sum + ms, 0)
