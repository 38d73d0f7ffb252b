// Types of the zaileys adapters. They do not import zaileys' or Baileys' own
// types (both are optional peers, and Baileys' declarations need
// skipLibCheck): values read back are typed by a type argument, e.g.
// `getMessage<WAMessage>(key)`, and default to the loose shapes below. The
// adapters are assignable to zaileys' `AuthStoreBundle` and `MessageStore`
// (checked by __test__/zaileys-usage.mts against zaileys 4.8.5).
import type { Store, StoreBackend } from '../index'
import type { BaileysAuthCreds } from './baileys'

/** Baileys' `WAMessageKey`, as far as the store reads it. */
export interface ZaileysMessageKey {
  remoteJid?: string | null
  id?: string | null
  fromMe?: boolean | null
  participant?: string | null
}

/** What a stored message is at least: a Baileys `WAMessage`, stored whole. */
export interface ZaileysMessage {
  key: ZaileysMessageKey
  messageTimestamp?: unknown
  [field: string]: unknown
}

/** What a message to save needs: a key naming remoteJid and id (the rest is stored as it is). */
export interface ZaileysMessageInput {
  key: ZaileysMessageKey
  messageTimestamp?: number | bigint | string | { low: number; high: number; unsigned?: boolean } | null
}

/** A page of `listMessages`: newest first; `nextCursor` is absent on the last page. */
export type ZaileysMessagePage<M = ZaileysMessage> = M[] & { nextCursor?: string }

export interface ZaileysListOptions {
  /** Page size, default 100. */
  limit?: number
  /** Only messages older than this (epoch seconds, exclusive): zaileys' paging. */
  before?: number
  /** The `nextCursor` of the previous page: exact paging (wins over `before`). */
  cursor?: string
}

export interface ZaileysPruneOptions {
  /** Delete messages older than this (epoch seconds, exclusive). */
  olderThan?: number
  /** Keep the newest N messages of each chat. */
  maxPerChat?: number
  /** Only chats whose jid passes. */
  chatFilter?: (jid: string) => boolean
}

export interface ZaileysScheduledJob {
  id: string
  fireAt: number
  recipient: string
  payload: unknown
}

/** zaileys' `BaileysSocketLike`: anything with Baileys' event emitter. */
export interface ZaileysSocketLike {
  ev: {
    on(event: string, handler: (...args: unknown[]) => void): unknown
    off?(event: string, handler: (...args: unknown[]) => void): unknown
  }
}

export interface ZaileysMessageStoreOptions {
  /** A presence older than this reads as absent (default 300 000 ms). */
  presenceTtlMs?: number
  /** Errors of bound event handlers, as they happen; without it they are kept and `flush()` / `close()` reject with them. */
  onError?: (err: Error, event: string) => void
}

/** zaileys' `MessageStore` over a wastore session (messages in its `messages` domain, paged by the backend). */
export interface ZaileysMessageStore {
  saveMessage(message: ZaileysMessageInput): Promise<void>
  /** Bulk `saveMessage`, one backend batch per 5 000 messages. */
  saveMessages(messages: readonly ZaileysMessageInput[]): Promise<void>
  /** By (remoteJid, id, fromMe). */
  getMessage<M = ZaileysMessage>(key: ZaileysMessageKey): Promise<M | undefined>
  /** Newest first; ties of one second in a fixed order; pass `nextCursor` back as `cursor` for the next page. */
  listMessages<M = ZaileysMessage>(jid: string, options?: ZaileysListOptions): Promise<ZaileysMessagePage<M>>
  deleteMessage(key: ZaileysMessageKey): Promise<void>
  /** Resolves to how many messages were deleted. */
  pruneMessages(options: ZaileysPruneOptions): Promise<number>
  saveChat(chat: { id?: string | null }): Promise<void>
  getChat<C = { id: string; [field: string]: unknown }>(jid: string): Promise<C | undefined>
  /** `archived: true` only archived chats, `false` only the others, absent all. */
  listChats<C = { id: string; [field: string]: unknown }>(options?: { archived?: boolean }): Promise<C[]>
  saveContact(contact: { id: string }): Promise<void>
  getContact<C = { id: string; [field: string]: unknown }>(jid: string): Promise<C | undefined>
  listContacts<C = { id: string; [field: string]: unknown }>(): Promise<C[]>
  savePresence(jid: string, presence: { lastKnownPresence: string; lastSeen?: number }): Promise<void>
  /** The last presence, unless older than `presenceTtlMs`. */
  getPresence<P = { lastKnownPresence: string; lastSeen?: number }>(jid: string): Promise<P | undefined>
  saveScheduledJob(job: ZaileysScheduledJob): Promise<void>
  /** Soonest `fireAt` first. */
  listScheduledJobs(): Promise<ZaileysScheduledJob[]>
  deleteScheduledJob(id: string): Promise<void>
  /** Persists Baileys' message, chat, contact and presence events of `socket.ev`. */
  bind(socket: ZaileysSocketLike): void
  /** Waits for what bound events started and for the session's write-behind; rejects with unreported handler errors. */
  flush(): Promise<void>
  /** Empties the session's archive (messages, chats, contacts, presence); scheduled jobs stay. */
  clear(): Promise<void>
  /** Unbinds and lets pending writes finish; later calls reject with `STORE_CLOSED`. Idempotent. */
  close(): Promise<void>
  reopen(): Promise<void>
}

/** zaileys' `AuthCredsStore`. */
export interface ZaileysCredsStore<Creds extends object = BaileysAuthCreds> {
  /** `undefined` when the session has none; stored creds that are not creds reject with `STORE_CORRUPTED`. */
  readCreds<C extends object = Creds>(): Promise<C | undefined>
  /** Replaces the stored creds atomically; writes apply in call order. */
  writeCreds(creds: Creds): Promise<void>
  deleteCreds(): Promise<void>
}

/** zaileys' `AuthStore` (Signal keys). Types and ids are any strings (not starting with `__`). */
export interface ZaileysSignalStore {
  /** The found ids only. */
  read<V = unknown>(type: string, ids: readonly string[]): Promise<{ [id: string]: V }>
  /** `null` deletes, `undefined` is left out; every type of one call in one transaction. */
  write(data: { readonly [type: string]: { readonly [id: string]: unknown } | null | undefined }): Promise<void>
  delete(type: string, ids: readonly string[]): Promise<void>
  /** Deletes the creds and every Signal key of the session, in one transaction. */
  clear(): Promise<void>
  close(): Promise<void>
  reopen(): Promise<void>
}

/** zaileys' `AuthStoreBundle`. */
export interface ZaileysAuthStore<Creds extends object = BaileysAuthCreds> {
  readonly creds: ZaileysCredsStore<Creds>
  readonly signal: ZaileysSignalStore
}

/** zaileys' `AuthStoreBundle` on a wastore session, in the Baileys adapter's layout (one session id serves both). */
export declare function createZaileysAuthStore<Creds extends object = BaileysAuthCreds>(
  store: Store | StoreBackend,
  sessionId: string
): ZaileysAuthStore<Creds>

/** zaileys' `MessageStore` on a wastore session. */
export declare function createZaileysMessageStore(
  store: Store | StoreBackend,
  sessionId: string,
  options?: ZaileysMessageStoreOptions
): ZaileysMessageStore

/** The `keys` domain types holding the message store's records. */
export declare const ZAILEYS_RECORD_TYPES: {
  readonly chat: '__zaileys_chat__'
  readonly contact: '__zaileys_contact__'
  readonly presence: '__zaileys_presence__'
  readonly scheduledJob: '__zaileys_job__'
  readonly chatIndex: '__zaileys_thread__'
}

/** The zapo `messages` id a Baileys message key is stored under (`b|<0|1>|<remoteJid>|<id>`), or `undefined`. */
export declare function zaileysMessageId(key: ZaileysMessageKey): string | undefined
