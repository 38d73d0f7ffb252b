'use strict'
// Backend specs: plain JSON a child process can turn back into the same
// backend (crash and fault tests run the workload in a child they kill).
//
//   spec = { kind: 'sqlite', path } | { kind: 'postgres' | 'mysql', url, tablePrefix, acquireTimeoutMillis? }
//
// A durable factory in ./backends.js that can be rebuilt in a child has a
// `spec()` method returning a fresh spec; crash tests iterate over those.

const wastore = require('../..')
const { allProviders, allCacheProviders } = require('./backends')

function backendFromSpec(spec) {
  switch (spec.kind) {
    case 'sqlite':
      return wastore.createSqliteStore({ path: spec.path })
    case 'postgres':
    case 'mysql': {
      const create = spec.kind === 'postgres' ? wastore.createPostgresStore : wastore.createMysqlStore
      return create({
        pool: { connectionString: spec.url, max: 4, acquireTimeoutMillis: spec.acquireTimeoutMillis ?? 10000 },
        tablePrefix: spec.tablePrefix
      })
    }
    case 'redis':
      return wastore.createRedisStore({ url: spec.url, keyPrefix: spec.keyPrefix })
    case 'mongo':
      return wastore.createMongoStore({ uri: spec.uri, database: spec.database, collectionPrefix: spec.collectionPrefix })
    default:
      throw new Error(`unknown backend spec kind ${spec.kind}`)
  }
}

/** createStore options putting every domain on `backend`, plus `extra` (signalCache, writeBehind, …). */
function storeOptions(backend, extra = {}) {
  return { backends: { main: backend }, providers: allProviders('main'), cacheProviders: allCacheProviders('main'), ...extra }
}

function storeFromSpec(spec, extra) {
  return wastore.createStore(storeOptions(backendFromSpec(spec), extra))
}

module.exports = { backendFromSpec, storeOptions, storeFromSpec }
