// Call counting and timing around a store's methods. The harness is
// sequential, so awaited calls do not overlap and their wall times add up to
// the time spent inside the store. The time includes the promise round trip
// of the call itself, which every store pays.

/**
 * A counter per wrapped method: `{ [method]: { calls, items, ms, syncMs } }`.
 * `syncMs` is the part of `ms` before the call returned its promise: work the
 * store did synchronously on the main thread (a native call converting its
 * arguments, or answering from a cache).
 */
export function newCounter(methods) {
  return Object.fromEntries(methods.map((m) => [m, { calls: 0, items: 0, ms: 0, syncMs: 0 }]))
}

export function resetCounter(counter) {
  for (const c of Object.values(counter)) Object.assign(c, { calls: 0, items: 0, ms: 0, syncMs: 0 })
}

/**
 * `target` with `methods` (`{ method: counterName }`) replaced by timed
 * wrappers that add to `counter[counterName]`. `items(args)` counts the ids or
 * records a call carries. One `.then` per call, so every store pays the same.
 */
export function instrument(target, methods, counter, items = defaultItems) {
  const out = Object.create(target)
  for (const [method, name] of Object.entries(methods)) {
    const fn = target[method].bind(target)
    const c = counter[name]
    out[method] = (...args) => {
      c.calls += 1
      c.items += items(method, args)
      const t0 = process.hrtime.bigint()
      const pending = fn(...args)
      c.syncMs += Number(process.hrtime.bigint() - t0) / 1e6
      return pending.then((value) => {
        c.ms += Number(process.hrtime.bigint() - t0) / 1e6
        return value
      })
    }
  }
  return out
}

/** get(type, ids) carries ids.length; set(data) / write(data) the number of records. */
function defaultItems(method, args) {
  if (Array.isArray(args[1])) return args[1].length
  if (args[0] && typeof args[0] === 'object') {
    let n = 0
    for (const byId of Object.values(args[0])) n += byId ? Object.keys(byId).length : 0
    return n
  }
  return 1
}
