'use strict'
// What the client adapters (Baileys, zaileys) share: coded errors, option
// checks, the session's domain objects, and the layout of the `keys` domain.
//
// Layout of a session's `keys` domain: Baileys' Signal keys keep their own
// `(type, id)`. Types starting with `__` are adapter records, never Signal
// keys (no Baileys type starts so): `__creds__` holds the creds (see
// baileys.js), `__zaileys_*` the zaileys message store's records (see
// zaileys.js). Clearing auth state leaves the message store's records alone,
// and the other way round.

/** The reserved entry holding Baileys' creds. */
const CREDS_TYPE = '__creds__'
const CREDS_ID = 'creds'
/** Types of the zaileys message store's records (chats, contacts, presence, jobs, …). */
const MESSAGE_STORE_PREFIX = '__zaileys_'
/** Page sizes of the async iterators (the native maximum is 1000). */
const ENTRY_PAGE = 100
const ID_PAGE = 1000

function storeError(code, message, cause) {
  const err = new Error(message, cause === undefined ? undefined : { cause })
  err.code = code
  return err
}

function checkOptions(options, allowed, name) {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw storeError('STORE_INVALID_CONFIG', `${name} must be an object`)
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw storeError('STORE_INVALID_CONFIG', `${name}.${key} is not an option; use ${allowed.join(', ')}`)
    }
  }
  return options
}

const NOT_A_STORE =
  'store must be a wastore Store (createStore(...)) or backend (createSqliteStore(...), createPostgresStore(...), ...)'

const PERSISTENT_DOMAINS = ['auth', 'signal', 'preKey', 'session', 'identity', 'senderKey', 'appState', 'privacyToken', 'messages', 'threads', 'contacts']
/** backend -> the store the adapters put over it (see `storeOver`). */
const storesOfBackends = new WeakMap()

/**
 * A backend handed to an adapter gets `createStore`'s layers once, shared by
 * every session the adapters open on it: the Signal cache answers Baileys'
 * hot-path reads (sessions, negative `lid-mapping` lookups) in process, and
 * its `'sync'` writes still resolve only once committed. Write-behind stays
 * off, so archive writes are as durable as on the bare backend.
 */
function storeOver(backend) {
  let store = storesOfBackends.get(backend)
  if (store === undefined) {
    const { createStore } = require('../index.js')
    const providers = Object.fromEntries(PERSISTENT_DOMAINS.map((domain) => [domain, 'backend']))
    store = createStore({ backends: { backend }, providers, writeBehind: false })
    storesOfBackends.set(backend, store)
  }
  return store
}

/**
 * The session's native domain objects `names` (plus `flush`), from a `Store`
 * (createStore) or a backend (createSqliteStore, ...; see `storeOver`).
 */
function sessionDomains(store, sessionId, names) {
  if (store && typeof store.session !== 'function' && store.stores && typeof store.stores.keys === 'function') {
    store = storeOver(store)
  }
  if (!store || typeof store.session !== 'function') throw storeError('STORE_INVALID_ARGUMENT', NOT_A_STORE)
  const session = store.session(sessionId)
  const get = (name) => session[name]
  const flush = () => session.flush()
  const out = { flush }
  for (const name of names) {
    const domain = get(name)
    if (!domain || typeof domain !== 'object') throw storeError('STORE_INVALID_ARGUMENT', NOT_A_STORE)
    out[name] = domain
  }
  return out
}

/** The session's native `keys` domain. */
function keyDomain(store, sessionId) {
  const { keys } = sessionDomains(store, sessionId, ['keys'])
  if (typeof keys.get !== 'function') throw storeError('STORE_INVALID_ARGUMENT', NOT_A_STORE)
  return keys
}

/** Stored creds must at least look like Baileys' `AuthenticationCreds`. */
function checkCreds(creds, where) {
  const pair = (p) => p && typeof p === 'object' && p.private instanceof Uint8Array && p.public instanceof Uint8Array
  const ok =
    creds &&
    typeof creds === 'object' &&
    !Array.isArray(creds) &&
    pair(creds.noiseKey) &&
    pair(creds.signedIdentityKey) &&
    creds.signedPreKey &&
    pair(creds.signedPreKey.keyPair) &&
    typeof creds.registrationId === 'number'
  if (!ok) {
    throw storeError(
      'STORE_CORRUPTED',
      `${where} are not Baileys creds (noiseKey, signedIdentityKey, signedPreKey and registrationId are required); refusing to start with fresh creds`
    )
  }
  return creds
}

/** Sets an own property even for the id `__proto__`. */
function setOwn(obj, id, value) {
  if (id === '__proto__') {
    Object.defineProperty(obj, id, { value, writable: true, enumerable: true, configurable: true })
  } else {
    obj[id] = value
  }
}

/** Pages of `[id, value]` of one type, streamed. */
async function* entries(native, type, wrap) {
  let after
  for (;;) {
    const page = await native.list(type, after === undefined ? { limit: ENTRY_PAGE } : { after, limit: ENTRY_PAGE })
    for (const [id, value] of page) yield [id, wrap ? wrap(value) : value]
    if (page.length < ENTRY_PAGE) return
    after = page[page.length - 1][0]
  }
}

/** Pages of ids of one type, streamed. */
async function* ids(native, type) {
  let after
  for (;;) {
    const page = await native.listIds(type, after === undefined ? { limit: ID_PAGE } : { after, limit: ID_PAGE })
    yield* page
    if (page.length < ID_PAGE) return
    after = page[page.length - 1]
  }
}

/** Every value of one type, in id order. */
async function allValues(native, type) {
  const out = []
  for await (const [, value] of entries(native, type)) out.push(value)
  return out
}

const isMessageStoreType = (type) => type.startsWith(MESSAGE_STORE_PREFIX)
/** Baileys' Signal keys: every type that is not an adapter record. */
const isSignalKeyType = (type) => !type.startsWith('__')
/** Baileys' auth state: Signal keys and creds. */
const isAuthType = (type) => !isMessageStoreType(type)

/** `{ [type]: { [id]: null } }` for every stored entry of the types `keep` selects. */
async function deletionsOf(native, keep) {
  const data = Object.create(null)
  for (const type of await native.types()) {
    if (!keep(type)) continue
    const deletes = Object.create(null)
    for await (const id of ids(native, type)) setOwn(deletes, id, null)
    data[type] = deletes
  }
  return data
}

/** Deletes every entry of the types `keep` selects, in one transaction (one native `clear` when that is all of them). */
async function clearTypes(native, keep) {
  const types = await native.types()
  if (types.every(keep)) return native.clear()
  return native.set(await deletionsOf(native, keep))
}

module.exports = {
  CREDS_TYPE,
  CREDS_ID,
  MESSAGE_STORE_PREFIX,
  storeError,
  checkOptions,
  sessionDomains,
  keyDomain,
  checkCreds,
  setOwn,
  entries,
  ids,
  allValues,
  isSignalKeyType,
  isAuthType,
  isMessageStoreType,
  deletionsOf,
  clearTypes
}
