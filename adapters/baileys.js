'use strict'
// Baileys' auth state on a wastore store, and import of `useMultiFileAuthState`
// folders. Baileys is an optional peer dependency, loaded on first use (it is
// ESM-only, hence `import()`).
//
// Layout: everything lives in the session's `keys` domain. Signal keys keep
// Baileys' own `(type, id)`; the creds are one more entry, of the reserved type
// `__creds__`, so an import writes creds and keys in one transaction.
//
// The key-store methods hand back the native promise itself (no async wrapper):
// Baileys keeps one AsyncLocalStorage per key store, and on Node 20 every promise
// created in the process pays for each of them.

const fs = require('node:fs/promises')
const path = require('node:path')

const {
  CREDS_TYPE,
  CREDS_ID,
  storeError,
  checkOptions,
  keyDomain,
  checkCreds,
  setOwn,
  entries,
  ids,
  isAuthType,
  isSignalKeyType,
  deletionsOf,
  clearTypes
} = require('./common.js')

const SYNC_KEY_TYPE = 'app-state-sync-key'

let defaultBaileys = null

/** `@whiskeysockets/baileys`, else the unscoped `baileys` package (same project). */
function importDefaultBaileys() {
  defaultBaileys ??= (async () => {
    const missing = []
    for (const name of ['@whiskeysockets/baileys', 'baileys']) {
      try {
        return await import(name)
      } catch (err) {
        const notFound = err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(`'${name}'`)
        if (!notFound) throw err
        missing.push(err)
      }
    }
    throw storeError(
      'STORE_INVALID_CONFIG',
      'wastore Baileys adapter: Baileys is not installed. Run `npm install @whiskeysockets/baileys` (or pass options.baileys, the module namespace)',
      missing[0]
    )
  })()
  // A failed import may succeed after an install; do not memoize failure.
  defaultBaileys.catch(() => {
    defaultBaileys = null
  })
  return defaultBaileys
}

/** The parts of Baileys this module uses, checked once. */
async function loadBaileys(explicit, field) {
  const mod = explicit === undefined ? await importDefaultBaileys() : explicit
  const ns = mod && typeof mod.initAuthCreds !== 'function' && mod.default ? mod.default : mod
  const syncKeyData = ns && ns.proto && ns.proto.Message && ns.proto.Message.AppStateSyncKeyData
  const bufferJson = ns && ns.BufferJSON
  if (
    !ns ||
    typeof ns.initAuthCreds !== 'function' ||
    !syncKeyData ||
    typeof syncKeyData.fromObject !== 'function' ||
    !bufferJson ||
    typeof bufferJson.reviver !== 'function'
  ) {
    throw storeError(
      'STORE_INVALID_CONFIG',
      `${field} must be the Baileys module (with initAuthCreds, BufferJSON and proto), e.g. await import('@whiskeysockets/baileys')`
    )
  }
  return { initAuthCreds: ns.initAuthCreds, syncKeyData, reviver: bufferJson.reviver }
}

/**
 * `useMultiFileAuthState`'s shape on a wastore store:
 * `const { state, saveCreds, clear } = await useBaileysAuthState(store, sessionId)`.
 */
async function useBaileysAuthState(store, sessionId, options) {
  const opts = checkOptions(options, ['baileys', 'missingKeys'], 'options')
  if (opts.missingKeys !== undefined && opts.missingKeys !== 'omit' && opts.missingKeys !== 'null') {
    throw storeError('STORE_INVALID_CONFIG', "options.missingKeys must be 'omit' (the default) or 'null'")
  }
  // `null` for missing ids: Baileys' transaction cache then remembers the miss,
  // which saves it a second `lid-mapping` read per encrypt and decrypt.
  const getOptions = opts.missingKeys === 'null' ? { missing: 'null' } : undefined
  const native = keyDomain(store, sessionId)
  const baileys = await loadBaileys(opts.baileys, 'options.baileys')
  const stored = await native.get(CREDS_TYPE, [CREDS_ID])
  const creds = Object.hasOwn(stored, CREDS_ID)
    ? checkCreds(stored[CREDS_ID], `the stored creds of session ${JSON.stringify(String(sessionId))}`)
    : baileys.initAuthCreds()

  const wrapSyncKey = (value) => baileys.syncKeyData.fromObject(value)
  const wrapFound = (found) => {
    for (const id of Object.keys(found)) if (found[id] !== null) setOwn(found, id, wrapSyncKey(found[id]))
    return found
  }
  const keys = {
    get: (type, wanted) => {
      try {
        const found = native.get(type, wanted, getOptions)
        return type === SYNC_KEY_TYPE ? found.then(wrapFound) : found
      } catch (err) {
        return Promise.reject(err) // bad arguments throw in the native call; callers expect a promise
      }
    },
    set: (data) => {
      try {
        return native.set(data)
      } catch (err) {
        return Promise.reject(err)
      }
    },
    /** Deletes every Signal key of this session in one transaction; the creds stay. */
    clear: async () => native.set(await deletionsOf(native, isSignalKeyType)),
    list: (type) => entries(native, type, type === SYNC_KEY_TYPE ? wrapSyncKey : undefined),
    listIds: (type) => ids(native, type)
  }
  // Saves run one after another, each encoding the creds as they are when it
  // starts: concurrent saves (one per `creds.update`) can then never commit an
  // older snapshot over a newer one, whatever order a connection pool runs them in.
  let saving = Promise.resolve()
  const writeCreds = () => native.set({ [CREDS_TYPE]: { [CREDS_ID]: creds } })
  return {
    state: { creds, keys },
    /** Replaces the stored creds with the live object, atomically; saves are applied in call order. */
    saveCreds: () => {
      const done = saving.then(writeCreds)
      saving = done.catch(() => {}) // the caller gets the error; the next save still runs
      return done
    },
    /** Deletes this session's whole Baileys auth state (creds and keys); a zaileys message store's records stay. */
    clear: () => clearTypes(native, isAuthType)
  }
}

// ---- import from a useMultiFileAuthState folder -------------------------------

/**
 * The key types of Baileys 7.0.0-rc14, and how each one's ids survive
 * `useMultiFileAuthState`'s file names (`/` → `__`, `:` → `-`).
 */
const ID_DECODERS = {
  // Decimal key ids.
  'pre-key': (id) => id,
  // `<user>[_<domain>].<device>`: neither `/` nor `:`.
  session: (id) => id,
  'identity-key': (id) => id,
  // `<pnUser>` and `<lidUser>_reverse`.
  'lid-mapping': (id) => id,
  'device-list': (id) => id,
  // Group JIDs (old ones hold a `-` of their own, never a `:`).
  'sender-key-memory': (id) => id,
  'app-state-sync-version': (id) => id,
  // `<group>::<user>[_<domain>]::<device>`: user and device hold no `-`, so the last two `--` were `::`.
  'sender-key': (id) => {
    const m = /^(.+)--([^-]+)--([^-]+)$/.exec(id)
    return m ? `${m[1]}::${m[2]}::${m[3]}` : null
  },
  // Base64 key ids: base64 has no `_`, so every `__` was a `/`.
  'app-state-sync-key': (id) => id.replace(/__/g, '/'),
  // User JIDs, possibly with a device (`<user>:<device>@server`), plus the sentinel `__index`.
  tctoken: (id) => (id === '__index' ? id : id.replace(/^([^@-]+)-(\d+)@/, '$1:$2@'))
}

/** Splits `<type>-<id>.json` by the longest known type that prefixes it. */
function parseKeyFileName(base, types) {
  for (const type of types) {
    if (base.length > type.length + 1 && base.startsWith(`${type}-`)) {
      const decode = ID_DECODERS[type] || ((id) => id)
      const id = decode(base.slice(type.length + 1))
      return id ? { type, id } : { type, error: `its id does not have the ${type} form` }
    }
  }
  return { error: 'it is not creds.json and does not start with a known key type' }
}

/**
 * Reads a `useMultiFileAuthState` folder and writes creds and every key into
 * `sessionId` of `store` in ONE `set` (one transaction). Nothing is written
 * when any `.json` file cannot be parsed, unless `skipUnparseable` (creds.json
 * must always parse). Resolves to a report of what was written.
 */
async function importMultiFileAuthState(folder, store, sessionId, options) {
  const opts = checkOptions(options, ['baileys', 'replace', 'skipUnparseable', 'types'], 'options')
  if (typeof folder !== 'string' || folder === '') {
    throw storeError('STORE_INVALID_ARGUMENT', 'folder must be the path of a useMultiFileAuthState folder')
  }
  const extraTypes = opts.types === undefined ? [] : opts.types
  if (!Array.isArray(extraTypes) || !extraTypes.every((t) => typeof t === 'string' && t !== '')) {
    throw storeError('STORE_INVALID_CONFIG', 'options.types must be an array of key type names')
  }
  const native = keyDomain(store, sessionId)
  const { reviver } = await loadBaileys(opts.baileys, 'options.baileys')
  const types = [...new Set([...Object.keys(ID_DECODERS), ...extraTypes])].sort((a, b) => b.length - a.length)

  let dirents
  try {
    dirents = await fs.readdir(folder, { withFileTypes: true })
  } catch (err) {
    const code = err.code === 'ENOENT' || err.code === 'ENOTDIR' ? 'STORE_INVALID_ARGUMENT' : 'STORE_READ_FAILED'
    throw storeError(code, `cannot read the folder ${folder}: ${err.message}`, err)
  }
  dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))

  const data = Object.create(null)
  const counts = Object.create(null)
  const origin = new Map() // `${type}\0${id}` → file, to catch two files that decode to one id
  const unparseable = []
  const ignored = []
  let creds
  for (const dirent of dirents) {
    const name = dirent.name
    if (!dirent.isFile() || !name.endsWith('.json')) {
      ignored.push(name)
      continue
    }
    const key = name === 'creds.json' ? { type: CREDS_TYPE, id: CREDS_ID } : parseKeyFileName(name.slice(0, -5), types)
    if (key.error) {
      unparseable.push({ file: name, reason: key.error })
      continue
    }
    let text
    try {
      text = await fs.readFile(path.join(folder, name), 'utf8')
    } catch (err) {
      throw storeError('STORE_READ_FAILED', `cannot read ${path.join(folder, name)}: ${err.message}`, err)
    }
    let value
    try {
      value = JSON.parse(text, reviver)
    } catch (err) {
      unparseable.push({ file: name, reason: `not valid BufferJSON (${err.message})` })
      continue
    }
    if (value === null || value === undefined) {
      unparseable.push({ file: name, reason: 'it holds null' })
      continue
    }
    if (key.type === CREDS_TYPE) {
      creds = value
      continue
    }
    const seen = origin.get(`${key.type}\0${key.id}`)
    if (seen !== undefined) {
      unparseable.push({ file: name, reason: `it names the same ${key.type} id as ${seen}` })
      continue
    }
    origin.set(`${key.type}\0${key.id}`, name)
    data[key.type] ??= Object.create(null)
    data[key.type][key.id] = value
    counts[key.type] = (counts[key.type] || 0) + 1
  }

  // The creds are never skipped: without them the keys are of no use.
  const credsProblem = unparseable.find((u) => u.file === 'creds.json')
  if (credsProblem || creds === undefined) {
    const why = credsProblem ? credsProblem.reason : 'it is missing (is this a useMultiFileAuthState folder?)'
    throw storeError('STORE_CORRUPTED', `${path.join(folder, 'creds.json')}: ${why}; nothing was imported`)
  }
  if (unparseable.length && !opts.skipUnparseable) {
    const err = storeError(
      'STORE_CORRUPTED',
      `${unparseable.length} file(s) in ${folder} cannot be imported, so nothing was written: ` +
        unparseable.map((u) => `${u.file} (${u.reason})`).join('; ') +
        '. Fix or remove them, or pass skipUnparseable (CLI: --skip-unparseable) to import the rest.'
    )
    err.files = unparseable
    throw err
  }
  checkCreds(creds, `${path.join(folder, 'creds.json')}`)

  const existing = (await native.types()).some(isAuthType)
  if (existing && !opts.replace) {
    throw storeError(
      'STORE_INVALID_ARGUMENT',
      `session ${JSON.stringify(String(sessionId))} already holds Baileys auth state; import into a new session id, or pass replace (CLI: --replace) to replace it`
    )
  }
  // Replacing: the old keys are deleted in the same transaction (writes of the same id win over the deletes).
  const write = existing ? await deletionsOf(native, isSignalKeyType) : Object.create(null)
  for (const type of Object.keys(data)) write[type] = Object.assign(write[type] || Object.create(null), data[type])
  write[CREDS_TYPE] = { [CREDS_ID]: creds }
  await native.set(write)

  const sortedCounts = {}
  for (const type of Object.keys(counts).sort()) sortedCounts[type] = counts[type]
  return {
    sessionId: String(sessionId).trim(),
    creds: true,
    counts: sortedCounts,
    keys: Object.values(counts).reduce((a, b) => a + b, 0),
    replaced: existing,
    skipped: unparseable,
    ignored
  }
}

module.exports = {
  useBaileysAuthState,
  importMultiFileAuthState,
  BAILEYS_CREDS_TYPE: CREDS_TYPE,
  BAILEYS_CREDS_ID: CREDS_ID
}
