'use strict'
// The backends the contract suite runs against.
//
// A backend factory is
//   {
//     name: string,            // shown in the test names
//     persistent: boolean,     // data survives a store restart (reopen)
//     kind?: string,           // StoreBackend.kind of the backend objects it makes
//     textHoldsNul?: boolean,  // false: ids with NUL are refused (PostgreSQL text cannot hold NUL)
//     setup?(): Promise<void>,     // once, before the suite (start a server, make a temp dir)
//     teardown?(): Promise<void>,  // once, after the suite (every store is destroyed by then)
//     make(tweaks?): Target,   // a fresh, empty place to store data
//   }
// and a Target is
//   {
//     options,                 // what to pass to createStore(options)
//     backend?,                // the StoreBackend object, when the factory makes one
//     reopen?(): Target,       // persistent only: a NEW backend object on the same data
//   }
// `tweaks` is `{ cacheTtlMs?: { retryMs, groupMetadataMs, ... }, memoryLimits? }`:
// TTLs of the cache domains, applied the way this backend takes them, and
// `memory.limits` (memory factories only; durable ones have no caps).
//
// Adding a backend means adding one entry to factories()
// (its setup() can create a database/schema/prefix, make() a fresh one per call).

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const wastore = require('../..')

const PERSISTENT_DOMAINS = [
  'auth',
  'signal',
  'preKey',
  'session',
  'identity',
  'senderKey',
  'appState',
  'privacyToken',
  'messages',
  'threads',
  'contacts'
]
const CACHE_DOMAINS = ['retry', 'groupMetadata', 'chatMetadata', 'deviceList', 'messageSecret']

function allProviders(name) {
  return Object.fromEntries(PERSISTENT_DOMAINS.map((d) => [d, name]))
}
function allCacheProviders(name) {
  return Object.fromEntries(CACHE_DOMAINS.map((d) => [d, name]))
}

/** Every backend-routed target uses the backend for all 16 domains. */
function backendTarget(backend, reopen) {
  return {
    backend,
    options: {
      backends: { main: backend },
      providers: allProviders('main'),
      cacheProviders: allCacheProviders('main')
    },
    reopen
  }
}

/** createStore's built-in memory providers (no backends), mailbox domains included. */
const memoryFactory = {
  name: 'memory',
  persistent: false,
  make(tweaks = {}) {
    const options = {
      providers: allProviders('memory'),
      cacheProviders: allCacheProviders('memory')
    }
    if (tweaks.cacheTtlMs || tweaks.memoryLimits) {
      options.memory = {
        ...(tweaks.cacheTtlMs ? { cacheTtlMs: tweaks.cacheTtlMs } : {}),
        ...(tweaks.memoryLimits ? { limits: tweaks.memoryLimits } : {})
      }
    }
    return { options }
  }
}

/** The memory backend as a pluggable StoreBackend (createMemoryStore). */
const memoryBackendFactory = {
  name: 'memory-backend',
  kind: 'memory',
  persistent: false,
  make(tweaks = {}) {
    const backend = wastore.createMemoryStore({
      ...(tweaks.cacheTtlMs ? { cacheTtlMs: tweaks.cacheTtlMs } : {}),
      ...(tweaks.memoryLimits ? { limits: tweaks.memoryLimits } : {})
    })
    return backendTarget(backend)
  }
}

/** Embedded SQLite on a temp file; every make() gets its own file. */
function sqliteFactory() {
  let dir = null
  let files = 0
  const factory = {
    name: 'sqlite',
    kind: 'sqlite',
    persistent: true,
    async setup() {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wastore-contract-'))
    },
    async teardown() {
      if (dir) fs.rmSync(dir, { recursive: true, force: true })
      dir = null
    },
    /** The directory holding this factory's files (for tests that need a raw path). */
    get dir() {
      return dir
    },
    /** A fresh file, as a spec a child process can open (see ./specs.js). */
    spec() {
      if (!dir) throw new Error('sqlite factory used before setup()')
      files += 1
      return { kind: 'sqlite', path: path.join(dir, `spec-${files}.sqlite`) }
    },
    make(tweaks = {}) {
      if (!dir) throw new Error('sqlite factory used before setup()')
      files += 1
      const file = path.join(dir, `store-${files}.sqlite`)
      const open = () => {
        const backend = wastore.createSqliteStore({
          path: file,
          ...(tweaks.cacheTtlMs ? { cacheTtlMs: tweaks.cacheTtlMs } : {})
        })
        return backendTarget(backend, open)
      }
      const target = open()
      target.file = file
      return target
    }
  }
  return factory
}

/**
 * A server backend (PostgreSQL, MySQL/MariaDB) on the database named by an env URL.
 * One table prefix per run and factory: tests are isolated by their unique session
 * ids, and `npm test` starts from freshly created test databases (scripts/test.sh).
 */
function serverFactory({ name, kind, create, urlEnv, defaultUrl, textHoldsNul = true }) {
  const url = process.env[urlEnv] || defaultUrl
  const prefix = `ct${process.pid}_`
  let specs = 0
  return {
    name,
    kind,
    textHoldsNul,
    persistent: true,
    url,
    prefix,
    /** Its own table prefix, as a spec a child process can open (see ./specs.js). */
    spec() {
      specs += 1
      return { kind, url, tablePrefix: `sp${process.pid}_${specs}_` }
    },
    make(tweaks = {}) {
      const open = () => {
        const backend = create({
          pool: { connectionString: url, max: 4, acquireTimeoutMillis: 20000 },
          tablePrefix: prefix,
          ...(tweaks.cacheTtlMs ? { cacheTtlMs: tweaks.cacheTtlMs } : {})
        })
        return backendTarget(backend, open)
      }
      return open()
    }
  }
}

const postgresFactory = () =>
  serverFactory({
    name: 'postgres',
    kind: 'postgres',
    create: (o) => wastore.createPostgresStore(o),
    urlEnv: 'WASTORE_TEST_PG_URL',
    textHoldsNul: false,
    defaultUrl: 'postgres://wastore@127.0.0.1:5432/wastore_test'
  })

const mysqlFactory = () =>
  serverFactory({
    name: 'mysql',
    kind: 'mysql',
    create: (o) => wastore.createMysqlStore(o),
    urlEnv: 'WASTORE_TEST_MYSQL_URL',
    defaultUrl: 'mysql://wastore@127.0.0.1:3306/wastore_test'
  })

/**
 * Redis on the server named by WASTORE_TEST_REDIS_URL. Every make() gets its own
 * key prefix (`wsct<pid>_<n>:`); teardown deletes this run's keys, and only them
 * (never FLUSHDB: the server is shared).
 */
function redisFactory() {
  const redisHelpers = require('./redis')
  const url = redisHelpers.TEST_URL
  const base = `wsct${process.pid}_`
  let made = 0
  return {
    name: 'redis',
    kind: 'redis',
    persistent: true,
    url,
    prefix: base,
    async teardown() {
      await redisHelpers.deleteKeysUnder(base, url)
    },
    /** Its own key prefix (under this run's), as a spec a child process can open (see ./specs.js). */
    spec() {
      made += 1
      return { kind: 'redis', url, keyPrefix: `${base}${made}:` }
    },
    make(tweaks = {}) {
      made += 1
      const keyPrefix = `${base}${made}:`
      const open = () => {
        const backend = wastore.createRedisStore({
          url,
          keyPrefix,
          ...(tweaks.cacheTtlMs ? { cacheTtlMs: tweaks.cacheTtlMs } : {})
        })
        return backendTarget(backend, open)
      }
      const target = open()
      target.keyPrefix = keyPrefix
      return target
    }
  }
}

/**
 * MongoDB (the test server is nx-27017, a MongoDB-wire server; see __test__/README.md for what it
 * cannot prove). One collection prefix per run, in the database `wastore_test`, which
 * `npm test` recreates (scripts/services.sh --fresh-test-databases).
 */
function mongoFactory() {
  const url = process.env.WASTORE_TEST_MONGO_URL || 'mongodb://127.0.0.1:27017'
  const prefix = `ct${process.pid}_`
  let specs = 0
  return {
    name: 'mongo',
    kind: 'mongo',
    persistent: true,
    url,
    prefix,
    database: 'wastore_test',
    /** Its own collection prefix, as a spec a child process can open (see ./specs.js). */
    spec() {
      specs += 1
      return { kind: 'mongo', uri: url, database: 'wastore_test', collectionPrefix: `sp${process.pid}_${specs}_` }
    },
    make(tweaks = {}) {
      const open = () => {
        const backend = wastore.createMongoStore({
          uri: url,
          database: 'wastore_test',
          collectionPrefix: prefix,
          options: { maxPoolSize: 4, timeoutMS: 60000 },
          ...(tweaks.cacheTtlMs ? { cacheTtlMs: tweaks.cacheTtlMs } : {})
        })
        return backendTarget(backend, open)
      }
      return open()
    }
  }
}

/** All factories, in the order the contract suite runs them. */
function factories() {
  return [memoryFactory, memoryBackendFactory, sqliteFactory(), postgresFactory(), mysqlFactory(), redisFactory(), mongoFactory()]
}

module.exports = {
  factories,
  PERSISTENT_DOMAINS,
  CACHE_DOMAINS,
  allProviders,
  allCacheProviders
}
