'use strict'
// createRedisStore: option validation, zapo's option forms, the documented key
// layout and TTLs, and how an unreachable server fails (coded, bounded,
// password masked). Keys are written under a prefix of this run and deleted.
const assert = require('node:assert/strict')
const { describe, it, after } = require('node:test')

const { createStore, createRedisStore } = require('..')
const { throwsCode, rejectsCode, uid } = require('./helpers/util')
const { allProviders, allCacheProviders } = require('./helpers/backends')
const redis = require('./helpers/redis')

const URL_ = redis.TEST_URL
const PREFIX = `wsopt${process.pid}:`
const parsed = new URL(URL_)

function storeOn(backend) {
  return createStore({ backends: { r: backend }, providers: allProviders('r'), cacheProviders: allCacheProviders('r') })
}

describe('createRedisStore options', () => {
  after(() => redis.deleteKeysUnder(PREFIX))

  it('needs a url or redis options, naming them', () => {
    throwsCode(() => createRedisStore({}), 'STORE_INVALID_CONFIG', 'options.url', 'options.redis')
    throwsCode(() => createRedisStore(), 'STORE_INVALID_CONFIG')
    throwsCode(() => createRedisStore('redis://x'), 'STORE_INVALID_CONFIG')
  })

  it('validates keyPrefix as zapo does ([A-Za-z0-9_:]*)', () => {
    for (const keyPrefix of ['a-b', 'x*', 'a b', '{tag}', 'ü', 'p'.repeat(200)]) {
      throwsCode(() => createRedisStore({ url: URL_, keyPrefix }), 'STORE_INVALID_CONFIG', 'keyPrefix')
    }
    for (const keyPrefix of ['', 'wa:', 'T_1:x:']) {
      assert.equal(createRedisStore({ url: URL_, keyPrefix }).kind, 'redis')
    }
    throwsCode(() => createRedisStore({ url: URL_, keyPrefix: 5 }), 'STORE_INVALID_CONFIG', 'keyPrefix')
  })

  it('rejects unknown keys, TLS URLs and bad numbers instead of ignoring them', () => {
    throwsCode(() => createRedisStore({ url: URL_, ttl: 5 }), 'STORE_INVALID_CONFIG', 'options.ttl')
    throwsCode(() => createRedisStore({ redis: { host: 'h', tls: {} } }), 'STORE_INVALID_CONFIG', 'tls')
    throwsCode(() => createRedisStore({ url: 'rediss://u:hunter2@h:6380' }), 'STORE_INVALID_CONFIG', 'TLS')
    throwsCode(() => createRedisStore({ url: 'http://h' }), 'STORE_INVALID_CONFIG', 'redis://')
    throwsCode(() => createRedisStore({ redis: { port: 70000 } }), 'STORE_INVALID_CONFIG', 'port')
    throwsCode(() => createRedisStore({ redis: { db: -1 } }), 'STORE_INVALID_CONFIG', 'db')
    throwsCode(() => createRedisStore({ redis: { connectTimeout: 0 } }), 'STORE_INVALID_CONFIG', 'connectTimeout')
    throwsCode(() => createRedisStore({ redis: { commandTimeout: 1.5 } }), 'STORE_INVALID_CONFIG', 'commandTimeout')
    throwsCode(() => createRedisStore({ url: URL_, redis: { url: URL_ } }), 'STORE_INVALID_CONFIG', 'not both')
    throwsCode(() => createRedisStore({ redis: { url: URL_, host: 'h' } }), 'STORE_INVALID_CONFIG', 'not both')
    throwsCode(() => createRedisStore({ url: URL_, cacheTtlMs: { retryMs: 0 } }), 'STORE_INVALID_CONFIG', 'cacheTtlMs.retryMs')
    throwsCode(() => createRedisStore({ url: URL_, storeTtlMs: { authMs: 5 } }), 'STORE_INVALID_CONFIG', 'storeTtlMs.authMs')
    throwsCode(() => createRedisStore({ url: URL_, storeTtlMs: { sessionMs: -1 } }), 'STORE_INVALID_CONFIG', 'storeTtlMs.sessionMs')
  })

  it('accepts zapo forms: url, redis.url and redis host/port/db parts', async () => {
    const forms = [
      { url: URL_, keyPrefix: PREFIX },
      { redis: { url: URL_ }, keyPrefix: PREFIX },
      {
        redis: {
          host: parsed.hostname,
          port: Number(parsed.port || 6379),
          db: Number(parsed.pathname.slice(1) || 0),
          connectTimeout: 5000,
          commandTimeout: 5000
        },
        keyPrefix: PREFIX
      }
    ]
    for (const [i, options] of forms.entries()) {
      const backend = createRedisStore(options)
      assert.equal(backend.kind, 'redis')
      const store = storeOn(backend)
      try {
        await store.session(`forms-${i}`).auth.save({ i })
        assert.deepEqual(await store.session(`forms-${i}`).auth.load(), { i })
      } finally {
        await store.destroy()
      }
    }
  })

  it('works as a zapo WaStoreBackend: detached factories, documented key layout, native TTLs', async () => {
    const backend = createRedisStore({ url: URL_, keyPrefix: PREFIX })
    const sid = uid('layout:*?')
    const auth = backend.stores.auth
    await auth(sid).save({ ok: true })
    await backend.caches.groupMetadata(sid).upsertGroupMetadata({ groupJid: 'g@g.us', participants: [], updatedAtMs: Date.now() })
    const con = await redis.connect()
    try {
      const sidPart = sid.replace(/[%:{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
      const authKey = `${PREFIX}auth:{${sidPart}}:c`
      assert.deepEqual(await con.keys(`${PREFIX}auth:{${sidPart}}`), [authKey])
      assert.equal((await con.call('TYPE', authKey)).toString(), 'string')
      assert.equal(await con.call('PTTL', authKey), -1, 'credentials never expire')
      const cacheKey = `${PREFIX}gm:{${sidPart}}:r:g@g.us`
      assert.ok((await con.call('PTTL', cacheKey)) > 0, 'cache entries carry a native TTL')
    } finally {
      con.close()
      await backend.destroy()
    }
  })

  it('storeTtlMs puts a sliding TTL on persistent domains but never on auth', async () => {
    const backend = createRedisStore({ url: URL_, keyPrefix: PREFIX, storeTtlMs: { sessionMs: 60_000 } })
    const store = storeOn(backend)
    const sid = uid('ttl')
    const s = store.session(sid)
    await s.auth.save({ a: 1 })
    await s.session.setSession({ user: 'u', device: 1 }, { rec: 1 })
    const con = await redis.connect()
    try {
      const keys = await con.keys(PREFIX)
      const sessionKey = keys.find((k) => k.startsWith(`${PREFIX}ses:{${sid}}`))
      const authKey = keys.find((k) => k.startsWith(`${PREFIX}auth:{${sid}}`))
      const ttl = await con.call('PTTL', sessionKey)
      assert.ok(ttl > 50_000 && ttl <= 60_000, `session PTTL ${ttl}`)
      assert.equal(await con.call('PTTL', authKey), -1)
    } finally {
      con.close()
      await store.destroy()
    }
  })

  it('an unreachable server fails the first call with STORE_CONNECTION_FAILED, fast, with the password masked', async () => {
    const backend = createRedisStore({ url: 'redis://bot:hunter2@127.0.0.1:1/0', redis: undefined })
    const store = storeOn(backend)
    const started = Date.now()
    try {
      await rejectsCode(() => store.session('x').auth.load(), 'STORE_CONNECTION_FAILED', '127.0.0.1:1')
      const err = await store.session('x').auth.load().catch((e) => e)
      assert.ok(!String(err.message).includes('hunter2'), `password leaked: ${err.message}`)
      assert.ok(!String(err.cause && err.cause.message).includes('hunter2'), 'password leaked in the cause')
      const parts = createRedisStore({ redis: { host: '127.0.0.1', port: 1, password: 'hunter2', connectTimeout: 1000 } })
      await rejectsCode(() => parts.stores.auth('x').load(), 'STORE_CONNECTION_FAILED', '127.0.0.1:1')
      await parts.destroy()
      assert.ok(Date.now() - started < 10000, 'gave up within the connect timeout')
    } finally {
      // Destroy still runs every step, then reports that it could not clear the caches.
      await rejectsCode(() => store.destroy(), 'STORE_CONNECTION_FAILED')
    }
  })

  it('destroy() closes the connection: later calls reject STORE_CLOSED', async () => {
    const backend = createRedisStore({ url: URL_, keyPrefix: PREFIX })
    const auth = backend.stores.auth('closing')
    await auth.save({ ok: true })
    await backend.destroy()
    await backend.destroy()
    await rejectsCode(() => auth.load(), 'STORE_CLOSED')
  })
})
