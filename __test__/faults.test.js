'use strict'
// Backend outages: the server is stopped in the middle of a mixed workload
// and started again 5 s later (scripts/server-control.sh).
// - archive writes (write-behind) queue and all land after the restart, exactly;
// - 'sync' Signal writes made during the outage reject with STORE_CONNECTION_FAILED
//   within a bounded time, and never hang;
// - 'deferred' writes made during the outage are kept and land; after repeated
//   failures new writes are refused with STORE_FLUSH_HALTED, until the backend is back;
// - nothing acknowledged is lost.
// WASTORE_FAULT_TESTS=0 skips these (they stop shared servers); CI runs them.
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { after, describe, it } = require('node:test')

const wastore = require('..')
const { storeOptions } = require('./helpers/specs')
const redisHelpers = require('./helpers/redis')

const CONTROL = path.join(__dirname, '..', 'scripts', 'server-control.sh')
const OUTAGE_MS = 5_000
const server = (action, name) => execFileSync('bash', [CONTROL, action, name], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 })
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const addr = (user) => ({ user, server: 's.whatsapp.net', device: 0 })

const SERVERS = [
  {
    name: 'postgres',
    backend: (tag) =>
      wastore.createPostgresStore({
        pool: { connectionString: process.env.WASTORE_TEST_PG_URL || 'postgres://wastore@127.0.0.1:5432/wastore_test', max: 4, acquireTimeoutMillis: 1500, connectionTimeoutMillis: 1500 },
        tablePrefix: `fault${process.pid}_${tag}_`
      })
  },
  {
    name: 'redis',
    backend: (tag) =>
      wastore.createRedisStore({ url: process.env.WASTORE_TEST_REDIS_URL || 'redis://127.0.0.1:6379/', keyPrefix: `fault${process.pid}_${tag}:` })
  }
]

const skip = process.env.WASTORE_FAULT_TESTS === '0' ? 'WASTORE_FAULT_TESTS=0' : false

// The Redis server is shared and never flushed: this run's keys go (the
// PostgreSQL test database is recreated by every `npm test`).
after(async () => {
  if (!skip) await redisHelpers.deleteKeysUnder(`fault${process.pid}_`)
})

for (const srv of SERVERS) {
  describe(`outage of ${srv.name}`, { timeout: 180_000, skip }, () => {
    it('archive writes queue and land, sync Signal writes fail fast, deferred ones are kept', async () => {
      const sync = wastore.createStore(storeOptions(srv.backend('s'), { signalCache: { syncTimeoutMs: 2000 }, writeBehind: { flushTimeoutMs: 30_000 } }))
      const deferred = wastore.createStore(storeOptions(srv.backend('d'), { signalCache: { durability: 'deferred', maxFlushFailures: 3 } }))
      const s = sync.session('fault')
      const d = deferred.session('fault')
      // Connected, migrated, warm.
      await s.session.setSession(addr('warm'), { n: 0 })
      await d.session.setSession(addr('warm'), { n: 0 })
      await d.flush()
      let archived = 0
      const ackedSync = new Map()
      const ackedDeferred = new Map()
      const archive = async (n) => {
        await s.messages.upsert({ id: `m${n}`, threadJid: 't@g.us', fromMe: true, timestampMs: n })
        archived += 1
      }
      for (let n = 1; n <= 50; n += 1) {
        await archive(n)
        await s.session.setSession(addr(`p${n % 5}`), { n })
        ackedSync.set(`p${n % 5}`, n)
      }

      server('stop', srv.name)
      const outageStart = Date.now()
      try {
        // Archive writes are accepted (queued) during the outage.
        for (let n = 51; n <= 150; n += 1) await archive(n)
        // A sync Signal write fails within a bounded time instead of hanging.
        const t0 = Date.now()
        await assert.rejects(s.session.setSession(addr('during'), { n: 1 }), { code: 'STORE_CONNECTION_FAILED' })
        const took = Date.now() - t0
        assert.ok(took < 15_000, `a sync write during the outage took ${took} ms to fail`)
        // Deferred writes are acknowledged and kept; once flushes keep failing, new ones are refused.
        let halted = false
        for (let n = 1; n <= 200 && !halted; n += 1) {
          try {
            await d.session.setSession(addr(`q${n % 5}`), { n })
            ackedDeferred.set(`q${n % 5}`, n)
          } catch (err) {
            assert.equal(err.code, 'STORE_FLUSH_HALTED', `${err.code}: ${err.message}`)
            halted = true
          }
          await sleep(50)
        }
        assert.ok(halted, 'deferred writes were never refused during a long outage')
        assert.equal(deferred.stats().signalCache.halted, true)
        await sleep(Math.max(0, OUTAGE_MS - (Date.now() - outageStart)))
      } finally {
        server('start', srv.name)
      }

      // After the restart: everything lands, exactly, and nothing acknowledged is missing.
      const report = await s.flush(60_000)
      assert.equal(report.remaining, 0, JSON.stringify(report))
      const dreport = await d.flush(60_000)
      assert.equal(dreport.remaining, 0, JSON.stringify(dreport))
      assert.equal(deferred.stats().signalCache.halted, false)
      await d.session.setSession(addr('after'), { n: 1 })

      await sync.destroy()
      await deferred.destroy()
      const check = wastore.createStore(storeOptions(srv.backend('s')))
      const checkD = wastore.createStore(storeOptions(srv.backend('d')))
      try {
        const page = await check.session('fault').messages.listByThread('t@g.us', 1000)
        assert.equal(page.length, archived, `${page.length} of ${archived} archive writes landed`)
        assert.equal(new Set(page.map((m) => m.id)).size, archived)
        for (const [user, n] of ackedSync) assert.equal((await check.session('fault').session.getSession(addr(user))).n, n)
        for (const [user, n] of ackedDeferred) assert.equal((await checkD.session('fault').session.getSession(addr(user))).n, n, `deferred ${user}`)
        assert.equal(await check.session('fault').session.getSession(addr('during')), null, 'the rejected write was not applied')
      } finally {
        await check.destroy()
        await checkD.destroy()
      }
    })
  })
}
