// Workload 4: many accounts in one process. N registered accounts' creds are
// saved through each adapter's own path, then the store is closed, reopened,
// and every account is opened again and its creds loaded (sequentially, the
// way a multi-account process starts), or `inFlight` accounts at a time (a
// process starting its sockets together, where durable commits can be
// shared). The loaded accounts stay referenced:
// after GC, the RSS they added, divided by N, is the cost of an idle session.
// Every loaded creds object must equal what was saved.

import * as baileys from '@whiskeysockets/baileys'

import { inFlight } from '../lib/concurrency.mjs'
import { profiled, selfOf, topSelf } from '../lib/profiler.mjs'
import { msSince } from '../lib/stats.mjs'
import { authStore } from '../peers/auth-stores.mjs'
import { registeredCreds } from './fixtures.mjs'

/** BufferJSON text with object keys sorted: equal creds compare equal whatever key order a store returns (jsonb sorts them). */
function fingerprint(creds) {
  const sorted = (v) => (Array.isArray(v) ? v.map(sorted) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])])) : v)
  return JSON.stringify(sorted(JSON.parse(JSON.stringify(creds, baileys.BufferJSON.replacer))))
}

function settledRss() {
  for (let i = 0; i < 3; i++) globalThis.gc()
  return process.memoryUsage().rss
}

export async function tenants({ store, accounts: count, inFlight: limit = 1, profile = false }, ctx) {
  if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc')
  const kind = authStore(store)
  const ids = Array.from({ length: count }, (_, i) => `acct${i}`)
  const creds = registeredCreds(ctx.baileys, count)
  const expected = creds.map(fingerprint)

  let accounts = await kind.open(ctx, { sharedConnection: true })
  await accounts.prepare?.(ids)
  // The profile splits a save into opening the account and committing its creds.
  const phases = { openMs: 0, saveCredsMs: 0 }
  const save = () =>
    inFlight(ids, limit, async (id, i) => {
      let t = process.hrtime.bigint()
      const a = await accounts.account(id, { creds: creds[i] })
      phases.openMs += msSince(t)
      t = process.hrtime.bigint()
      await a.saveCreds()
      phases.saveCredsMs += msSince(t)
      await a.release()
    })
  let t0 = process.hrtime.bigint()
  const saveProfile = profile ? await profiled(save) : await save()
  const saveMs = msSince(t0)
  await accounts.close()

  accounts = await kind.open(ctx, { sharedConnection: true })
  const baseline = settledRss()
  const baselineHeap = process.memoryUsage().heapUsed
  t0 = process.hrtime.bigint()
  const loaded = new Array(count)
  await inFlight(ids, limit, async (id, i) => {
    loaded[i] = await accounts.account(id)
  })
  const loadMs = msSince(t0)
  const rssPerSessionKB = (settledRss() - baseline) / count / 1024
  const heapPerSessionKB = (process.memoryUsage().heapUsed - baselineHeap) / count / 1024
  try {
    const wrong = loaded.filter((a, i) => fingerprint(a.state.creds) !== expected[i]).length
    if (wrong) throw new Error(`${wrong} of ${count} accounts loaded creds that differ from the saved ones`)
    const figures = { saveMs, loadMs, totalMs: saveMs + loadMs, rssPerSessionKB, heapPerSessionKB, credsBytes: expected[0].length }
    if (!saveProfile) return figures
    const perAccount = (ms) => (ms * 1000) / count
    return {
      ...figures,
      profile: {
        openUsPerAccount: perAccount(phases.openMs),
        saveCredsUsPerAccount: perAccount(phases.saveCredsMs),
        idleUsPerAccount: perAccount(selfOf(saveProfile, /^\(idle\)/)),
        gcUsPerAccount: perAccount(selfOf(saveProfile, /^\(garbage collector\)/)),
        top: topSelf(saveProfile, 12).map((t) => ({ ...t, usPerAccount: perAccount(t.ms) })),
      },
    }
  } finally {
    for (const a of loaded) await a.release()
    await accounts.close()
  }
}
