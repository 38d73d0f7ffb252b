'use strict'
// Store / session / backend lifecycle: memoization, destroy, destroyCaches, STORE_CLOSED.
const assert = require('node:assert/strict')
const { describe, it } = require('node:test')
const { addr, uid, credentials, rejectsCode, throwsCode } = require('../helpers/util')
const { PERSISTENT_DOMAINS, CACHE_DOMAINS } = require('../helpers/backends')

/** One read per domain, to probe whether a domain object is still open. */
const PROBES = {
  auth: (d) => d.load(),
  signal: (d) => d.getRegistrationInfo(),
  preKey: (d) => d.getServerHasPreKeys(),
  session: (d) => d.hasSession(addr('a', 0)),
  identity: (d) => d.getRemoteIdentity(addr('a', 0)),
  senderKey: (d) => d.getDeviceSenderKey('g@g.us', addr('a', 0)),
  appState: (d) => d.exportData(),
  privacyToken: (d) => d.getByJid('a@s.whatsapp.net'),
  messages: (d) => d.getById('a'),
  threads: (d) => d.getByJid('a@s.whatsapp.net'),
  contacts: (d) => d.getByJid('a@s.whatsapp.net'),
  retry: (d) => d.getOutboundMessage('a'),
  groupMetadata: (d) => d.getGroupMetadata('g@g.us', 1),
  chatMetadata: (d) => d.getChatMetadata('c@lid', 1),
  deviceList: (d) => d.findByAnyUserJid('u@s.whatsapp.net', 1),
  messageSecret: (d) => d.get('m', 1)
}
const ALL_DOMAINS = [...PERSISTENT_DOMAINS, ...CACHE_DOMAINS]

/** Writes one entry in every cache domain. */
async function fillCaches(s) {
  const now = Date.now()
  await s.retry.upsertOutboundMessage({
    messageId: 'r',
    toJid: 't@s.whatsapp.net',
    replayMode: 'opaque_node',
    replayPayload: new Uint8Array([1]),
    state: 'pending',
    updatedAtMs: now,
    expiresAtMs: now + 60_000
  })
  await s.groupMetadata.upsertGroupMetadata({ groupJid: 'g@g.us', participants: ['a@s.whatsapp.net'], updatedAtMs: now })
  await s.chatMetadata.upsertChatMetadata({ chatJid: 'c@lid', ephemeralExpiration: 1, updatedAtMs: now })
  await s.deviceList.upsertUserDevicesBatch([{ userJid: 'u@s.whatsapp.net', deviceJids: ['u@s.whatsapp.net'], updatedAtMs: now }])
  await s.messageSecret.set('m', { secret: new Uint8Array([9]), senderJid: 'x@s.whatsapp.net' })
}

async function assertCachesEmpty(s) {
  const now = Date.now()
  assert.equal(await s.retry.getOutboundMessage('r'), null, 'retry')
  assert.equal(await s.groupMetadata.getGroupMetadata('g@g.us', now), null, 'groupMetadata')
  assert.equal(await s.chatMetadata.getChatMetadata('c@lid', now), null, 'chatMetadata')
  assert.equal(await s.deviceList.findByAnyUserJid('u@s.whatsapp.net', now), null, 'deviceList')
  assert.equal(await s.messageSecret.get('m', now), null, 'messageSecret')
}

module.exports = (h) => {
  describe('lifecycle', () => {
    it('store.session() is memoized per trimmed id', async () => {
      const { store } = h.open()
      const id = uid('memo')
      const a = store.session(id)
      assert.equal(store.session(id), a)
      assert.equal(store.session(`  ${id}\t`), a)
      assert.equal(a.sessionId, id)
      assert.equal(store.session(` ${id} `).sessionId, id)
      assert.notEqual(store.session(`${id}-other`), a)
    })

    it('store.session() with an empty, blank or non-string id throws STORE_INVALID_ARGUMENT', async () => {
      const { store } = h.open()
      for (const bad of ['', '   ', '\t\n']) throwsCode(() => store.session(bad), 'STORE_INVALID_ARGUMENT')
      for (const bad of [42, undefined, null, {}, ['a']]) {
        await rejectsCode(() => store.session(bad), 'STORE_INVALID_ARGUMENT')
      }
    })

    it('every domain getter returns the same object on each access', async () => {
      const { s } = h.open()
      for (const name of ALL_DOMAINS) {
        const first = s[name]
        assert.ok(first && typeof first === 'object', `${name} is an object`)
        assert.equal(s[name], first, `${name} is stable`)
        assert.equal(typeof first.destroy, 'function', `${name} has destroy()`)
      }
    })

    it('session.destroy(): same promise on repeat, un-memoized at once, old objects reject STORE_CLOSED', async () => {
      const { store } = h.open()
      const id = uid('destroy')
      const old = store.session(id)
      const domains = Object.fromEntries(ALL_DOMAINS.map((name) => [name, old[name]]))
      const p1 = old.destroy()
      const p2 = old.destroy()
      assert.equal(p1, p2, 'destroy() returns the same promise')
      const fresh = store.session(id)
      assert.notEqual(fresh, old, 'a new bundle right after destroy() was called')
      await p1
      for (const name of ALL_DOMAINS) {
        await rejectsCode(() => PROBES[name](domains[name]), 'STORE_CLOSED')
      }
      await rejectsCode(() => domains.auth.save(credentials(1)), 'STORE_CLOSED')
      await rejectsCode(() => domains.messages.upsert({ id: 'x', threadJid: 't', fromMe: true }), 'STORE_CLOSED')
      for (const name of ALL_DOMAINS) await PROBES[name](fresh[name])
      assert.equal(store.session(id), fresh)
    })

    it('a bundle created while the old one is being destroyed is not affected by that destroy', async () => {
      const { store } = h.open()
      const id = uid('race')
      const old = store.session(id)
      const pending = old.destroy()
      const fresh = store.session(id)
      await fresh.auth.save(credentials(5))
      await fresh.messages.upsert({ id: 'm', threadJid: 't@s.whatsapp.net', fromMe: true, timestampMs: 1 })
      await pending
      assert.deepStrictEqual(await fresh.auth.load(), credentials(5))
      assert.ok(await fresh.messages.getById('m'))
    })

    it(h.persistent ? 'session.destroy() keeps persistent data (durable backend)' : 'session.destroy() drops the session\'s data (memory)', async () => {
      const { store } = h.open()
      const id = uid('keep')
      const s = store.session(id)
      await s.auth.save(credentials(2))
      await s.messages.upsert({ id: 'm1', threadJid: 't@s.whatsapp.net', fromMe: true, timestampMs: 1 })
      await s.session.setSession(addr('a', 0), { k: 1 })
      await s.destroy()
      const again = store.session(id)
      if (h.persistent) {
        assert.deepStrictEqual(await again.auth.load(), credentials(2))
        assert.ok(await again.messages.getById('m1'))
        assert.deepStrictEqual(await again.session.getSession(addr('a', 0)), { k: 1 })
      } else {
        assert.equal(await again.auth.load(), null)
        assert.equal(await again.messages.getById('m1'), null)
        assert.equal(await again.session.getSession(addr('a', 0)), null)
      }
    })

    it('session.destroy() clears the session\'s caches, on every backend', async () => {
      const { store } = h.open()
      const id = uid('caches')
      await fillCaches(store.session(id))
      await store.session(id).destroy()
      await assertCachesEmpty(store.session(id))
    })

    it('destroying one session leaves the other sessions working', async () => {
      const { store } = h.open()
      const a = store.session(uid('a'))
      const b = store.session(uid('b'))
      await b.auth.save(credentials(3))
      await b.deviceList.upsertUserDevicesBatch([{ userJid: 'u@s.whatsapp.net', deviceJids: [], updatedAtMs: Date.now() }])
      await a.destroy()
      assert.deepStrictEqual(await b.auth.load(), credentials(3))
      assert.ok(await b.deviceList.findByAnyUserJid('u@s.whatsapp.net'))
    })

    it('destroyCaches(): fresh empty cache objects, old ones reject STORE_CLOSED, persistent data untouched', async () => {
      const { s } = h.open()
      await s.auth.save(credentials(4))
      await fillCaches(s)
      const old = Object.fromEntries(CACHE_DOMAINS.map((name) => [name, s[name]]))
      const persistent = Object.fromEntries(PERSISTENT_DOMAINS.map((name) => [name, s[name]]))
      await s.destroyCaches()
      for (const name of CACHE_DOMAINS) {
        assert.notEqual(s[name], old[name], `${name} is a new object`)
        assert.equal(s[name], s[name], `${name} getter is stable again`)
        await rejectsCode(() => PROBES[name](old[name]), 'STORE_CLOSED')
      }
      for (const name of PERSISTENT_DOMAINS) assert.equal(s[name], persistent[name], `${name} unchanged`)
      await assertCachesEmpty(s)
      assert.deepStrictEqual(await s.auth.load(), credentials(4))
      await s.retry.incrementInboundCounter('x', 'y', 1, Date.now() + 60_000)
    })

    it('store.destroy(): idempotent; session() and old objects then fail with STORE_CLOSED', async () => {
      const { store, s } = h.open()
      await s.auth.save(credentials(1))
      const auth = s.auth
      const retry = s.retry
      await Promise.all([store.destroy(), store.destroy()])
      await store.destroy()
      throwsCode(() => store.session('anything'), 'STORE_CLOSED')
      await rejectsCode(() => auth.load(), 'STORE_CLOSED')
      await rejectsCode(() => retry.getOutboundMessage('x'), 'STORE_CLOSED')
    })

    it('store.destroy() also destroys the backends it was given', async (t) => {
      const { store, target } = h.open()
      if (!target.backend) return t.skip('no backend object for this factory')
      await store.destroy()
      await rejectsCode(() => target.backend.stores.auth(uid('x')).load(), 'STORE_CLOSED')
      await rejectsCode(() => target.backend.caches.retry(uid('x')).getOutboundMessage('m'), 'STORE_CLOSED')
    })
  })

  describe('backend object', () => {
    it('kind, stores and caches; the factories work detached and share data with the store', async (t) => {
      const { store, target, sessionId } = h.open()
      const backend = target.backend
      if (!backend) return t.skip('no backend object for this factory')
      assert.equal(backend.kind, h.factory.kind)
      for (const name of PERSISTENT_DOMAINS) assert.equal(typeof backend.stores[name], 'function', `stores.${name}`)
      for (const name of CACHE_DOMAINS) assert.equal(typeof backend.caches[name], 'function', `caches.${name}`)
      const makeAuth = backend.stores.auth
      const auth = makeAuth(sessionId)
      await store.session(sessionId).auth.save(credentials(6))
      assert.deepStrictEqual(await auth.load(), credentials(6))
      const makeRetry = backend.caches.retry
      const retry = makeRetry(sessionId)
      assert.equal(await retry.incrementInboundCounter('m', 'r', 1, Date.now() + 60_000), 1)
      assert.equal(await store.session(sessionId).retry.incrementInboundCounter('m', 'r', 1, Date.now() + 60_000), 2)
    })

    it('backend.destroy() closes it: later calls reject STORE_CLOSED', async (t) => {
      const target = h.factory.make()
      const backend = target.backend
      if (!backend) return t.skip('no backend object for this factory')
      const auth = backend.stores.auth(uid('direct'))
      await auth.save({ a: 1 })
      await backend.destroy()
      await rejectsCode(() => auth.load(), 'STORE_CLOSED')
      await rejectsCode(() => backend.stores.messages(uid('x')).getById('m'), 'STORE_CLOSED')
      await backend.destroy()
    })
  })
}
