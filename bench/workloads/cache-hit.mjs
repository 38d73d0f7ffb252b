// Workload 5: what a Signal-cache hit costs, against a JS Map lookup behind
// the same async method. `await getSession(address)` on 1,000 warm addresses
// (zapo's API), and `await keys.get('session', [id])` (the Baileys adapter's
// path), each against its Map twin.

import { createHook } from 'node:async_hooks'
import { performance } from 'node:perf_hooks'

import { wastore } from '../lib/paths.mjs'
import { wastoreStore } from '../peers/auth-stores.mjs'
import { MapKeyStore, MapSessionStore } from '../peers/map-stores.mjs'
import { sessionRecord, signalAddress } from './fixtures.mjs'

const WARM = 1000

/** ns per awaited call of `read(i)` over `hits` calls, after a warm-up; `check(v)` must hold for each. */
async function nsPerCall(hits, read, check) {
  for (let i = 0; i < Math.min(hits, 20_000); i++) await read(i % WARM)
  const t0 = performance.now()
  for (let i = 0; i < hits; i++) {
    if (!check(await read(i % WARM))) throw new Error('a warm entry missed')
  }
  return ((performance.now() - t0) * 1e6) / hits
}

const ADDRS = Array.from({ length: WARM }, (_, i) => signalAddress(i))
const ID = (i) => `5511${900000000 + i}.0`

async function sessionHits(sessionStore, hits) {
  const rec = sessionRecord(1)
  for (const a of ADDRS) await sessionStore.setSession(a, rec)
  return nsPerCall(hits, (i) => sessionStore.getSession(ADDRS[i]), (v) => v !== null)
}

async function keyHits(keys, hits) {
  const rec = sessionRecord(1)
  for (let i = 0; i < WARM; i++) await keys.set({ session: { [ID(i)]: rec } })
  return nsPerCall(hits, (i) => keys.get('session', [ID(i)]), (v) => Object.keys(v).length === 1)
}

/**
 * Promises created per awaited `call(i)`, counted by an async_hooks init hook
 * (what Baileys' per-store AsyncLocalStorage pays for on Node 20); the loop's
 * own promises, measured with a call that returns a settled promise, are subtracted.
 */
async function promisesPer(call, n = 500) {
  let count = 0
  const hook = createHook({
    init(_id, type) {
      if (type === 'PROMISE') count++
    },
  }).enable()
  const loop = async (fn) => {
    count = 0
    for (let i = 0; i < n; i++) await fn(i)
    return count / n
  }
  try {
    const settled = Promise.resolve()
    const base = await loop(() => settled)
    return (await loop(call)) - base
  } finally {
    hook.disable()
  }
}

/** The Baileys adapter's key store on wastore: promises per cache hit, miss and durable set. */
async function adapterPromises(st, ctx) {
  const { state } = await wastore().useBaileysAuthState(st, 'promises', { baileys: ctx.baileys })
  const rec = sessionRecord(2)
  await state.keys.set({ session: { warm: rec } })
  return {
    'keys.get, cache hit': await promisesPer(() => state.keys.get('session', ['warm'])),
    'keys.get, miss (lid-mapping)': await promisesPer((i) => state.keys.get('lid-mapping', [`absent${i}`])),
    'keys.set, durable commit': await promisesPer((i) => state.keys.set({ session: { [`s${i % 50}`]: rec } })),
  }
}

export async function cacheHit({ hits }, ctx) {
  const st = wastoreStore('sqlite', ctx)
  try {
    const s = st.session('hit')
    const result = {
      mapSessionNs: await sessionHits(new MapSessionStore(), hits),
      wastoreSessionNs: await sessionHits(s.session, hits),
      // A keys hit decodes the value afresh (about 100 µs here): a tenth of the calls is enough.
      mapKeysNs: await keyHits(new MapKeyStore(), hits / 10),
      wastoreKeysNs: await keyHits(s.keys, hits / 10),
    }
    const reads = s.stats().signalCache.backendReads
    if (reads > 2) throw new Error(`warm hits reached the backend ${reads} times`)
    result.promisesPerCall = await adapterPromises(st, ctx)
    result.sessionRatio = result.wastoreSessionNs / result.mapSessionNs
    result.keysRatio = result.wastoreKeysNs / result.mapKeysNs
    return result
  } finally {
    await st.destroy()
  }
}
