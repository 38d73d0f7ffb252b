'use strict'
// The Signal object cache and write-behind through createStore, on every
// durable backend: group commit, negative entries, bounds, deferred
// durability, read-your-writes and back-pressure, asserted with stats().
const assert = require('node:assert/strict')
const { describe, it, before, after } = require('node:test')

const { createStore } = require('..')
const { factories } = require('./helpers/backends')
const { storeOptions } = require('./helpers/specs')
const { rejectsCode, throwsCode, uid, addr } = require('./helpers/util')

const durable = factories().filter((f) => f.persistent)

for (const factory of durable) {
  describe(`signal cache [${factory.name}]`, { timeout: 120_000 }, () => {
    const open = []
    const store = (extra = {}) => {
      const target = factory.make()
      const s = createStore({ ...target.options, ...extra })
      open.push(s)
      return { store: s, target }
    }
    before(async () => {
      if (factory.setup) await factory.setup()
    })
    after(async () => {
      await Promise.allSettled(open.map((s) => s.destroy()))
      if (factory.teardown) await factory.teardown()
    })

    it('64 concurrent setSession calls share commits (at most 32 transactions)', async () => {
      const { store: st } = store()
      const sessions = Array.from({ length: 8 }, (_, i) => st.session(uid(`gc${i}`)))
      // Connected and migrated first: only the 64 writes are measured.
      await Promise.all(sessions.map((s) => s.session.setSession(addr('warm'), { n: -1 })))
      const before = st.stats().signalCache.transactions
      await Promise.all(
        Array.from({ length: 64 }, (_, i) => sessions[i % 8].session.setSession(addr(`u${i}`), { n: i, pad: 'p'.repeat(300) }))
      )
      const stats = st.stats().signalCache
      const used = stats.transactions - before
      // How many share one commit depends on scheduling: a fast server (Redis) on a
      // loaded machine commits while the JS thread is still making the calls.
      assert.ok(used > 0 && used <= 32, `64 writes used ${used} transactions`)
      assert.equal(stats.dirty, 0)
      for (let i = 0; i < 64; i += 1) {
        assert.deepEqual(await sessions[i % 8].session.getSession(addr(`u${i}`)), { n: i, pad: 'p'.repeat(300) })
      }
    })

    it('1,000 lookups of an absent key cost one backend read', async () => {
      const { store: st } = store()
      const s = st.session(uid('neg'))
      for (let i = 0; i < 1000; i += 1) assert.equal(await s.session.getSession(addr('nobody')), null)
      const stats = s.stats().signalCache
      assert.equal(stats.backendReads, 1)
      assert.equal(stats.negativeHits, 999)
      assert.deepEqual(await s.session.hasSessions([addr('nobody'), addr('nobody')]), [false, false])
      assert.equal(s.stats().signalCache.backendReads, 1)
    })

    it('a hit returns the version last read or written without touching the backend', async () => {
      const { store: st } = store()
      const s = st.session(uid('hit'))
      const record = { chain: new Uint8Array([1, 2, 3]), n: 1 }
      await s.session.setSession(addr('a'), record)
      assert.equal(await s.session.getSession(addr('a')), record, 'the written object')
      const reads = s.stats().signalCache.backendReads
      const [x, y] = await s.session.getSessionsBatch([addr('a'), addr('b')])
      assert.equal(x, record)
      assert.equal(y, null)
      assert.equal(await s.session.hasSession(addr('a')), true)
      assert.equal(s.stats().signalCache.backendReads, reads + 1, 'only the miss b went to the backend')
      await s.identity.setRemoteIdentity(addr('a'), new Uint8Array(33).fill(5))
      assert.deepEqual(await s.identity.getRemoteIdentity(addr('a')), new Uint8Array(33).fill(5))
      await s.senderKey.upsertSenderKey({ groupId: 'g@g.us', sender: addr('a'), keyId: 1, iteration: 0 })
      assert.equal((await s.senderKey.getDeviceSenderKey('g@g.us', addr('a'))).keyId, 1)
    })

    it('the cache stays within memory.limits and evicts only clean entries', async () => {
      const { store: st } = store({ memory: { limits: { signalSessions: 50 } } })
      const s = st.session(uid('bound'))
      await s.session.setSessionsBatch(Array.from({ length: 200 }, (_, i) => ({ address: addr(`b${i}`), session: { i } })))
      for (let i = 0; i < 200; i += 1) assert.deepEqual(await s.session.getSession(addr(`b${i}`)), { i })
      const stats = s.stats().signalCache
      assert.ok(stats.entries <= 50, `entries ${stats.entries} > 50`)
      assert.ok(stats.evictions >= 150)
      assert.equal(stats.dirty, 0)
    })

    it("'deferred' resolves at once and flush() makes it durable", async () => {
      const { store: st, target } = store({ signalCache: { durability: 'deferred', flushWindowMs: 1000 } })
      const id = uid('deferred')
      const s = st.session(id)
      await s.session.setSession(addr('d'), { v: 1 })
      await s.session.setSession(addr('d'), { v: 2 })
      assert.ok(s.stats().signalCache.dirty >= 1, 'still pending inside the window')
      const report = await s.flush()
      assert.ok(report.flushed >= 1 && report.remaining === 0, JSON.stringify(report))
      if (target.reopen) {
        const other = createStore(target.reopen().options)
        open.push(other)
        assert.deepEqual(await other.session(id).session.getSession(addr('d')), { v: 2 })
      }
    })

    it('archive writes are queued, readable at once, bounded by maxPendingKeys, and all land', async () => {
      const { store: st } = store({ writeBehind: { maxPendingKeys: 100, maxBatchSize: 50 } })
      const s = st.session(uid('wb'))
      let maxPending = 0
      const writes = []
      for (let i = 0; i < 1000; i += 1) {
        writes.push(s.messages.upsert({ id: `m${i}`, threadJid: 't@g.us', fromMe: true, timestampMs: i }))
        maxPending = Math.max(maxPending, st.stats().writeBehind.pendingKeys)
      }
      await Promise.all(writes)
      assert.ok(maxPending <= 100, `held ${maxPending} keys`)
      assert.ok(await s.messages.getById('m999'), 'read-your-writes')
      await s.threads.upsert({ jid: 't@g.us', name: 'n' })
      await s.threads.upsert({ jid: 't@g.us', unreadCount: 3 })
      assert.deepEqual(await s.threads.getByJid('t@g.us'), { jid: 't@g.us', name: 'n', unreadCount: 3 })
      const page = await s.messages.listByThread('t@g.us', 1000)
      assert.equal(page.length, 1000, 'every queued write landed')
      assert.equal((await s.flush()).remaining, 0)
      assert.equal(st.stats().writeBehind.rejected, 0)
    })

    it('signalCache: false and writeBehind: false go straight to the backend', async () => {
      const { store: st } = store({ signalCache: false, writeBehind: false })
      const s = st.session(uid('off'))
      await s.session.setSession(addr('a'), { v: 1 })
      assert.deepEqual(await s.session.getSession(addr('a')), { v: 1 })
      await s.messages.upsert({ id: 'm', threadJid: 't', fromMe: false, timestampMs: 1 })
      const stats = st.stats()
      assert.equal(stats.signalCache.hits + stats.signalCache.misses, 0)
      assert.equal(stats.writeBehind.batches, 0)
    })

    it('destroy() writes what is pending first', async () => {
      const { store: st, target } = store({ signalCache: { durability: 'deferred', flushWindowMs: 60_000 } })
      const id = uid('destroy')
      const s = st.session(id)
      await s.session.setSession(addr('z'), { v: 'kept' })
      await s.messages.upsert({ id: 'kept', threadJid: 't', fromMe: true, timestampMs: 1 })
      await st.destroy()
      if (target.reopen) {
        const other = createStore(target.reopen().options)
        open.push(other)
        const s2 = other.session(id)
        assert.deepEqual(await s2.session.getSession(addr('z')), { v: 'kept' })
        assert.ok(await s2.messages.getById('kept'))
      }
      await rejectsCode(() => s.flush(), 'STORE_CLOSED')
    })
  })
}

describe('signalCache / writeBehind options', () => {
  const memory = () => require('..').createSqliteStore({ path: ':memory:' })
  it('rejects bad values, naming the field', () => {
    throwsCode(() => createStore(storeOptions(memory(), { signalCache: { durability: 'later' } })), 'STORE_INVALID_CONFIG', 'signalCache.durability')
    throwsCode(() => createStore(storeOptions(memory(), { signalCache: { flushWindowMs: 0 } })), 'STORE_INVALID_CONFIG', 'signalCache.flushWindowMs')
    throwsCode(() => createStore(storeOptions(memory(), { signalCache: { bogus: 1 } })), 'STORE_INVALID_CONFIG', 'signalCache.bogus')
    throwsCode(() => createStore(storeOptions(memory(), { signalCache: 'yes' })), 'STORE_INVALID_CONFIG', 'signalCache')
    throwsCode(() => createStore(storeOptions(memory(), { writeBehind: { maxPendingKeys: -1 } })), 'STORE_INVALID_CONFIG', 'writeBehind.maxPendingKeys')
    throwsCode(() => createStore(storeOptions(memory(), { writeBehind: { maxBatch: 5 } })), 'STORE_INVALID_CONFIG', 'writeBehind.maxBatch')
  })

  it('flush() validates its timeout', async () => {
    const st = createStore(storeOptions(memory()))
    await rejectsCode(() => st.session('x').flush(-1), 'STORE_INVALID_ARGUMENT', 'timeoutMs')
    await st.destroy()
  })
})
