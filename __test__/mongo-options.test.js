'use strict'
// createMongoStore: option validation, zapo's option forms, use as a zapo
// WaStoreBackend, and how an unreachable server fails (coded, bounded,
// password masked). Runs against WASTORE_TEST_MONGO_URL (nx-27017 in tests).
const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const { createStore, createMongoStore } = require('..')
const { throwsCode, rejectsCode } = require('./helpers/util')
const { allProviders, allCacheProviders } = require('./helpers/backends')

const URL_ = process.env.WASTORE_TEST_MONGO_URL || 'mongodb://127.0.0.1:27017'
const DATABASE = 'wastore_test'
const PREFIX = `opt${process.pid}_`

function storeOn(backend) {
  return createStore({ backends: { db: backend }, providers: allProviders('db'), cacheProviders: allCacheProviders('db') })
}

/** The URI with a database path (for the "database from the URI" form). */
function withDatabase(url, database) {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

describe('mongo options', () => {
  it('rejects a missing uri, naming it', () => {
    throwsCode(() => createMongoStore({}), 'STORE_INVALID_CONFIG', 'uri')
    throwsCode(() => createMongoStore({ db: { database: DATABASE } }), 'STORE_INVALID_CONFIG', 'db.uri')
    throwsCode(() => createMongoStore(), 'STORE_INVALID_CONFIG')
  })

  it('rejects URIs it cannot use: other schemes, SRV seed lists, bad hosts (password masked)', () => {
    throwsCode(() => createMongoStore({ uri: 'postgres://h/db', database: DATABASE }), 'STORE_INVALID_CONFIG', 'mongodb://')
    const srv = (() => {
      try {
        createMongoStore({ uri: 'mongodb+srv://bot:hunter2@cluster0.example.net/wa' })
      } catch (err) {
        return err
      }
    })()
    assert.equal(srv.code, 'STORE_INVALID_CONFIG')
    assert.match(srv.message, /mongodb\+srv/)
    assert.ok(!srv.message.includes('hunter2'), srv.message)
    const bad = (() => {
      try {
        createMongoStore({ uri: 'mongodb://bot:hunter2@h:notaport/wa' })
      } catch (err) {
        return err
      }
    })()
    assert.equal(bad.code, 'STORE_INVALID_CONFIG')
    assert.ok(!bad.message.includes('hunter2'), bad.message)
  })

  it('needs a database, from the option or the URI path, and checks its name', () => {
    throwsCode(() => createMongoStore({ uri: 'mongodb://127.0.0.1:27017' }), 'STORE_INVALID_CONFIG', 'database')
    for (const database of ['a.b', 'a b', 'x$y', 'd'.repeat(64), '']) {
      throwsCode(() => createMongoStore({ uri: URL_, database }), 'STORE_INVALID_CONFIG', 'database')
    }
  })

  it('rejects a collection prefix that is not letters, digits and _', () => {
    for (const collectionPrefix of ['a-b', '1abc', 'x.$y', 'a b', 'p'.repeat(49)]) {
      throwsCode(() => createMongoStore({ uri: URL_, database: DATABASE, collectionPrefix }), 'STORE_INVALID_CONFIG', 'collectionPrefix')
    }
  })

  it('rejects unknown keys, mixed forms, Db objects and bad numbers instead of ignoring them', () => {
    throwsCode(() => createMongoStore({ uri: URL_, database: DATABASE, ssl: true }), 'STORE_INVALID_CONFIG', 'ssl')
    throwsCode(() => createMongoStore({ uri: URL_, database: DATABASE, options: { tls: true } }), 'STORE_INVALID_CONFIG', 'tls')
    throwsCode(() => createMongoStore({ db: { uri: URL_, database: DATABASE }, uri: URL_ }), 'STORE_INVALID_CONFIG', 'not both')
    // Something shaped like a Node driver Db: its own properties are not options.
    const fakeDb = { databaseName: DATABASE, client: {}, s: {} }
    throwsCode(() => createMongoStore({ db: fakeDb }), 'STORE_INVALID_CONFIG', 'native driver')
    throwsCode(() => createMongoStore({ uri: URL_, database: DATABASE, options: { maxPoolSize: 0 } }), 'STORE_INVALID_CONFIG', 'maxPoolSize')
    throwsCode(() => createMongoStore({ uri: URL_, database: DATABASE, options: { timeoutMS: -5 } }), 'STORE_INVALID_CONFIG', 'timeoutMS')
    throwsCode(
      () => createMongoStore({ uri: URL_, database: DATABASE, options: { minPoolSize: 5, maxPoolSize: 2 } }),
      'STORE_INVALID_CONFIG',
      'minPoolSize'
    )
    throwsCode(() => createMongoStore({ uri: URL_, database: DATABASE, cacheTtlMs: { retryMs: 0 } }), 'STORE_INVALID_CONFIG', 'retryMs')
  })

  it("accepts zapo's forms: db: { uri, database, options }, the shorthand, and the database in the URI", async () => {
    const forms = [
      { db: { uri: URL_, database: DATABASE, options: { serverSelectionTimeoutMS: 5000, appName: 'wastore-test' } }, collectionPrefix: PREFIX },
      { uri: URL_, database: DATABASE, collectionPrefix: PREFIX, options: { maxPoolSize: 2, minPoolSize: 0, timeoutMS: 20000 } },
      { uri: withDatabase(URL_, DATABASE), collectionPrefix: PREFIX }
    ]
    for (const [i, options] of forms.entries()) {
      const backend = createMongoStore(options)
      assert.equal(backend.kind, 'mongo')
      const store = storeOn(backend)
      try {
        await store.session(`forms-${i}`).auth.save({ i, bytes: new Uint8Array([i]) })
        assert.deepEqual(await store.session(`forms-${i}`).auth.load(), { i, bytes: new Uint8Array([i]) })
        await store.session(`forms-${i}`).auth.clear()
      } finally {
        await store.destroy()
      }
    }
  })

  it("works as a zapo WaStoreBackend: detached stores/caches factories share one database", async () => {
    const backend = createMongoStore({ uri: URL_, database: DATABASE, collectionPrefix: PREFIX })
    try {
      const session = backend.stores.session
      const a = session('zapo-a')
      const b = session('zapo-b')
      await a.setSession({ user: 'u', device: 1 }, { rec: 1 })
      assert.deepEqual(await a.getSession({ user: 'u', device: 1 }), { rec: 1 })
      assert.equal(await b.getSession({ user: 'u', device: 1 }), null, 'sessions are isolated')
      const devices = backend.caches.deviceList('zapo-a')
      await devices.upsertUserDevicesBatch([{ userJid: 'x@s.whatsapp.net', deviceJids: ['x:1@s.whatsapp.net'], updatedAtMs: Date.now() }])
      assert.deepEqual((await devices.findByAnyUserJid('x@s.whatsapp.net')).deviceJids, ['x:1@s.whatsapp.net'])
      await a.clear()
      await devices.clear()
    } finally {
      await backend.destroy()
    }
  })

  it('an unreachable server fails the first call with STORE_CONNECTION_FAILED, fast, with the password masked', async () => {
    const backend = createMongoStore({
      uri: 'mongodb://bot:hunter2@127.0.0.1:1/nowhere',
      options: { serverSelectionTimeoutMS: 1000, connectTimeoutMS: 1000 }
    })
    const store = storeOn(backend)
    const started = Date.now()
    try {
      await rejectsCode(() => store.session('x').auth.load(), 'STORE_CONNECTION_FAILED', '127.0.0.1:1')
      const err = await store.session('x').auth.load().catch((e) => e)
      assert.ok(!String(err.message).includes('hunter2'), `password leaked: ${err.message}`)
      assert.ok(!String(err.cause && err.cause.message).includes('hunter2'), 'password leaked in the cause')
      assert.ok(Date.now() - started < 10000, `gave up within the server-selection timeout (${Date.now() - started} ms)`)
    } finally {
      // Destroy still runs every step, then reports that it could not clear the caches.
      await rejectsCode(() => store.destroy(), 'STORE_CONNECTION_FAILED')
    }
  })

  it('destroy() closes the client: later calls reject STORE_CLOSED', async () => {
    const backend = createMongoStore({ uri: URL_, database: DATABASE, collectionPrefix: PREFIX })
    const auth = backend.stores.auth('closing')
    await auth.save({ ok: true })
    await auth.clear()
    await backend.destroy()
    await rejectsCode(() => auth.load(), 'STORE_CLOSED')
  })
})
