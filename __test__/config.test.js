'use strict'
// createStore / createSqliteStore / createMemoryStore option validation, provider
// routing ('memory', 'none', defaults) and memory limits.
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { describe, it, before, after } = require('node:test')

const { createStore, createSqliteStore, createMemoryStore } = require('..')
const { throwsCode, rejectsCode, uid, u8, addr } = require('./helpers/util')
const { PERSISTENT_DOMAINS, CACHE_DOMAINS, allProviders, allCacheProviders } = require('./helpers/backends')

const CONFIG = 'STORE_INVALID_CONFIG'
const stores = []
const track = (store) => (stores.push(store), store)
let dir

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wastore-config-'))
})
after(async () => {
  await Promise.allSettled(stores.map((s) => s.destroy()))
  fs.rmSync(dir, { recursive: true, force: true })
})

const TTL_NAMES = ['retryMs', 'groupMetadataMs', 'chatMetadataMs', 'deviceListMs', 'messageSecretMs']
const LIMIT_NAMES = [
  'appStateSyncKeys',
  'appStateCollectionEntries',
  'signalPreKeys',
  'signalSessions',
  'signalRemoteIdentities',
  'senderKeys',
  'senderDistributions',
  'groupMetadataGroups',
  'chatMetadataChats',
  'deviceListUsers',
  'messages',
  'threads',
  'contacts',
  'messageSecrets',
  'privacyTokens',
  'retryOutboundMessages',
  'retryInboundCounters'
]
const BAD_POSITIVE = [0, -1, 1.5, NaN, Infinity, 2 ** 53, '10', true, {}]

describe('createStore options', () => {
  it('accepts no options, {} and undefined', () => {
    track(createStore())
    track(createStore({}))
    track(createStore(undefined))
  })

  it('rejects options that are not an object', () => {
    for (const bad of [42, 'options', true, [], () => ({})]) throwsCode(() => createStore(bad), CONFIG)
  })

  it('backends must be wastore backends; the error names backends.<name>', () => {
    for (const bad of [{}, 42, 'sqlite', { stores: {}, caches: {} }, null]) {
      throwsCode(() => createStore({ backends: { mine: bad }, providers: allProviders('mine') }), CONFIG, 'backends.mine')
    }
    throwsCode(() => createStore({ backends: 42 }), CONFIG, 'backends')
  })

  it("backend names 'memory' and 'none' are reserved", () => {
    for (const name of ['memory', 'none']) {
      const backend = createMemoryStore()
      throwsCode(() => createStore({ backends: { [name]: backend }, providers: allProviders('memory') }), CONFIG, `backends.${name}`)
    }
  })

  it('with backends, every one of the 11 providers is required; the error lists each missing one', () => {
    const backend = createMemoryStore()
    assert.throws(
      () => createStore({ backends: { m: backend }, providers: { auth: 'm' } }),
      (err) => {
        assert.equal(err.code, CONFIG)
        for (const d of PERSISTENT_DOMAINS.filter((x) => x !== 'auth')) assert.ok(err.message.includes(`providers.${d}`), `mentions providers.${d}: ${err.message}`)
        assert.ok(!/providers\.auth\b/.test(err.message), 'does not list the provider that is present')
        return true
      }
    )
    throwsCode(() => createStore({ backends: { m: backend } }), CONFIG, ...PERSISTENT_DOMAINS.map((d) => `providers.${d}`))
    for (const missing of PERSISTENT_DOMAINS) {
      const providers = allProviders('m')
      delete providers[missing]
      throwsCode(() => createStore({ backends: { m: backend }, providers }), CONFIG, `providers.${missing}`)
    }
    track(createStore({ backends: { m: backend }, providers: allProviders('m') }))
  })

  it('a provider naming an unknown backend is rejected, naming the domain', () => {
    throwsCode(() => createStore({ providers: { auth: 'pg' } }), CONFIG, 'providers.auth')
    const backend = createMemoryStore()
    throwsCode(() => createStore({ backends: { m: backend }, providers: { ...allProviders('m'), contacts: 'mongo' } }), CONFIG, 'providers.contacts')
    throwsCode(() => createStore({ cacheProviders: { retry: 'redis' } }), CONFIG, 'cacheProviders.retry')
  })

  it('unknown domain keys and non-string providers are rejected', () => {
    throwsCode(() => createStore({ providers: { bogus: 'memory' } }), CONFIG, 'bogus')
    throwsCode(() => createStore({ providers: { retry: 'memory' } }), CONFIG, 'retry')
    throwsCode(() => createStore({ cacheProviders: { auth: 'memory' } }), CONFIG, 'auth')
    throwsCode(() => createStore({ providers: { auth: 42 } }), CONFIG, 'providers.auth')
    throwsCode(() => createStore({ providers: 'memory' }), CONFIG, 'providers')
    throwsCode(() => createStore({ cacheProviders: { deviceList: {} } }), CONFIG, 'cacheProviders.deviceList')
  })

  it('memory.limits.<name> must be a positive integer; the error names the field', () => {
    for (const name of LIMIT_NAMES) {
      track(createStore({ memory: { limits: { [name]: 5 } } }))
      for (const bad of BAD_POSITIVE) throwsCode(() => createStore({ memory: { limits: { [name]: bad } } }), CONFIG, `memory.limits.${name}`)
    }
    throwsCode(() => createStore({ memory: 5 }), CONFIG, 'memory')
    throwsCode(() => createStore({ memory: { limits: 5 } }), CONFIG, 'memory.limits')
  })

  it('memory.cacheTtlMs.<name> must be a positive integer; the error names the field', () => {
    for (const name of TTL_NAMES) {
      track(createStore({ memory: { cacheTtlMs: { [name]: 1000 } } }))
      for (const bad of BAD_POSITIVE) throwsCode(() => createStore({ memory: { cacheTtlMs: { [name]: bad } } }), CONFIG, `memory.cacheTtlMs.${name}`)
    }
    throwsCode(() => createStore({ memory: { cacheTtlMs: 'fast' } }), CONFIG, 'memory.cacheTtlMs')
  })

  it('cacheLayer flags must be booleans and its limits positive integers', () => {
    const backend = createMemoryStore()
    track(createStore({ backends: { m: backend }, providers: allProviders('m'), cacheLayer: { session: true, identity: true, senderKey: false, privacyToken: true } }))
    for (const flag of ['session', 'identity', 'senderKey', 'privacyToken']) {
      throwsCode(() => createStore({ cacheLayer: { [flag]: 'yes' } }), CONFIG, `cacheLayer.${flag}`)
      throwsCode(() => createStore({ cacheLayer: { limits: { [flag]: 0 } } }), CONFIG, `cacheLayer.limits.${flag}`)
    }
    throwsCode(() => createStore({ cacheLayer: 1 }), CONFIG, 'cacheLayer')
  })

  it('logger must be an object', () => {
    const calls = []
    const logger = { trace() {}, debug() {}, info() {}, warn: (...a) => calls.push(a), error() {}, child() { return logger } }
    track(createStore({ logger }))
    track(createStore({ logger: {} }))
    for (const bad of [42, 'console', true]) throwsCode(() => createStore({ logger: bad }), CONFIG, 'logger')
  })
})

describe('provider routing', () => {
  it('defaults (no backends): persistent domains in memory, mailbox domains are no-ops', async () => {
    const s = track(createStore()).session(uid('defaults'))
    await s.auth.save({ a: 1 })
    assert.deepStrictEqual(await s.auth.load(), { a: 1 })
    await s.session.setSession(addr('a', 0), { k: 1 })
    assert.deepStrictEqual(await s.session.getSession(addr('a', 0)), { k: 1 })
    await s.messages.upsert({ id: 'm', threadJid: 't', fromMe: true, timestampMs: 1 })
    assert.equal(await s.messages.getById('m'), null)
    assert.deepEqual(await s.messages.listByThread('t'), [])
    await s.threads.upsert({ jid: 't', name: 'x' })
    assert.equal(await s.threads.getByJid('t'), null)
    await s.contacts.upsert({ jid: 'c', lastUpdatedMs: 1 })
    assert.equal(await s.contacts.getByJid('c'), null)
    const now = Date.now()
    await s.groupMetadata.upsertGroupMetadata({ groupJid: 'g', participants: [], updatedAtMs: now })
    assert.ok(await s.groupMetadata.getGroupMetadata('g', now), 'caches default to memory')
  })

  it("'none' on a mailbox domain is a no-op store; on other domains it means memory", async () => {
    const backend = createMemoryStore()
    const providers = { ...allProviders('none') }
    const s = track(createStore({ backends: { m: backend }, providers })).session(uid('none'))
    await s.auth.save({ a: 1 })
    assert.deepStrictEqual(await s.auth.load(), { a: 1 })
    await s.privacyToken.upsert({ jid: 'j', tcToken: u8(1), updatedAtMs: 1 })
    assert.ok(await s.privacyToken.getByJid('j'))
    await s.messages.upsertBatch([{ id: 'm', threadJid: 't', fromMe: true }])
    assert.equal(await s.messages.getById('m'), null)
    assert.equal(await s.messages.deleteById('m'), 0)
    await s.threads.upsertBatch([{ jid: 't' }])
    assert.deepEqual(await s.threads.list(), [])
    assert.equal(await s.threads.deleteByJid('t'), 0)
    await s.contacts.upsertBatch([{ jid: 'c', lastUpdatedMs: 1 }])
    assert.equal(await s.contacts.getByPhoneNumber('c'), null)
    assert.equal(await s.contacts.deleteByJid('c'), 0)
  })

  it("cacheProviders 'none' gives no-op caches", async () => {
    const s = track(createStore({ cacheProviders: allCacheProviders('none') })).session(uid('nocache'))
    const now = Date.now()
    await s.retry.upsertOutboundMessage({ messageId: 'r', toJid: 't', replayMode: 'plaintext', replayPayload: u8(1), state: 'pending', updatedAtMs: now, expiresAtMs: now + 1000 })
    assert.equal(await s.retry.getOutboundMessage('r'), null)
    assert.equal(await s.retry.getOutboundRequesterStatus('r', 'd'), null)
    assert.equal(await s.retry.deleteOutboundMessage('r'), 0)
    assert.equal(typeof (await s.retry.incrementInboundCounter('r', 'd', now, now + 1000)), 'number')
    await s.groupMetadata.upsertGroupMetadata({ groupJid: 'g', participants: [], updatedAtMs: now })
    assert.equal(await s.groupMetadata.getGroupMetadata('g', now), null)
    await s.chatMetadata.upsertChatMetadata({ chatJid: 'c', updatedAtMs: now })
    assert.equal(await s.chatMetadata.getChatMetadata('c', now), null)
    await s.deviceList.upsertUserDevicesBatch([{ userJid: 'u', deviceJids: [], updatedAtMs: now }])
    assert.deepEqual(await s.deviceList.getUserDevicesBatch(['u', 'v'], now), [null, null])
    assert.equal(await s.deviceList.findByAnyUserJid('u', now), null)
    await s.messageSecret.set('m', { secret: u8(1), senderJid: 'x' })
    assert.equal(await s.messageSecret.get('m', now), null)
    assert.deepEqual(await s.messageSecret.getBatch(['m', 'n'], now), [null, null])
    for (const name of CACHE_DOMAINS) {
      assert.equal(await s[name].cleanupExpired(now + 10_000_000), 0, `${name}.cleanupExpired`)
      await s[name].clear()
    }
  })

  it('domains can be split between backends and memory', async () => {
    const sqlite = createSqliteStore({ path: path.join(dir, 'split.sqlite') })
    const mem = createMemoryStore()
    const providers = { ...allProviders('db'), session: 'mem', contacts: 'memory', threads: 'none' }
    const store = track(createStore({ backends: { db: sqlite, mem }, providers, cacheProviders: { retry: 'db', messageSecret: 'mem' } }))
    const id = uid('split')
    const s = store.session(id)
    await s.auth.save({ where: 'sqlite' })
    await s.session.setSession(addr('a', 0), { where: 'mem' })
    await s.contacts.upsert({ jid: 'c', lastUpdatedMs: 1 })
    await s.threads.upsert({ jid: 't' })
    assert.deepStrictEqual(await sqlite.stores.auth(id).load(), { where: 'sqlite' })
    assert.deepStrictEqual(await mem.stores.session(id).getSession(addr('a', 0)), { where: 'mem' })
    assert.equal(await sqlite.stores.session(id).getSession(addr('a', 0)), null)
    assert.ok(await s.contacts.getByJid('c'))
    assert.equal(await sqlite.stores.contacts(id).getByJid('c'), null)
    assert.equal(await s.threads.getByJid('t'), null)
    assert.equal(await s.retry.incrementInboundCounter('m', 'r', 1, Date.now() + 60_000), 1)
    assert.equal(await sqlite.caches.retry(id).incrementInboundCounter('m', 'r', 1, Date.now() + 60_000), 2)
  })

  it('cacheLayer on durable domains does not change what is read back', async () => {
    const sqlite = createSqliteStore({ path: path.join(dir, 'cachelayer.sqlite') })
    const store = track(
      createStore({
        backends: { db: sqlite },
        providers: allProviders('db'),
        cacheLayer: { session: true, identity: true, senderKey: true, privacyToken: true, limits: { session: 2, identity: 2, senderKey: 2, privacyToken: 2 } }
      })
    )
    const s = store.session(uid('layer'))
    for (let i = 0; i < 5; i += 1) {
      await s.session.setSession(addr(`u${i}`, 0), { i })
      await s.identity.setRemoteIdentity(addr(`u${i}`, 0), u8(i))
      await s.privacyToken.upsert({ jid: `j${i}`, tcToken: u8(i), updatedAtMs: i })
      await s.senderKey.upsertSenderKey({ groupId: 'g', sender: addr(`u${i}`, 0), i })
    }
    await s.privacyToken.upsert({ jid: 'j0', nctSalt: u8(9), updatedAtMs: 10 })
    for (let i = 0; i < 5; i += 1) {
      assert.deepStrictEqual(await s.session.getSession(addr(`u${i}`, 0)), { i })
      assert.deepEqual([...(await s.identity.getRemoteIdentity(addr(`u${i}`, 0)))], [i])
      assert.deepStrictEqual(await s.senderKey.getDeviceSenderKey('g', addr(`u${i}`, 0)), { groupId: 'g', sender: addr(`u${i}`, 0), i })
    }
    const merged = await s.privacyToken.getByJid('j0')
    assert.deepEqual([...merged.tcToken], [0])
    assert.deepEqual([...merged.nctSalt], [9])
    await s.session.deleteSession(addr('u1', 0))
    assert.equal(await s.session.getSession(addr('u1', 0)), null, 'delete is not hidden by the cache layer')
    assert.equal(await s.senderKey.deleteDeviceSenderKey(addr('u2', 0)), 1)
    assert.equal(await s.senderKey.getDeviceSenderKey('g', addr('u2', 0)), null)
    await s.identity.clear()
    assert.equal(await s.identity.getRemoteIdentity(addr('u3', 0)), null, 'clear is not hidden by the cache layer')
  })
})

describe('default cache TTLs (memory)', () => {
  it('retry 60000, groupMetadata 300000, chatMetadata 1800000, deviceList 300000, messageSecret 1800000', async () => {
    const s = track(createStore()).session(uid('ttl'))
    assert.equal(s.retry.getTtlMs(), 60_000)
    await s.groupMetadata.upsertGroupMetadata({ groupJid: 'g', participants: [], updatedAtMs: 0 })
    assert.ok(await s.groupMetadata.getGroupMetadata('g', 299_999))
    assert.equal(await s.groupMetadata.getGroupMetadata('g', 300_000), null)
    await s.chatMetadata.upsertChatMetadata({ chatJid: 'c', updatedAtMs: 0 })
    assert.ok(await s.chatMetadata.getChatMetadata('c', 1_799_999))
    assert.equal(await s.chatMetadata.getChatMetadata('c', 1_800_000), null)
    await s.deviceList.upsertUserDevicesBatch([{ userJid: 'u', deviceJids: [], updatedAtMs: 0 }])
    assert.ok(await s.deviceList.findByAnyUserJid('u', 299_999))
    assert.equal(await s.deviceList.findByAnyUserJid('u', 300_000), null)
    const t0 = Date.now()
    await s.messageSecret.set('m', { secret: u8(1), senderJid: 'x' })
    const t1 = Date.now()
    assert.ok(await s.messageSecret.get('m', t0 + 1_800_000 - 1))
    assert.equal(await s.messageSecret.get('m', t1 + 1_800_000), null)
  })
})

describe('memory limits', () => {
  it('memory.limits caps entries per session, evicting the oldest write first', async () => {
    const store = track(createStore({ providers: { messages: 'memory', threads: 'memory', contacts: 'memory' }, memory: { limits: { messages: 3, signalSessions: 2, threads: 2 } } }))
    const s = store.session(uid('limits'))
    for (let i = 1; i <= 5; i += 1) await s.messages.upsert({ id: `m${i}`, threadJid: 't', fromMe: true, timestampMs: i })
    assert.deepEqual((await s.messages.listByThread('t')).map((m) => m.id), ['m5', 'm4', 'm3'])
    assert.equal(await s.messages.getById('m1'), null)
    for (let i = 1; i <= 3; i += 1) await s.session.setSession(addr(`u${i}`, 0), { i })
    assert.deepEqual(await s.session.hasSessions([addr('u1', 0), addr('u2', 0), addr('u3', 0)]), [false, true, true])
    const other = store.session(uid('limits-other'))
    await other.session.setSession(addr('x', 0), { x: 1 })
    assert.ok(await s.session.hasSession(addr('u2', 0)), 'the limit is per session')
  })

  it('createMemoryStore limits apply to the backend', async () => {
    const backend = createMemoryStore({ limits: { threads: 2 } })
    const s = track(createStore({ backends: { m: backend }, providers: allProviders('m') })).session(uid('mlimit'))
    await s.threads.upsertBatch([{ jid: 'a' }, { jid: 'b' }, { jid: 'c' }])
    assert.equal((await s.threads.list()).length, 2)
    assert.equal(await s.threads.getByJid('a'), null)
  })
})

describe('createMemoryStore options', () => {
  it('kind is memory; bad limits / TTLs are rejected naming the field', async () => {
    const backend = createMemoryStore()
    assert.equal(backend.kind, 'memory')
    await backend.destroy()
    for (const name of LIMIT_NAMES) throwsCode(() => createMemoryStore({ limits: { [name]: 0 } }), CONFIG, `limits.${name}`)
    for (const name of TTL_NAMES) throwsCode(() => createMemoryStore({ cacheTtlMs: { [name]: -1 } }), CONFIG, `cacheTtlMs.${name}`)
    throwsCode(() => createMemoryStore(7), CONFIG)
  })

  it('cacheTtlMs is honoured', async () => {
    const backend = createMemoryStore({ cacheTtlMs: { retryMs: 1234, groupMetadataMs: 10 } })
    assert.equal(backend.caches.retry('x').getTtlMs(), 1234)
    const gm = backend.caches.groupMetadata('x')
    await gm.upsertGroupMetadata({ groupJid: 'g', participants: [], updatedAtMs: 100 })
    assert.ok(await gm.getGroupMetadata('g', 109))
    assert.equal(await gm.getGroupMetadata('g', 110), null)
    await backend.destroy()
  })
})

describe('createSqliteStore options', () => {
  it('kind is sqlite and the store works', async () => {
    const backend = createSqliteStore({ path: path.join(dir, 'kind.sqlite') })
    assert.equal(backend.kind, 'sqlite')
    await backend.stores.auth('a').save({ ok: true })
    assert.deepStrictEqual(await backend.stores.auth('a').load(), { ok: true })
    await backend.destroy()
  })

  it('path is required and must be a non-empty string', () => {
    throwsCode(() => createSqliteStore(), CONFIG, 'path')
    throwsCode(() => createSqliteStore({}), CONFIG, 'path')
    throwsCode(() => createSqliteStore({ path: 42 }), CONFIG, 'path')
    throwsCode(() => createSqliteStore({ path: '' }), CONFIG, 'path')
    throwsCode(() => createSqliteStore('db.sqlite'), CONFIG)
  })

  it('pragmas: bad values and hostile names are rejected naming the pragma', () => {
    const file = path.join(dir, 'pragmas.sqlite')
    throwsCode(() => createSqliteStore({ path: file, pragmas: 5 }), CONFIG, 'pragmas')
    throwsCode(() => createSqliteStore({ path: file, pragmas: { journal_mode: {} } }), CONFIG, 'pragmas.journal_mode')
    throwsCode(() => createSqliteStore({ path: file, pragmas: { synchronous: true } }), CONFIG, 'pragmas.synchronous')
    throwsCode(() => createSqliteStore({ path: file, pragmas: { 'x; DROP TABLE y': 1 } }), CONFIG, 'pragmas.')
    throwsCode(() => createSqliteStore({ path: file, pragmas: { journal_mode: "WAL; DROP TABLE auth; --" } }), CONFIG, 'pragmas.journal_mode')
  })

  it('tableNames: non-identifier and injection names are rejected naming the table', () => {
    const file = path.join(dir, 'tables.sqlite')
    throwsCode(() => createSqliteStore({ path: file, tableNames: 'x' }), CONFIG, 'tableNames')
    for (const bad of ['auth-credentials', '1abc', '', 'x"; DROP TABLE y; --', 'a'.repeat(200), 5]) {
      throwsCode(() => createSqliteStore({ path: file, tableNames: { auth_credentials: bad } }), CONFIG, 'tableNames.auth_credentials')
    }
  })

  it('cacheTtlMs: bad values are rejected naming the field; good ones are honoured', async () => {
    const file = path.join(dir, 'ttl.sqlite')
    for (const name of TTL_NAMES) {
      for (const bad of [0, -5, 2.5, 'x']) throwsCode(() => createSqliteStore({ path: file, cacheTtlMs: { [name]: bad } }), CONFIG, `cacheTtlMs.${name}`)
    }
    const backend = createSqliteStore({ path: file, cacheTtlMs: { retryMs: 4321, chatMetadataMs: 50 } })
    assert.equal(backend.caches.retry('s').getTtlMs(), 4321)
    const chat = backend.caches.chatMetadata('s')
    await chat.upsertChatMetadata({ chatJid: 'c', updatedAtMs: 1000 })
    assert.ok(await chat.getChatMetadata('c', 1049))
    assert.equal(await chat.getChatMetadata('c', 1050), null)
    await backend.destroy()
  })

  it('connects lazily: an unopenable path fails on the first call with STORE_CONNECTION_FAILED', async () => {
    const notADir = path.join(dir, 'plain-file')
    fs.writeFileSync(notADir, 'x')
    const backend = createSqliteStore({ path: path.join(notADir, 'x.sqlite') })
    await rejectsCode(() => backend.stores.auth('a').load(), 'STORE_CONNECTION_FAILED')
    const store = track(createStore({ backends: { db: createSqliteStore({ path: dir }) }, providers: allProviders('db') }))
    await rejectsCode(() => store.session('a').auth.load(), 'STORE_CONNECTION_FAILED')
    await backend.destroy().catch(() => {})
  })

  it('a file that is not a SQLite database is reported, not crashed on', async () => {
    const file = path.join(dir, 'garbage.sqlite')
    fs.writeFileSync(file, Buffer.alloc(8192, 0x5a))
    const backend = createSqliteStore({ path: file })
    await assert.rejects(backend.stores.auth('a').load(), (err) => {
      assert.ok(['STORE_CONNECTION_FAILED', 'STORE_CORRUPTED', 'STORE_READ_FAILED'].includes(err.code), `code ${err.code}: ${err.message}`)
      return true
    })
    await backend.destroy().catch(() => {})
  })

  it('two backends on one file see each other\'s writes (WAL-safe sharing within a process)', async () => {
    const file = path.join(dir, 'shared.sqlite')
    const a = createSqliteStore({ path: file })
    const b = createSqliteStore({ path: file })
    await a.stores.auth('tenant').save({ from: 'a' })
    assert.deepStrictEqual(await b.stores.auth('tenant').load(), { from: 'a' })
    await Promise.all([a.destroy(), b.destroy()])
  })
})
