// Workload 2: Signal-session operations in process, on every wastore backend
// (createStore defaults: Signal cache, durable 'sync' writes) and on a plain
// JS Map floor with the same async methods. getSession+setSession pairs on
// one address, setSessionsBatch(100) and getSessionsBatch(100), each with 1
// and 64 callers in flight on one session.

import { performance } from 'node:perf_hooks'

import { wastore } from '../lib/paths.mjs'
import { percentile } from '../lib/stats.mjs'
import { wastoreStore } from '../peers/auth-stores.mjs'
import { MapSessionStore } from '../peers/map-stores.mjs'
import { sessionRecord, signalAddress } from './fixtures.mjs'

const ADDRESSES = 2000
const BATCH = 100
const MAX_SAMPLES = 200_000
const addresses = Array.from({ length: ADDRESSES }, (_, i) => signalAddress(i))
const records = Array.from({ length: 64 }, (_, i) => sessionRecord(i))

// Deterministic xorshift, so every store sees the same address sequence.
function rng(seed) {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 4294967296
  }
}

const OPS = {
  'get+setSession': (s, r) => {
    const a = addresses[Math.floor(r() * ADDRESSES)]
    return s.getSession(a).then(() => s.setSession(a, records[Math.floor(r() * records.length)]))
  },
  'setSessionsBatch(100)': (s, r) => {
    const start = Math.floor(r() * (ADDRESSES - BATCH))
    const entries = []
    for (let i = 0; i < BATCH; i++) entries.push({ address: addresses[start + i], session: records[(start + i) % records.length] })
    return s.setSessionsBatch(entries)
  },
  'getSessionsBatch(100)': (s, r) => {
    const start = Math.floor(r() * (ADDRESSES - BATCH))
    return s.getSessionsBatch(addresses.slice(start, start + BATCH)).then((got) => {
      if (got.some((x) => x === null)) throw new Error('getSessionsBatch missed a stored address')
    })
  },
}
export const STORE_OPS = Object.keys(OPS)
export const CONCURRENCY = [1, 64]

// `concurrency` callers loop for warm-up + measure time. Phases go by the
// clock, not by timers: a store whose promises settle as microtasks (the Map
// floor) would starve timers.
async function runCase(session, op, concurrency, { measureMs, warmupMs }) {
  const samples = new Float64Array(MAX_SAMPLES)
  let n = 0
  let ops = 0
  let allOps = 0
  const measureStart = performance.now() + warmupMs
  const measureEnd = measureStart + measureMs
  let lastEnd = measureStart
  const worker = async (id) => {
    const r = rng(0x9e3779b9 ^ (id * 7919))
    for (;;) {
      const t0 = performance.now()
      if (t0 >= measureEnd) return
      await op(session, r)
      allOps++
      if (t0 >= measureStart) {
        const t1 = performance.now()
        ops++
        if (n < MAX_SAMPLES) samples[n++] = t1 - t0
        if (t1 > lastEnd) lastEnd = t1
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)))
  const seconds = (lastEnd - measureStart) / 1000
  const lat = samples.subarray(0, n)
  return { ops, allOps, opsPerSec: ops / seconds, p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99) }
}

export async function storeOps({ store, measureMs, warmupMs }, ctx) {
  const kind = store === 'map' ? null : store.replace(/^wastore-/, '')
  const st = kind === null ? null : kind === 'memory' ? wastore().createStore() : wastoreStore(kind, ctx)
  const session = st ? st.session('bench').session : new MapSessionStore()
  try {
    for (let i = 0; i < ADDRESSES; i += BATCH) {
      await session.setSessionsBatch(addresses.slice(i, i + BATCH).map((address, k) => ({ address, session: records[(i + k) % records.length] })))
    }
    const cases = []
    for (const [name, op] of Object.entries(OPS)) {
      for (const concurrency of CONCURRENCY) {
        const before = st?.stats().signalCache.transactions
        const r = await runCase(session, op, concurrency, { measureMs, warmupMs })
        // Group commit: how many durable writes shared one backend transaction.
        const transactions = st ? st.stats().signalCache.transactions - before : 0
        const writeCalls = name === 'getSessionsBatch(100)' ? 0 : r.allOps
        cases.push({ op: name, concurrency, ...r, writeCallsPerTransaction: transactions && writeCalls ? writeCalls / transactions : null })
      }
    }
    return { cases }
  } finally {
    await st?.destroy()
  }
}
