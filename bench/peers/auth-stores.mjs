// The auth-state stores under test, each opened the way its users open it.
//
// A kind's `open(ctx)` resolves to
//   { account(id, { creds }?) → { state: { creds, keys }, saveCreds, release }, close() }
// where `keys` is the object Baileys' transaction wrapper calls. `creds`
// (workload 4) makes pre-generated creds the account's creds; without it a new
// account gets fresh `initAuthCreds()` creds, as the adapter would make them.
// ctx: { baileys, tag (unique name prefix), dir (temp folder), backendCounter?, split? }.
// `backendCounter`, where given, counts the calls that reach a zaileys adapter
// below Baileys' cache (`makeCacheableSignalKeyStore`, on by default in zaileys),
// and with `split` the native calls below wastore's Baileys adapter.
// `open(ctx, { sharedConnection })`: see the zaileys PostgreSQL store.

import path from 'node:path'

import { useMultiFileAuthState } from '@whiskeysockets/baileys'
import { useMySQLAuthState } from 'mysql-baileys'
import pg from 'pg'
import { createClient } from 'redis'
import { makeCacheableAuthStore, PostgresAuthStore, RedisAuthStore, signalKeyStoreFromAuthStore, SqliteAuthStore } from 'zaileys'

import { instrument } from '../lib/instrument.mjs'
import { wastore } from '../lib/paths.mjs'
import { URLS, withPg } from '../lib/services.mjs'

const PERSISTENT = ['auth', 'signal', 'preKey', 'session', 'identity', 'senderKey', 'appState', 'privacyToken', 'messages', 'threads', 'contacts']
const CACHES = ['retry', 'groupMetadata', 'chatMetadata', 'deviceList', 'messageSecret']

/** wastore's backend of `kind` under this run's unique names. */
export function wastoreBackend(kind, { tag, dir }) {
  switch (kind) {
    case 'sqlite':
      return wastore().createSqliteStore({ path: path.join(dir, `${tag}wastore.sqlite`) })
    case 'postgres':
      return wastore().createPostgresStore({ connectionString: URLS.postgres, tablePrefix: tag })
    case 'mysql':
      return wastore().createMysqlStore({ connectionString: URLS.mysql, tablePrefix: tag })
    case 'redis':
      return wastore().createRedisStore({ url: URLS.redis, keyPrefix: `${tag}:` })
    default:
      throw new Error(`unknown wastore backend ${kind}`)
  }
}

/**
 * `createStore` with every domain on one backend and the defaults otherwise:
 * the Signal cache in durable `'sync'` mode (a write resolves after its commit)
 * and write-behind for the archive.
 */
export function wastoreStore(kind, ctx) {
  return wastore().createStore({
    backends: { db: wastoreBackend(kind, ctx) },
    providers: Object.fromEntries(PERSISTENT.map((d) => [d, 'db'])),
    cacheProviders: Object.fromEntries(CACHES.map((d) => [d, 'db'])),
  })
}

/**
 * What `useBaileysAuthState`'s `baileys` option needs of the module, with
 * `initAuthCreds` answering `creds`: how pre-made creds enter an adapter that
 * makes its own. (Not a spread of the module namespace: that copies hundreds
 * of exports per account, about 1 ms and garbage that the store did not make.)
 */
const withInitialCreds = (baileys, creds) => (creds ? { initAuthCreds: () => creds, proto: baileys.proto, BufferJSON: baileys.BufferJSON } : baileys)

/**
 * The store as the Baileys adapter sees it, with the native `keys` domain
 * below the adapter instrumented: splits wastore's store time into the native
 * call and the JS glue above it (used by the profile section only, since the
 * extra wrapper costs a promise per call).
 */
function splitStore(store, counter) {
  return {
    session(id) {
      const s = store.session(id)
      return { keys: instrument(s.keys, { get: 'get', set: 'set' }, counter), flush: () => s.flush() }
    },
  }
}

/** wastore as its README tells a Baileys user: `useBaileysAuthState(store, sessionId)` on one shared store. */
function wastoreKind(kind) {
  return {
    backend: kind,
    async open(ctx) {
      const store = wastoreStore(kind, ctx)
      const target = ctx.split ? splitStore(store, ctx.backendCounter) : store
      await store.session('warm-up').keys.get('creds', ['none']) // connect and migrate once, outside any timing
      return {
        async account(id, { creds } = {}) {
          const auth = await wastore().useBaileysAuthState(target, id, { baileys: withInitialCreds(ctx.baileys, creds) })
          return { state: auth.state, saveCreds: auth.saveCreds, release: async () => {} }
        },
        close: () => store.destroy(),
      }
    },
  }
}

/** Map contents per run tag, so that closing and reopening the floor keeps them (as a database would). */
const mapData = new Map()

/** The floor: live objects in a `Map`, missing ids omitted (as zaileys and wastore's default do). */
const mapKind = {
  backend: 'memory',
  async open(ctx) {
    if (!mapData.has(ctx.tag)) mapData.set(ctx.tag, new Map())
    const data = mapData.get(ctx.tag)
    return {
      async account(id, { creds } = {}) {
        const live = data.get(`${id}\0creds`) ?? creds ?? ctx.baileys.initAuthCreds()
        const keys = {
          async get(type, ids) {
            const out = {}
            for (const i of ids) {
              const v = data.get(`${id}\0${type}\0${i}`)
              if (v !== undefined) out[i] = v
            }
            return out
          },
          async set(set) {
            for (const [type, byId] of Object.entries(set)) {
              for (const [i, v] of Object.entries(byId)) {
                if (v === null || v === undefined) data.delete(`${id}\0${type}\0${i}`)
                else data.set(`${id}\0${type}\0${i}`, v)
              }
            }
          },
        }
        return { state: { creds: live, keys }, saveCreds: async () => void data.set(`${id}\0creds`, live), release: async () => {} }
      },
      close: async () => {},
    }
  },
}

/** Baileys' own `useMultiFileAuthState`, one folder per account. */
const multiFileKind = {
  backend: 'files',
  async open(ctx) {
    return {
      async account(id) {
        const auth = await useMultiFileAuthState(path.join(ctx.dir, `multifile-${id}`))
        return { state: auth.state, saveCreds: auth.saveCreds, release: async () => {} }
      },
      close: async () => {},
    }
  },
}

/** mysql-baileys' `useMySQLAuthState`, one session name per account in one table (its module-global connection). */
const mysqlBaileysKind = {
  backend: 'mysql',
  async open(ctx) {
    const url = new URL(URLS.mysql)
    const config = { host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) || undefined, database: url.pathname.slice(1), tableName: `${ctx.tag}auth` }
    return {
      async account(id) {
        const auth = await useMySQLAuthState({ ...config, session: id })
        return { state: auth.state, saveCreds: auth.saveCreds, release: async () => {} }
      },
      close: async () => {},
    }
  },
}

/**
 * A zaileys `AuthStoreBundle` wired the way zaileys' `Client.connect()` wires
 * it: `makeCacheableAuthStore` (Baileys' cache, on by default), then
 * `signalKeyStoreFromAuthStore`. Creds: `readCreds() ?? initAuthCreds()`,
 * and every save writes the whole object.
 */
async function zaileysAccount(bundle, ctx, creds) {
  if (ctx.backendCounter) {
    bundle = { creds: bundle.creds, signal: instrument(bundle.signal, { read: 'get', write: 'set' }, ctx.backendCounter) }
  }
  const cached = makeCacheableAuthStore(bundle)
  const live = (await bundle.creds.readCreds()) ?? creds ?? ctx.baileys.initAuthCreds()
  return {
    state: { creds: live, keys: signalKeyStoreFromAuthStore(cached.signal) },
    saveCreds: () => bundle.creds.writeCreds(live),
    release: () => bundle.signal.close(),
  }
}

/** zaileys' SqliteAuthStore: one database file per account (it has no tenant column). */
const zaileysSqliteKind = {
  backend: 'sqlite',
  async open(ctx) {
    return {
      account: (id, { creds } = {}) => zaileysAccount(new SqliteAuthStore({ database: path.join(ctx.dir, `zaileys-${id}.db`) }), ctx, creds),
      close: async () => {},
    }
  },
}

/**
 * zaileys' PostgresAuthStore has no tenant column and a fixed creds row, so
 * each account gets its own schema, reached through `search_path`. The Signal
 * workload gives each account its own pool (max 1); the multi-tenant workload
 * (`sharedConnection`) switches one warm connection between schemas, so
 * connection set-up is not counted there.
 */
const zaileysPostgresKind = {
  backend: 'postgres',
  async open(ctx, { sharedConnection = false } = {}) {
    const pools = []
    const schema = (id) => `${ctx.tag}${id}`.toLowerCase()
    let shared = null
    if (sharedConnection) {
      shared = new pg.Pool({ connectionString: URLS.postgres, max: 1 })
      pools.push(shared)
    }
    return {
      /** Creates the accounts' schemas (not timed: an operator's one-off set-up). */
      async prepare(ids) {
        await withPg(async (c) => {
          for (const id of ids) await c.query(`CREATE SCHEMA IF NOT EXISTS "${schema(id)}"`)
        })
      },
      async account(id, { creds } = {}) {
        let pool = shared
        if (shared) {
          await shared.query(`SET search_path TO "${schema(id)}"`)
        } else {
          await withPg((c) => c.query(`CREATE SCHEMA IF NOT EXISTS "${schema(id)}"`))
          pool = new pg.Pool({ connectionString: URLS.postgres, max: 1, options: `-c search_path="${schema(id)}"` })
          pools.push(pool)
        }
        const account = await zaileysAccount(new PostgresAuthStore({ pool }), ctx, creds)
        return { ...account, release: async () => {} } // the pool is the caller's, closed with the kind
      },
      close: () => Promise.all(pools.map((p) => p.end())),
    }
  },
}

/** zaileys' RedisAuthStore: one node-redis client for every account, a namespace each. */
const zaileysRedisKind = {
  backend: 'redis',
  async open(ctx) {
    const client = createClient({ url: URLS.redis })
    await client.connect()
    return {
      account: async (id, { creds } = {}) => ({ ...(await zaileysAccount(new RedisAuthStore({ client, namespace: `${ctx.tag}${id}` }), ctx, creds)), release: async () => {} }),
      close: () => client.quit(),
    }
  },
}

export const AUTH_STORES = {
  map: mapKind,
  multifile: multiFileKind,
  'zaileys-sqlite': zaileysSqliteKind,
  'zaileys-postgres': zaileysPostgresKind,
  'zaileys-redis': zaileysRedisKind,
  'mysql-baileys': mysqlBaileysKind,
  'wastore-sqlite': wastoreKind('sqlite'),
  'wastore-postgres': wastoreKind('postgres'),
  'wastore-redis': wastoreKind('redis'),
  'wastore-mysql': wastoreKind('mysql'),
}

export function authStore(name) {
  const kind = AUTH_STORES[name]
  if (!kind) throw new Error(`unknown auth store ${name} (use ${Object.keys(AUTH_STORES).join(', ')})`)
  return kind
}

