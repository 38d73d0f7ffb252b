// Types of the Baileys adapter. They do not import Baileys' own types (Baileys
// is an optional peer, and its declarations do not check without skipLibCheck):
// the creds type comes from the Baileys module you pass, or from a type argument,
// e.g. `useBaileysAuthState<AuthenticationCreds>(store, id)`.
import type { Store, StoreBackend } from '../index'

/** What the adapter needs of the Baileys module (`@whiskeysockets/baileys` or `baileys`). */
export interface BaileysModule<Creds extends object = BaileysAuthCreds> {
  initAuthCreds(): Creds
  BufferJSON: { reviver(key: string, value: unknown): unknown }
  proto: { Message: { AppStateSyncKeyData: { fromObject(object: { [k: string]: unknown }): unknown } } }
}

/** A Curve25519 key pair as Baileys keeps it (32-byte keys, no 0x05 prefix). */
export interface BaileysKeyPair {
  public: Uint8Array
  private: Uint8Array
}

/** The part of Baileys' `AuthenticationCreds` the adapter checks; the rest is stored as it is. */
export interface BaileysAuthCreds {
  noiseKey: BaileysKeyPair
  signedIdentityKey: BaileysKeyPair
  signedPreKey: { keyPair: BaileysKeyPair; signature: Uint8Array; keyId: number }
  registrationId: number
  [field: string]: unknown
}

export interface BaileysAuthStateOptions<Creds extends object = BaileysAuthCreds> {
  /** The Baileys module to use (its `initAuthCreds` also gives the creds type); default: `import('@whiskeysockets/baileys')`, else `import('baileys')`. */
  baileys?: BaileysModule<Creds>
  /**
   * `'omit'` (default): `keys.get` leaves missing ids out. `'null'`: it answers
   * `null` for them, as `useMultiFileAuthState` does; Baileys' transaction cache
   * then remembers the miss (one `lid-mapping` read per encrypt/decrypt instead of two).
   */
  missingKeys?: 'omit' | 'null'
}

/** Baileys' `SignalKeyStore`, plus the enumeration API of Baileys' development branch. Types and ids are any strings. */
export interface BaileysKeyStore {
  /** The found ids only (or `null` for the others, with `missingKeys: 'null'`); `app-state-sync-key` values are `proto.Message.AppStateSyncKeyData`. */
  get<V = unknown>(type: string, ids: string[]): Promise<{ [id: string]: V }>
  /** `null` / `undefined` deletes; every type of one call in one transaction. */
  set(data: { readonly [type: string]: { readonly [id: string]: unknown } | null | undefined }): Promise<void>
  /** Deletes every Signal key of this session (one transaction); the creds stay. */
  clear(): Promise<void>
  /** Every `[id, value]` of a type, streamed page by page in byte-wise id order. */
  list<V = unknown>(type: string): AsyncIterable<readonly [string, V]>
  /** Every id of a type, streamed page by page in byte-wise id order. */
  listIds(type: string): AsyncIterable<string>
}

export interface BaileysAuthState<Creds extends object = BaileysAuthCreds> {
  /** Pass as `auth` to `makeWASocket`. */
  state: { creds: Creds; keys: BaileysKeyStore }
  /** Replaces the stored creds with `state.creds`, atomically (call it on `creds.update`). */
  saveCreds(): Promise<void>
  /** Deletes this session's whole Baileys auth state: creds and keys. */
  clear(): Promise<void>
}

/**
 * `useMultiFileAuthState`'s shape on a wastore store: creds are loaded (or made
 * with `initAuthCreds()` when the session has none); stored creds that cannot be
 * decoded reject with `STORE_CORRUPTED`.
 */
export declare function useBaileysAuthState<Creds extends object = BaileysAuthCreds>(
  store: Store | StoreBackend,
  sessionId: string,
  options?: BaileysAuthStateOptions<Creds>
): Promise<BaileysAuthState<Creds>>

export interface ImportMultiFileOptions {
  baileys?: BaileysModule<object>
  /** Replace a session that already holds auth state (its old keys are deleted in the same transaction). */
  replace?: boolean
  /** Import the rest when some key files cannot be parsed (they are listed in `skipped`); creds.json must parse. */
  skipUnparseable?: boolean
  /** Key types besides Baileys 7.0.0-rc14's (their ids are taken from the file names as they are). */
  types?: readonly string[]
}

export interface ImportReport {
  /** The (trimmed) session id written to. */
  sessionId: string
  creds: true
  /** Keys written, per type. */
  counts: Record<string, number>
  /** Keys written, all types. */
  keys: number
  /** Whether an existing auth state was replaced. */
  replaced: boolean
  /** Files that could not be parsed (only with `skipUnparseable`). */
  skipped: { file: string; reason: string }[]
  /** Entries that are not `.json` files (directories, other files), left alone. */
  ignored: string[]
}

/**
 * Imports a `useMultiFileAuthState` folder into `sessionId`: creds and every key
 * in ONE transaction. Any `.json` file that cannot be parsed aborts the import
 * with `STORE_CORRUPTED` before anything is written (its name is in the message
 * and in `err.files`), unless `skipUnparseable`.
 */
export declare function importMultiFileAuthState(
  folder: string,
  store: Store | StoreBackend,
  sessionId: string,
  options?: ImportMultiFileOptions
): Promise<ImportReport>

/** The reserved `keys` entry holding the creds: type `__creds__`, id `creds`. */
export declare const BAILEYS_CREDS_TYPE: '__creds__'
export declare const BAILEYS_CREDS_ID: 'creds'
