'use strict'
// The `keys` domain (native KeyStore, providers.keys, memory limits) and the
// Baileys adapter's own semantics, from CommonJS: creds lifecycle, clear,
// enumeration, argument errors, and the typings against Baileys' types.

const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { after, before, describe, it } = require('node:test')

const wastore = require('..')
const { allProviders } = require('./helpers/backends')
const { rejectsCode, throwsCode, uid } = require('./helpers/util')

const { createSqliteStore, createStore, useBaileysAuthState } = wastore
const ROOT = path.resolve(__dirname, '..')

let tmp
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wastore-baileys-adapter-'))
})
after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
})

describe('keys domain: native KeyStore', () => {
  it('get returns found ids only; set puts and deletes across types; list pages in byte order', async () => {
    const store = createStore()
    const keys = store.session(uid('k')).keys
    assert.ok(keys instanceof wastore.KeyStore)
    assert.equal(store.session('same').keys, store.session('same').keys, 'one object per session')
    const odd = ['__proto__', 'a/b+c=', '111_1.0', 'g@g.us::1::0', 'nul\u0000id', 'ünï 🙂', "q'\"%_*?[]"]
    await keys.set({ session: Object.fromEntries(odd.map((id, i) => [id, { i }])), 'pre-key': { 1: { n: 1 }, 2: null } })
    const got = await keys.get('session', [...odd, 'missing'])
    assert.deepEqual(Object.keys(got).sort(), [...odd].sort())
    assert.ok(Object.hasOwn(got, '__proto__') && Object.getPrototypeOf(got) === Object.prototype)
    assert.deepEqual(got.__proto__, { i: 0 })
    const sorted = [...odd].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    assert.deepEqual(await keys.listIds('session'), sorted)
    assert.deepEqual((await keys.list('session', { limit: 2 })).map(([id]) => id), sorted.slice(0, 2))
    assert.deepEqual(await keys.listIds('session', { after: sorted[4] }), sorted.slice(5))
    assert.deepEqual(await keys.types(), ['pre-key', 'session'])
    const withNulls = await keys.get('session', ['missing', odd[1], '__proto__'], { missing: 'null' })
    assert.deepEqual(Object.entries(withNulls), [['missing', null], [odd[1], { i: 1 }], ['__proto__', { i: 0 }]])
    assert.deepEqual(await keys.get('session', ['missing'], { missing: 'omit' }), {})
    await keys.set({ session: { [odd[0]]: undefined }, 'pre-key': undefined })
    assert.deepEqual(await keys.get('session', [odd[0]]), {})
    await keys.clear()
    assert.deepEqual(await keys.types(), [])
    await store.destroy()
    await rejectsCode(() => keys.get('session', ['x']), 'STORE_CLOSED')
  })

  it('bad arguments are STORE_INVALID_ARGUMENT naming the parameter', async () => {
    const store = createStore()
    const keys = store.session(uid('args')).keys
    await rejectsCode(() => keys.get('', ['1']), 'STORE_INVALID_ARGUMENT', 'type')
    await rejectsCode(() => keys.get('t'.repeat(256), ['1']), 'STORE_INVALID_ARGUMENT', 'type')
    await rejectsCode(() => keys.get(5, ['1']), 'STORE_INVALID_ARGUMENT', 'type')
    await rejectsCode(() => keys.get('session', 'x'), 'STORE_INVALID_ARGUMENT', 'ids')
    await rejectsCode(() => keys.get('session', ['ok', '']), 'STORE_INVALID_ARGUMENT', 'ids[1]')
    await rejectsCode(() => keys.get('session', ['x'.repeat(961)]), 'STORE_INVALID_ARGUMENT', 'ids[0]', '960')
    await rejectsCode(() => keys.set(null), 'STORE_INVALID_ARGUMENT', 'data')
    await rejectsCode(() => keys.set({ session: 5 }), 'STORE_INVALID_ARGUMENT', 'data["session"]')
    await rejectsCode(() => keys.set({ session: { a: Symbol('s') } }), 'STORE_INVALID_ARGUMENT', 'data["session"]["a"]')
    await rejectsCode(() => keys.set({ '': { a: 1 } }), 'STORE_INVALID_ARGUMENT', 'key type')
    await rejectsCode(() => keys.get('session', ['a'], { missing: 'undefined' }), 'STORE_INVALID_ARGUMENT', 'options.missing')
    await rejectsCode(() => keys.get('session', ['a'], 'null'), 'STORE_INVALID_ARGUMENT', 'options')
    await rejectsCode(() => keys.list('session', { limit: 1001 }), 'STORE_INVALID_ARGUMENT', 'options.limit')
    await rejectsCode(() => keys.list('session', { limit: 1.5 }), 'STORE_INVALID_ARGUMENT', 'options.limit')
    await rejectsCode(() => keys.listIds('session', { after: 3 }), 'STORE_INVALID_ARGUMENT', 'options.after')
    await store.destroy()
  })

  it('providers.keys: optional, follows session, validated, routed to its backend', async () => {
    const file = path.join(tmp, `${uid('route')}.sqlite`)
    const sqlite = createSqliteStore({ path: file })
    const sid = uid('r')
    // A zapo config without `keys`: the keys domain follows `session` to SQLite.
    const store = createStore({ backends: { sqlite }, providers: allProviders('sqlite') })
    await store.session(sid).keys.set({ session: { a: 1 } })
    assert.deepEqual(await sqlite.stores.keys(sid).get('session', ['a']), { a: 1 })
    // keys: 'memory' keeps them out of SQLite.
    const mem = createStore({ backends: { sqlite }, providers: { ...allProviders('sqlite'), keys: 'memory' } })
    await mem.session(sid).keys.set({ session: { b: 2 } })
    assert.deepEqual(await sqlite.stores.keys(sid).get('session', ['b']), {})
    // session in memory, keys in SQLite.
    const split = createStore({ backends: { sqlite }, providers: { ...allProviders('sqlite'), session: 'memory', keys: 'sqlite' } })
    await split.session(sid).keys.set({ session: { c: 3 } })
    assert.deepEqual(await sqlite.stores.keys(sid).get('session', ['c']), { c: 3 })
    throwsCode(() => createStore({ providers: { keys: 'pg' } }), 'STORE_INVALID_CONFIG', 'providers.keys')
    throwsCode(() => createStore({ cacheProviders: { keys: 'memory' } }), 'STORE_INVALID_CONFIG', 'cacheProviders.keys')
    for (const s of [store, mem, split]) await s.destroy()
  })

  it('memory: the keys of a destroyed session are dropped; adapterKeys caps entries per session', async () => {
    const store = createStore({ memory: { limits: { adapterKeys: 2 } } })
    const sid = uid('mem')
    const session = store.session(sid)
    await session.keys.set({ t: { 1: 1 } })
    await session.keys.set({ t: { 2: 2 } })
    await session.keys.set({ t: { 3: 3 } })
    assert.deepEqual(await session.keys.listIds('t'), ['2', '3'], 'oldest-written evicted')
    await session.destroy()
    assert.deepEqual(await store.session(sid).keys.types(), [])
    throwsCode(() => createStore({ memory: { limits: { adapterKeys: 0 } } }), 'STORE_INVALID_CONFIG', 'memory.limits.adapterKeys')
    await store.destroy()
  })
})

describe('useBaileysAuthState from CommonJS', () => {
  it('is exported by the package root, and by wastore/baileys', () => {
    assert.equal(typeof require('wastore').useBaileysAuthState, 'function')
    assert.equal(require('wastore/baileys').useBaileysAuthState, useBaileysAuthState)
    assert.equal(typeof wastore.importMultiFileAuthState, 'function')
  })

  it('fresh creds when the session has none; saveCreds persists the whole object, atomically', async () => {
    const store = createStore()
    const sid = uid('creds')
    const first = await useBaileysAuthState(store, sid)
    assert.equal(first.state.creds.registered, false)
    assert.deepEqual(await store.session(sid).keys.types(), [], 'nothing is written before saveCreds')
    first.state.creds.me = { id: '5511900000001:2@s.whatsapp.net', name: 'Bot' }
    first.state.creds.routingInfo = Buffer.from([1, 2, 3])
    await first.saveCreds()
    const second = await useBaileysAuthState(store, sid)
    assert.equal(second.state.creds.registrationId, first.state.creds.registrationId)
    assert.deepEqual(second.state.creds.me, first.state.creds.me)
    assert.ok(Buffer.isBuffer(second.state.creds.routingInfo))
    assert.equal(second.state.creds.pairingCode, undefined)
    // A creds object that cannot be stored is refused whole; the stored one is intact.
    second.state.creds.bad = () => {}
    await rejectsCode(() => second.saveCreds(), 'STORE_INVALID_ARGUMENT')
    const third = await useBaileysAuthState(store, sid)
    assert.equal(third.state.creds.bad, undefined)
    assert.deepEqual(third.state.creds.me, first.state.creds.me)
    await store.destroy()
  })

  it('keys.clear() removes every key of this session but keeps creds; clear() removes everything', async () => {
    const store = createStore()
    const [sid, other] = [uid('clear'), uid('other')]
    const a = await useBaileysAuthState(store, sid)
    const b = await useBaileysAuthState(store, other)
    await a.saveCreds()
    await b.saveCreds()
    const many = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [String(i), { private: Buffer.alloc(32), public: Buffer.alloc(32) }]))
    await a.state.keys.set({ 'pre-key': many, session: { '1.0': { v: 1 } } })
    await b.state.keys.set({ session: { '1.0': { v: 2 } } })
    await a.state.keys.clear()
    assert.deepEqual(await store.session(sid).keys.types(), ['__creds__'])
    assert.equal((await useBaileysAuthState(store, sid)).state.creds.registrationId, a.state.creds.registrationId)
    assert.deepEqual(await b.state.keys.get('session', ['1.0']), { '1.0': { v: 2 } }, 'other sessions untouched')
    await a.clear()
    assert.deepEqual(await store.session(sid).keys.types(), [])
    assert.deepEqual(await store.session(other).keys.types(), ['__creds__', 'session'])
    await store.destroy()
  })

  it('list / listIds are async iterators over every page, in byte-wise id order', async () => {
    const store = createStore()
    const { state } = await useBaileysAuthState(store, uid('iter'))
    const ids = Array.from({ length: 2345 }, (_, i) => `${i}`)
    await state.keys.set({ 'pre-key': Object.fromEntries(ids.map((id) => [id, { id }])) })
    const byBytes = [...ids].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
    const seen = []
    for await (const id of state.keys.listIds('pre-key')) seen.push(id)
    assert.deepEqual(seen, byBytes)
    const entries = []
    for await (const [id, value] of state.keys.list('pre-key')) entries.push([id, value.id])
    assert.deepEqual(entries, byBytes.map((id) => [id, id]))
    for await (const x of state.keys.list('nothing-here')) assert.fail(`unexpected ${x}`)
    // A migrateAuthState-style copy into another session works over these iterators.
    const copySid = uid('copy')
    const target = await useBaileysAuthState(store, copySid)
    for await (const [id, value] of state.keys.list('pre-key')) await target.state.keys.set({ 'pre-key': { [id]: value } })
    assert.deepEqual(await store.session(copySid).keys.listIds('pre-key', { limit: 1000 }), byBytes.slice(0, 1000))
    assert.deepEqual(await target.state.keys.get('pre-key', ['7']), { 7: { id: '7' } })
    await store.destroy()
  })

  it('argument and option errors are coded; errors from the store propagate', async () => {
    const store = createStore()
    await rejectsCode(() => useBaileysAuthState({}, 'x'), 'STORE_INVALID_ARGUMENT', 'store')
    await rejectsCode(() => useBaileysAuthState(store, ''), 'STORE_INVALID_ARGUMENT', 'sessionId')
    await rejectsCode(() => useBaileysAuthState(store, 'x', { nope: 1 }), 'STORE_INVALID_CONFIG', 'options.nope')
    await rejectsCode(() => useBaileysAuthState(store, 'x', { baileys: {} }), 'STORE_INVALID_CONFIG', 'options.baileys')
    await rejectsCode(() => useBaileysAuthState(store, 'x', { missingKeys: true }), 'STORE_INVALID_CONFIG', 'options.missingKeys')
    const baileys = await import('@whiskeysockets/baileys')
    const { state } = await useBaileysAuthState(store, 'x', { baileys })
    await rejectsCode(() => state.keys.get(7, ['a']), 'STORE_INVALID_ARGUMENT', 'type')
    await rejectsCode(() => state.keys.set({ session: { a: () => 1 } }), 'STORE_INVALID_ARGUMENT')
    // A backend-backed state on a destroyed backend: STORE_CLOSED, not an empty answer.
    const sqlite = createSqliteStore({ path: path.join(tmp, `${uid('closed')}.sqlite`) })
    const onBackend = await useBaileysAuthState(sqlite, 'y')
    await onBackend.saveCreds()
    await sqlite.destroy()
    await rejectsCode(() => onBackend.state.keys.get('session', ['1.0']), 'STORE_CLOSED')
    await rejectsCode(() => onBackend.saveCreds(), 'STORE_CLOSED')
    await rejectsCode(() => useBaileysAuthState(sqlite, 'y'), 'STORE_CLOSED')
    await store.destroy()
  })
})

describe('typings against Baileys 7.0.0-rc14', { timeout: 120_000 }, () => {
  it('tsc accepts baileys-usage.mts (state passes as Baileys AuthenticationState)', () => {
    const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc')
    assert.ok(fs.existsSync(tsc), 'typescript is missing from devDependencies')
    // skipLibCheck: Baileys' own declarations do not check (missing @types/ws and others); ours are checked by typescript.test.js.
    const args = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node']
    const r = spawnSync(tsc, [...args, path.join(__dirname, 'baileys-usage.mts')], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 })
    assert.equal(r.status, 0, `tsc:\n${r.stdout}${r.stderr}`)
  })
})
