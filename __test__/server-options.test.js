'use strict'
// createPostgresStore / createMysqlStore: option validation, zapo's option
// forms, and how an unreachable server fails (coded, bounded, password masked).
const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const { createStore, createPostgresStore, createMysqlStore } = require('..')
const { throwsCode, rejectsCode } = require('./helpers/util')
const { allProviders, allCacheProviders } = require('./helpers/backends')

const SERVERS = [
  {
    name: 'postgres',
    create: createPostgresStore,
    url: process.env.WASTORE_TEST_PG_URL || 'postgres://wastore@127.0.0.1:5432/wastore_test',
    scheme: 'postgres'
  },
  {
    name: 'mysql',
    create: createMysqlStore,
    url: process.env.WASTORE_TEST_MYSQL_URL || 'mysql://wastore@127.0.0.1:3306/wastore_test',
    scheme: 'mysql'
  }
]

function storeOn(backend) {
  return createStore({ backends: { db: backend }, providers: allProviders('db'), cacheProviders: allCacheProviders('db') })
}

for (const server of SERVERS) {
  describe(`${server.name} options`, () => {
    it('rejects a missing connection string, naming it', () => {
      throwsCode(() => server.create({}), 'STORE_INVALID_CONFIG', 'connectionString')
      throwsCode(() => server.create({ pool: {} }), 'STORE_INVALID_CONFIG', 'connectionString')
    })

    it('rejects a table prefix that is not a plain identifier', () => {
      for (const tablePrefix of ['a-b', '1abc', 'x"; DROP TABLE y; --', 'a b']) {
        throwsCode(() => server.create({ connectionString: server.url, tablePrefix }), 'STORE_INVALID_CONFIG', 'tablePrefix')
      }
    })

    it('rejects unknown pool keys and bad numbers instead of ignoring them', () => {
      throwsCode(() => server.create({ pool: { connectionString: server.url, ssl: true } }), 'STORE_INVALID_CONFIG', 'ssl')
      throwsCode(() => server.create({ pool: { connectionString: server.url, max: 0 } }), 'STORE_INVALID_CONFIG', 'max')
      throwsCode(() => server.create({ pool: { connectionString: server.url, acquireTimeoutMillis: -5 } }), 'STORE_INVALID_CONFIG')
      throwsCode(() => server.create({ connectionString: server.url, cleanup: { intervalMs: 0 } }), 'STORE_INVALID_CONFIG')
    })

    it('accepts zapo forms: pool.connectionString, the shorthand, and host/user/database parts', async () => {
      const prefix = `opt${process.pid}_`
      const forms = [
        { pool: { connectionString: server.url }, tablePrefix: prefix },
        { connectionString: server.url, tablePrefix: prefix }
      ]
      const parsed = new URL(server.url)
      forms.push({
        pool: { host: parsed.hostname, port: Number(parsed.port), user: decodeURIComponent(parsed.username), database: parsed.pathname.slice(1) },
        tablePrefix: prefix
      })
      for (const [i, options] of forms.entries()) {
        const backend = server.create(options)
        assert.equal(backend.kind, server.name)
        const store = storeOn(backend)
        try {
          await store.session(`forms-${i}`).auth.save({ i })
          assert.deepEqual(await store.session(`forms-${i}`).auth.load(), { i })
        } finally {
          await store.destroy()
        }
      }
    })

    it('an unreachable server fails the first call with STORE_CONNECTION_FAILED, fast, with the password masked', async () => {
      const backend = server.create({
        pool: { connectionString: `${server.scheme}://bot:hunter2@127.0.0.1:1/nowhere`, acquireTimeoutMillis: 2000, connectionTimeoutMillis: 2000 }
      })
      const store = storeOn(backend)
      const started = Date.now()
      try {
        await rejectsCode(() => store.session('x').auth.load(), 'STORE_CONNECTION_FAILED', '127.0.0.1')
        const err = await store.session('x').auth.load().catch((e) => e)
        assert.ok(!String(err.message).includes('hunter2'), `password leaked: ${err.message}`)
        assert.ok(!String(err.cause && err.cause.message).includes('hunter2'), 'password leaked in the cause')
        assert.ok(Date.now() - started < 15000, 'gave up within the acquire timeout')
      } finally {
        // Destroy still runs every step, then reports that it could not clear the caches.
        await rejectsCode(() => store.destroy(), 'STORE_CONNECTION_FAILED')
      }
    })

    it('destroy() closes the pool: later calls reject STORE_CLOSED', async () => {
      const backend = server.create({ connectionString: server.url, tablePrefix: `opt${process.pid}_` })
      const auth = backend.stores.auth('closing')
      await auth.save({ ok: true })
      await backend.destroy()
      await rejectsCode(() => auth.load(), 'STORE_CLOSED')
    })
  })
}
