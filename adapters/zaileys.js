'use strict'
// zaileys' `AuthStoreBundle` and `MessageStore` on a wastore store
// (zaileys >= 4.8: `new Client({ auth, store })`). No zaileys or Baileys
// import is needed at run time.
//
// Auth: the Baileys adapter's layout (common.js), so one session id can be
// opened by either adapter: creds under `__creds__`, Signal keys under
// Baileys' own `(type, id)` in the session's `keys` domain.
//
// Messages go to the session's zapo-style `messages` domain, so they page
// with a real backend query and pass through write-behind when the store has
// it. A Baileys message is keyed by (remoteJid, id, fromMe), a zapo message
// by its id alone, so the stored id is `b|<0|1>|<remoteJid>|<id>` with `%` and
// `|` of the jid escaped as `%25` / `%7C` (injective: the jid part holds no
// `|`; WhatsApp's own ids never contain `|`, so they cannot collide). The row
// keeps `threadJid` = remoteJid, `fromMe`, `senderJid`/`participantJid`,
// `timestampMs` = messageTimestamp × 1000, and the whole `WAMessage` (WSV) as
// `messageBytes`. Chats and contacts are mirrored field by field into the
// `threads` / `contacts` domains for zapo readers; the whole Baileys objects,
// presence, scheduled jobs and the list of chats holding messages have no
// zapo-style home and live in the `keys` domain under `__zaileys_*` types.

const { encodeValue, decodeValue } = require('../index.js')
const {
  CREDS_TYPE,
  CREDS_ID,
  MESSAGE_STORE_PREFIX,
  storeError,
  checkOptions,
  sessionDomains,
  checkCreds,
  setOwn,
  ids,
  allValues,
  isAuthType,
  clearTypes
} = require('./common.js')

const CHAT_TYPE = `${MESSAGE_STORE_PREFIX}chat__`
const CONTACT_TYPE = `${MESSAGE_STORE_PREFIX}contact__`
const PRESENCE_TYPE = `${MESSAGE_STORE_PREFIX}presence__`
const JOB_TYPE = `${MESSAGE_STORE_PREFIX}job__`
/** Chats that hold (or held) messages of this store: what `pruneMessages` walks. */
const THREAD_TYPE = `${MESSAGE_STORE_PREFIX}thread__`
/** What `clear()` empties (scheduled jobs are pending sends: they stay). */
const CLEARED_TYPES = [CHAT_TYPE, CONTACT_TYPE, PRESENCE_TYPE, THREAD_TYPE]

const ID_PREFIX = 'b|'
const DEFAULT_LIST_LIMIT = 100
const DEFAULT_PRESENCE_TTL_MS = 5 * 60 * 1000
/** Messages per `upsertBatch` call of a bulk save. */
const SAVE_CHUNK = 5000
/** Messages per page while `pruneMessages` looks for the newest N. */
const PRUNE_PAGE = 1000
const MESSAGE_STORE_EVENTS = [
  'messages.upsert',
  'messages.update',
  'messages.delete',
  'messaging-history.set',
  'chats.upsert',
  'chats.update',
  'chats.delete',
  'contacts.upsert',
  'contacts.update',
  'presence.update'
]

const noop = () => {}

function closedError(what) {
  return storeError('STORE_CLOSED', `the wastore zaileys ${what} is closed`)
}

function invalid(message) {
  return storeError('STORE_INVALID_ARGUMENT', message)
}

/** Rejects instead of throwing, so every method returns a promise. */
function promised(fn) {
  return (...args) => {
    try {
      return Promise.resolve(fn(...args))
    } catch (err) {
      return Promise.reject(err)
    }
  }
}

// ---- AuthStoreBundle ---------------------------------------------------------

/** Signal writes of an adapter record type would corrupt the adapters' own data. */
function checkSignalType(type) {
  if (typeof type !== 'string' || type === '' || type.startsWith('__')) {
    throw invalid(`type must be a Baileys key type (a non-empty string not starting with "__"), got ${JSON.stringify(type)}`)
  }
}

/** zaileys' `write(data)`: `null` deletes, `undefined` is left out (zaileys ignores it). */
function signalWrites(data) {
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw invalid('data must be a SignalDataSet object')
  let copy = null
  for (const type of Object.keys(data)) {
    const byId = data[type]
    if (byId === undefined || byId === null) continue
    checkSignalType(type)
    if (typeof byId !== 'object') continue // the native call names the bad value
    for (const id of Object.keys(byId)) {
      if (byId[id] !== undefined) continue
      copy ??= {}
      if (!copy[type]) {
        copy[type] = Object.create(null)
        for (const k of Object.keys(byId)) if (byId[k] !== undefined) setOwn(copy[type], k, byId[k])
      }
    }
  }
  if (!copy) return data
  const out = Object.create(null)
  for (const type of Object.keys(data)) out[type] = copy[type] || data[type]
  return out
}

/**
 * zaileys' `AuthStoreBundle` on a wastore store:
 * `new Client({ auth: createZaileysAuthStore(store, 'main') })`.
 */
function createZaileysAuthStore(store, sessionId) {
  const { keys: native } = sessionDomains(store, sessionId, ['keys'])
  let closed = false
  const open = () => {
    if (closed) throw closedError('auth store')
  }
  // Creds writes (and the clear/delete that follow them) run one after
  // another: zaileys fires `writeCreds` per `creds.update` without waiting,
  // and a pool must not commit an older snapshot over a newer one.
  let credsTail = Promise.resolve()
  const inCredsOrder = (task) => {
    const done = credsTail.then(task)
    credsTail = done.then(noop, noop)
    return done
  }

  const creds = {
    readCreds: promised(async () => {
      open()
      await credsTail
      const stored = await native.get(CREDS_TYPE, [CREDS_ID])
      if (!Object.hasOwn(stored, CREDS_ID)) return undefined
      return checkCreds(stored[CREDS_ID], `the stored creds of session ${JSON.stringify(String(sessionId))}`)
    }),
    writeCreds: promised((value) => {
      open()
      if (!value || typeof value !== 'object') throw invalid('creds must be an AuthenticationCreds object')
      return inCredsOrder(() => native.set({ [CREDS_TYPE]: { [CREDS_ID]: value } }))
    }),
    deleteCreds: promised(() => {
      open()
      return inCredsOrder(() => native.set({ [CREDS_TYPE]: { [CREDS_ID]: null } }))
    })
  }

  const signal = {
    read: promised((type, wanted) => {
      open()
      checkSignalType(type)
      return native.get(type, wanted)
    }),
    write: promised((data) => {
      open()
      return native.set(signalWrites(data))
    }),
    delete: promised((type, wanted) => {
      open()
      checkSignalType(type)
      if (!Array.isArray(wanted)) throw invalid('ids must be an array of key ids')
      const deletes = Object.create(null)
      for (const id of wanted) setOwn(deletes, id, null)
      return native.set({ [type]: deletes })
    }),
    /** Deletes the creds and every Signal key (zaileys' contract), in one transaction; message-store records stay. */
    clear: promised(() => {
      open()
      return inCredsOrder(() => clearTypes(native, isAuthType))
    }),
    /** Later calls (creds ones too) reject with `STORE_CLOSED`; pending creds writes finish first. Idempotent. */
    close: promised(async () => {
      closed = true
      await credsTail
    }),
    /** Undoes `close()` (zaileys' adapters have it too). */
    reopen: promised(() => {
      closed = false
    })
  }
  return { creds, signal }
}

// ---- values and records ------------------------------------------------------

/** A protobuf number (number, Long, bigint, numeric string) as a JS number; `undefined` if none. */
function toNumber(v) {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined
  if (typeof v === 'bigint') return Number(v)
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v)
    return Number.isFinite(n) ? n : undefined
  }
  if (v && typeof v === 'object') {
    if (typeof v.toNumber === 'function') return v.toNumber()
    if (typeof v.low === 'number' && typeof v.high === 'number') {
      return (v.unsigned ? v.high >>> 0 : v.high) * 4294967296 + (v.low >>> 0)
    }
  }
  return undefined
}

/** A safe integer for a zapo number field, or `undefined`. */
function toInt(v) {
  const n = toNumber(v)
  return n !== undefined && Number.isSafeInteger(Math.trunc(n)) ? Math.trunc(n) : undefined
}

const text = (v) => (typeof v === 'string' ? v : undefined)
const escapeJid = (jid) => jid.replace(/%/g, '%25').replace(/\|/g, '%7C')

/** The stored id of a message key; `undefined` when the key cannot name one. */
function storedId(key) {
  if (!key || typeof key !== 'object') return undefined
  const { remoteJid, id } = key
  if (typeof remoteJid !== 'string' || remoteJid === '' || typeof id !== 'string' || id === '') return undefined
  return `${ID_PREFIX}${key.fromMe ? 1 : 0}|${escapeJid(remoteJid)}|${id}`
}

function messageId(message, where) {
  if (!message || typeof message !== 'object') throw invalid(`${where} must be a WAMessage object`)
  const id = storedId(message.key)
  if (id === undefined) throw invalid(`${where}.key must have a non-empty remoteJid and id`)
  return id
}

/** A `WAMessage` as a zapo-style message record (the whole message in `messageBytes`). */
function messageRecord(message, id) {
  const key = message.key
  const participant = text(key.participant) || undefined
  const seconds = toNumber(message.messageTimestamp) ?? 0
  const timestampMs = Math.round(seconds * 1000)
  if (!Number.isSafeInteger(timestampMs)) throw invalid(`messageTimestamp ${String(seconds)} is out of range`)
  return {
    id,
    threadJid: key.remoteJid,
    senderJid: participant ?? (key.fromMe ? undefined : key.remoteJid),
    participantJid: participant,
    fromMe: !!key.fromMe,
    timestampMs,
    messageBytes: encodeValue(message)
  }
}

function messageOf(record) {
  if (!(record.messageBytes instanceof Uint8Array)) {
    throw storeError('STORE_CORRUPTED', `message ${JSON.stringify(record.id)} has no WAMessage bytes`)
  }
  return decodeValue(record.messageBytes)
}

const isOurs = (record) => record.id.startsWith(ID_PREFIX)

/** Sets `field` from `value`; Baileys' `null` (cleared) becomes `cleared`. */
function put(out, field, value, convert, cleared) {
  if (value === null) {
    if (cleared !== undefined) out[field] = cleared
  } else if (value !== undefined) {
    const v = convert(value)
    if (v !== undefined) out[field] = v
  }
}

/** A Baileys `Chat` as a zapo thread record (absent fields keep their stored values). */
function threadRecord(chat) {
  const out = { jid: chat.id }
  put(out, 'name', chat.name, text)
  put(out, 'unreadCount', chat.unreadCount, toInt, 0)
  put(out, 'archived', chat.archived, Boolean, false)
  put(out, 'pinned', chat.pinned, toInt, 0)
  put(out, 'muteEndMs', chat.muteEndTime, toInt, 0)
  put(out, 'markedAsUnread', chat.markedAsUnread, Boolean, false)
  put(out, 'ephemeralExpiration', chat.ephemeralExpiration, toInt, 0)
  put(out, 'ephemeralSettingTimestamp', chat.ephemeralSettingTimestamp, toInt, 0)
  return out
}

/** A Baileys `Contact` as a zapo contact record. */
function contactRecord(contact) {
  const out = { jid: contact.id, lastUpdatedMs: Date.now() }
  put(out, 'displayName', contact.name, text)
  put(out, 'pushName', contact.notify, text)
  put(out, 'lid', contact.lid, text)
  put(out, 'phoneNumber', contact.phoneNumber, text)
  put(out, 'username', contact.username, text)
  return out
}

/** A chat as stored: `conditional` (a function) and `messages` (the archive has them) are left out. */
function storedChat(chat) {
  if (!('conditional' in chat) && !('messages' in chat)) return chat
  const { conditional, messages, ...rest } = chat
  void conditional
  void messages
  return rest
}

function checkJid(jid, what) {
  if (typeof jid !== 'string' || jid === '') throw invalid(`${what} must be a non-empty jid string`)
}

function recordId(record, what) {
  if (!record || typeof record !== 'object') throw invalid(`${what} must be an object`)
  checkJid(record.id, `${what}.id`)
  return record.id
}

// ---- per-key ordering --------------------------------------------------------

/**
 * Tasks on the same key run one after another, in call order; tasks on other
 * keys run concurrently. Every read-modify-write of a record (an update merged
 * into a stored message or chat) runs in its key's line, so concurrent events
 * never lose an update. Per process: run one process per session id, as
 * Baileys requires.
 */
class KeyedQueue {
  constructor() {
    this.tails = new Map()
  }

  run(keys, task) {
    const earlier = []
    for (const k of keys) {
      const t = this.tails.get(k)
      if (t !== undefined) earlier.push(t)
    }
    const start = earlier.length === 0 ? Promise.resolve() : Promise.all(earlier)
    const done = start.then(task)
    const tail = done.then(noop, noop)
    for (const k of keys) this.tails.set(k, tail)
    tail.then(() => {
      for (const k of keys) if (this.tails.get(k) === tail) this.tails.delete(k)
    })
    return done
  }

  /** Settles once every task queued so far on `key` has. */
  settled(key) {
    return this.tails.get(key) ?? Promise.resolve()
  }

  /** Settles once every task queued so far has. */
  idle() {
    return Promise.all(new Set(this.tails.values()))
  }
}

// ---- MessageStore ------------------------------------------------------------

/**
 * zaileys' `MessageStore` on a wastore store:
 * `new Client({ store: createZaileysMessageStore(store, 'main') })`.
 * Options: `presenceTtlMs` (default 300 000: a presence older than that reads
 * as absent), `onError(err, event)` (errors of bound event handlers; without
 * it they are kept and `flush()` / `close()` reject with them).
 */
function createZaileysMessageStore(store, sessionId, options) {
  const opts = checkOptions(options, ['presenceTtlMs', 'onError'], 'options')
  const presenceTtlMs = opts.presenceTtlMs ?? DEFAULT_PRESENCE_TTL_MS
  if (!Number.isSafeInteger(presenceTtlMs) || presenceTtlMs <= 0) {
    throw storeError('STORE_INVALID_CONFIG', 'options.presenceTtlMs must be a positive integer (milliseconds)')
  }
  if (opts.onError !== undefined && typeof opts.onError !== 'function') {
    throw storeError('STORE_INVALID_CONFIG', 'options.onError must be a function (err, event) => void')
  }
  const d = sessionDomains(store, sessionId, ['keys', 'messages', 'threads', 'contacts'])
  const queue = new KeyedQueue()
  /** Chats known to be in THREAD_TYPE (written once per process). */
  const indexed = new Set()
  /** Errors of bound handlers not yet reported (no `onError`). */
  let unreported = []
  let closed = false
  let bound = null

  const open = () => {
    if (closed) throw closedError('message store')
  }
  const api = (fn) =>
    promised((...args) => {
      open()
      return fn(...args)
    })

  // -- messages --

  /** Upserts whole messages, `SAVE_CHUNK` per native call, in their keys' lines. */
  function saveMessages(list, where) {
    if (!Array.isArray(list)) throw invalid(`${where} must be an array of WAMessage`)
    const records = list.map((m, i) => messageRecord(m, messageId(m, `${where}[${i}]`)))
    if (records.length === 0) return Promise.resolve()
    return queue.run(
      records.map((r) => r.id),
      async () => {
        const fresh = [...new Set(records.map((r) => r.threadJid))].filter((jid) => !indexed.has(jid))
        if (fresh.length > 0) {
          // Before the messages: the list of chats to prune is a superset of the chats holding messages.
          const entries = Object.create(null)
          for (const jid of fresh) setOwn(entries, jid, true)
          await d.keys.set({ [THREAD_TYPE]: entries })
          for (const jid of fresh) indexed.add(jid)
        }
        for (let i = 0; i < records.length; i += SAVE_CHUNK) {
          await d.messages.upsertBatch(records.slice(i, i + SAVE_CHUNK))
        }
      }
    )
  }

  async function readMessage(id) {
    const record = await d.messages.getById(id)
    return record ? messageOf(record) : undefined
  }

  /** Merges `update` into the stored message (if any): Baileys' store semantics, status never going back. */
  function updateMessage(key, update) {
    const id = storedId(key)
    if (id === undefined) throw invalid('messages.update: key must have a non-empty remoteJid and id')
    if (!update || typeof update !== 'object') throw invalid('messages.update: update must be an object')
    return queue.run([id], async () => {
      const current = await readMessage(id)
      if (current === undefined) return
      const patch = { ...update }
      if (patch.status != null && current.status != null && toNumber(patch.status) <= toNumber(current.status)) {
        delete patch.status
      }
      delete patch.key
      const merged = Object.assign(current, patch)
      await d.messages.upsert(messageRecord(merged, id))
    })
  }

  function deleteMessageById(id) {
    return queue.run([id], () => d.messages.deleteById(id))
  }

  /** Deletes every message of a chat (Baileys' `messages.delete { jid, all }`). */
  async function deleteChatMessages(jid) {
    await queue.idle()
    await d.messages.deleteByThread(jid)
  }

  async function listMessages(jid, options) {
    checkJid(jid, 'jid')
    const o = checkOptions(options, ['limit', 'before', 'cursor'], 'options')
    const page = { limit: o.limit ?? DEFAULT_LIST_LIMIT }
    if (o.cursor !== undefined && o.cursor !== null) {
      // A cursor lies below the first page's `before` already.
      page.cursor = o.cursor
    } else if (o.before !== undefined && o.before !== null) {
      if (typeof o.before !== 'number' || !Number.isFinite(o.before)) {
        throw invalid('options.before must be epoch seconds (a number)')
      }
      page.beforeTimestampMs = Math.ceil(o.before * 1000)
    }
    await queue.idle()
    const { messages, nextCursor } = await d.messages.listPageByThread(jid, page)
    const out = []
    for (const record of messages) if (isOurs(record)) out.push(messageOf(record))
    if (nextCursor !== undefined && nextCursor !== null) {
      Object.defineProperty(out, 'nextCursor', { value: nextCursor, writable: true, configurable: true })
    }
    return out
  }

  /** Pages of every chat holding messages of this store. */
  async function indexedChats() {
    const out = []
    for await (const jid of ids(d.keys, THREAD_TYPE)) out.push(jid)
    return out
  }

  /** The cursor just after the `n`-th newest message of `jid`, or `undefined` when it has at most `n`. */
  async function cursorAfter(jid, n) {
    let cursor
    for (let left = n; left > 0; ) {
      const limit = Math.min(left, PRUNE_PAGE)
      const page = await d.messages.listPageByThread(jid, cursor === undefined ? { limit } : { limit, cursor })
      if (page.nextCursor === undefined || page.nextCursor === null) return undefined
      cursor = page.nextCursor
      left -= limit
    }
    return cursor
  }

  async function pruneMessages(options) {
    const o = checkOptions(options, ['olderThan', 'maxPerChat', 'chatFilter'], 'options')
    if (o.olderThan !== undefined && (typeof o.olderThan !== 'number' || !Number.isFinite(o.olderThan))) {
      throw invalid('options.olderThan must be epoch seconds (a number)')
    }
    if (o.maxPerChat !== undefined && (!Number.isSafeInteger(o.maxPerChat) || o.maxPerChat < 0)) {
      throw invalid('options.maxPerChat must be a non-negative integer')
    }
    if (o.chatFilter !== undefined && typeof o.chatFilter !== 'function') {
      throw invalid('options.chatFilter must be a function (jid) => boolean')
    }
    await queue.idle()
    let removed = 0
    for (const jid of await indexedChats()) {
      if (o.chatFilter && !o.chatFilter(jid)) continue
      if (o.olderThan !== undefined) {
        removed += await d.messages.deleteByThread(jid, { beforeTimestampMs: Math.ceil(o.olderThan * 1000) })
      }
      if (o.maxPerChat === 0) {
        removed += await d.messages.deleteByThread(jid)
      } else if (o.maxPerChat !== undefined) {
        const cursor = await cursorAfter(jid, o.maxPerChat)
        if (cursor !== undefined) removed += await d.messages.deleteByThread(jid, { cursor })
      }
    }
    return removed
  }

  // -- chats, contacts: the whole object in `keys`, the mirror in threads / contacts --

  function writeChats(chats) {
    const whole = Object.create(null)
    for (const chat of chats) setOwn(whole, chat.id, chat)
    return Promise.all([d.keys.set({ [CHAT_TYPE]: whole }), d.threads.upsertBatch(chats.map(threadRecord))])
  }

  function writeContacts(contacts) {
    const whole = Object.create(null)
    for (const contact of contacts) setOwn(whole, contact.id, contact)
    return Promise.all([d.keys.set({ [CONTACT_TYPE]: whole }), d.contacts.upsertBatch(contacts.map(contactRecord))])
  }

  /**
   * Writes records of one kind in their keys' lines. `merge(stored, incoming)`
   * (when given) reads the stored ones first; it returns the record to write,
   * or `undefined` to leave the stored one as it is.
   */
  function upsertRecords(type, prefix, list, where, write, merge) {
    if (!Array.isArray(list)) throw invalid(`${where} must be an array`)
    const byId = new Map()
    list.forEach((item, i) => {
      const id = recordId(item, `${where}[${i}]`)
      byId.set(id, byId.has(id) && merge ? [...byId.get(id), item] : [item])
    })
    if (byId.size === 0) return Promise.resolve()
    const wanted = [...byId.keys()]
    return queue.run(
      wanted.map((id) => prefix + id),
      async () => {
        const stored = merge ? await d.keys.get(type, wanted) : null
        const out = []
        for (const id of wanted) {
          let record = merge && Object.hasOwn(stored, id) ? stored[id] : undefined
          let changed = false
          for (const item of byId.get(id)) {
            const next = merge ? merge(record, item) : item
            if (next !== undefined) [record, changed] = [next, true]
          }
          if (changed) out.push(record)
        }
        if (out.length > 0) await write(out)
      }
    )
  }

  const saveChats = (chats, where, merge) =>
    upsertRecords(CHAT_TYPE, 'chat:', chats, where, (list) => writeChats(list.map(storedChat)), merge)
  const saveContacts = (contacts, where, merge) =>
    upsertRecords(CONTACT_TYPE, 'contact:', contacts, where, writeContacts, merge)

  /** Baileys' `chats.update`: merged into the stored chat; a positive `unreadCount` adds to it. */
  const mergeChat = (stored, update) => {
    const patch = storedChat(update)
    if (stored && typeof patch.unreadCount === 'number' && patch.unreadCount > 0) {
      patch.unreadCount = (typeof stored.unreadCount === 'number' && stored.unreadCount > 0 ? stored.unreadCount : 0) + patch.unreadCount
    }
    return { ...(stored || {}), ...patch }
  }
  const mergeRecord = (stored, update) => ({ ...(stored || {}), ...update })
  /** History sync: a chat already stored is newer than the snapshot; keep it. */
  const keepStored = (stored, incoming) => (stored === undefined ? incoming : undefined)

  async function deleteChats(jids) {
    if (!Array.isArray(jids)) throw invalid('chats.delete must be an array of jids')
    jids.forEach((jid, i) => checkJid(jid, `chats.delete[${i}]`))
    if (jids.length === 0) return
    await queue.run(
      jids.map((jid) => `chat:${jid}`),
      async () => {
        const deletes = Object.create(null)
        for (const jid of jids) setOwn(deletes, jid, null)
        await Promise.all([d.keys.set({ [CHAT_TYPE]: deletes }), ...jids.map((jid) => d.threads.deleteByJid(jid))])
      }
    )
  }

  async function getRecord(type, prefix, jid) {
    checkJid(jid, 'jid')
    await queue.settled(prefix + jid)
    const found = await d.keys.get(type, [jid])
    return Object.hasOwn(found, jid) ? found[jid] : undefined
  }

  // -- presence --

  function savePresences(presences) {
    const entries = Object.create(null)
    const expiresAtMs = Date.now() + presenceTtlMs
    for (const [jid, presence] of presences) {
      checkJid(jid, 'presence jid')
      if (!presence || typeof presence !== 'object') throw invalid('presence must be a PresenceData object')
      setOwn(entries, jid, { presence, expiresAtMs })
    }
    const jids = presences.map(([jid]) => `presence:${jid}`)
    return queue.run(jids, () => d.keys.set({ [PRESENCE_TYPE]: entries }))
  }

  // -- bind --

  function report(err, event) {
    if (opts.onError) {
      try {
        opts.onError(err, event)
      } catch (thrown) {
        unreported.push(thrown)
      }
    } else {
      unreported.push(err)
    }
  }

  /** Runs a handler; what it throws or rejects with is reported, never dropped. */
  const handled = (event, handler) => (payload) => {
    try {
      Promise.resolve(handler(payload)).catch((err) => report(err, event))
    } catch (err) {
      report(err, event)
    }
  }

  const handlers = {
    'messages.upsert': (p) => saveMessages(p && p.messages, 'messages.upsert.messages'),
    'messages.update': (updates) => {
      if (!Array.isArray(updates)) throw invalid('messages.update must be an array')
      return Promise.all(updates.map((u) => updateMessage(u && u.key, u && u.update)))
    },
    'messages.delete': (p) => {
      if (p && p.all === true) {
        checkJid(p.jid, 'messages.delete.jid')
        return deleteChatMessages(p.jid)
      }
      if (!p || !Array.isArray(p.keys)) throw invalid('messages.delete must be { keys } or { jid, all: true }')
      return Promise.all(
        p.keys.map((key, i) => {
          const id = storedId(key)
          if (id === undefined) throw invalid(`messages.delete.keys[${i}] must have a non-empty remoteJid and id`)
          return deleteMessageById(id)
        })
      )
    },
    'messaging-history.set': (p) => {
      if (!p || typeof p !== 'object') throw invalid('messaging-history.set must be an object')
      return Promise.all([
        saveChats(p.chats || [], 'messaging-history.set.chats', keepStored),
        saveContacts(p.contacts || [], 'messaging-history.set.contacts', mergeRecord),
        saveMessages(p.messages || [], 'messaging-history.set.messages')
      ])
    },
    'chats.upsert': (chats) => saveChats(chats, 'chats.upsert'),
    'chats.update': (updates) => saveChats(updates, 'chats.update', mergeChat),
    'chats.delete': (jids) => deleteChats(jids),
    'contacts.upsert': (contacts) => saveContacts(contacts, 'contacts.upsert', mergeRecord),
    'contacts.update': (updates) => saveContacts(updates, 'contacts.update', mergeRecord),
    'presence.update': (p) => {
      if (!p || !p.presences || typeof p.presences !== 'object') throw invalid('presence.update must be { id, presences }')
      return savePresences(Object.entries(p.presences))
    }
  }

  function unbind() {
    if (!bound) return
    const { ev, listeners } = bound
    const off = typeof ev.off === 'function' ? ev.off : ev.removeListener
    if (typeof off === 'function') for (const [event, listener] of listeners) off.call(ev, event, listener)
    bound = null
  }

  /** Rejects with the handler errors not reported yet (the first, with `errors` holding all). */
  function throwUnreported() {
    if (unreported.length === 0) return
    const errors = unreported
    unreported = []
    const first = errors[0]
    const err = storeError(
      (first && first.code) || 'STORE_WRITE_FAILED',
      `${errors.length} bound Baileys event(s) could not be stored; first: ${first && first.message}`,
      first
    )
    err.errors = errors
    throw err
  }

  /**
   * Waits for the session's write-behind for as long as its writes keep
   * landing (a busy backend is slow, not failed); rejects once a whole
   * `writeBehind.flushTimeoutMs` passes with none landing.
   */
  async function drain() {
    if (!d.flush) return
    for (;;) {
      const report = await d.flush()
      if (!report || report.remaining === 0) return
      if (report.flushed === 0) {
        throw storeError(
          'STORE_WRITE_FAILED',
          `${report.remaining} archive writes of this session are still pending: none landed within writeBehind.flushTimeoutMs (is the backend reachable?)`
        )
      }
    }
  }

  async function flush() {
    await queue.idle()
    await drain()
    throwUnreported()
  }

  const messageStore = {
    saveMessage: api((message) => saveMessages([message], 'message')),
    /** Bulk `saveMessage` (one native call per 5 000 messages): what history sync uses. */
    saveMessages: api((messages) => saveMessages(messages, 'messages')),
    getMessage: api(async (key) => {
      const id = storedId(key)
      if (id === undefined) return undefined
      await queue.settled(id)
      return readMessage(id)
    }),
    listMessages: api(listMessages),
    deleteMessage: api((key) => {
      const id = storedId(key)
      if (id === undefined) throw invalid('key must have a non-empty remoteJid and id')
      return deleteMessageById(id).then(noop)
    }),
    pruneMessages: api(pruneMessages),

    saveChat: api((chat) => saveChats([chat], 'chat')),
    getChat: api((jid) => getRecord(CHAT_TYPE, 'chat:', jid)),
    listChats: api(async (options) => {
      const o = checkOptions(options, ['archived'], 'options')
      await queue.idle()
      const chats = await allValues(d.keys, CHAT_TYPE)
      if (o.archived === undefined || o.archived === null) return chats
      return chats.filter((c) => (c.archived === true) === (o.archived === true))
    }),
    saveContact: api((contact) => saveContacts([contact], 'contact')),
    getContact: api((jid) => getRecord(CONTACT_TYPE, 'contact:', jid)),
    listContacts: api(async () => {
      await queue.idle()
      return allValues(d.keys, CONTACT_TYPE)
    }),

    savePresence: api((jid, presence) => savePresences([[jid, presence]])),
    /** The last presence of `jid`, unless older than `presenceTtlMs`. */
    getPresence: api(async (jid) => {
      const entry = await getRecord(PRESENCE_TYPE, 'presence:', jid)
      if (!entry || typeof entry.expiresAtMs !== 'number' || entry.expiresAtMs <= Date.now()) return undefined
      return entry.presence
    }),

    saveScheduledJob: api((job) => {
      if (!job || typeof job !== 'object' || typeof job.id !== 'string' || job.id === '') {
        throw invalid('job must be a ScheduledJobRecord with a non-empty string id')
      }
      return queue.run([`job:${job.id}`], () => d.keys.set({ [JOB_TYPE]: { [job.id]: job } }))
    }),
    /** Every stored job, soonest `fireAt` first. */
    listScheduledJobs: api(async () => {
      await queue.idle()
      const jobs = await allValues(d.keys, JOB_TYPE)
      return jobs.sort((a, b) => (toNumber(a.fireAt) ?? 0) - (toNumber(b.fireAt) ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    }),
    deleteScheduledJob: api((id) => {
      if (typeof id !== 'string' || id === '') throw invalid('id must be a non-empty string')
      return queue.run([`job:${id}`], () => d.keys.set({ [JOB_TYPE]: { [id]: null } }))
    }),

    /** Persists Baileys' events of `socket.ev` (see README); one socket at a time. */
    bind(socket) {
      open()
      if (!socket || !socket.ev || typeof socket.ev.on !== 'function') throw invalid('socket must have an ev emitter')
      unbind()
      const listeners = MESSAGE_STORE_EVENTS.map((event) => [event, handled(event, handlers[event])])
      for (const [event, listener] of listeners) socket.ev.on(event, listener)
      bound = { ev: socket.ev, listeners }
    },
    /** Waits for everything bound events started, then for this session's write-behind; rejects with unreported handler errors. */
    flush: api(flush),
    /** Empties messages, chats, contacts and presence (the session's whole archive, zapo-side rows too); scheduled jobs stay. */
    clear: api(async () => {
      await queue.idle()
      await Promise.all([d.messages.clear(), d.threads.clear(), d.contacts.clear()])
      await clearTypes(d.keys, (type) => CLEARED_TYPES.includes(type))
      indexed.clear()
    }),
    /** Unbinds, lets pending writes finish; later calls reject with `STORE_CLOSED`. Idempotent. */
    close: promised(async () => {
      if (closed) return
      unbind()
      closed = true
      await queue.idle()
      await drain()
      throwUnreported()
    }),
    reopen: promised(() => {
      closed = false
    })
  }
  return messageStore
}

/** The `keys` domain types holding the message store's records. */
const ZAILEYS_RECORD_TYPES = Object.freeze({
  chat: CHAT_TYPE,
  contact: CONTACT_TYPE,
  presence: PRESENCE_TYPE,
  scheduledJob: JOB_TYPE,
  chatIndex: THREAD_TYPE
})

/** The zapo `messages` id a Baileys message key is stored under, or `undefined`. */
function zaileysMessageId(key) {
  return storedId(key)
}

module.exports = {
  createZaileysAuthStore,
  createZaileysMessageStore,
  ZAILEYS_RECORD_TYPES,
  zaileysMessageId
}
