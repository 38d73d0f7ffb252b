// Type-checked (not run) by zaileys.test.js: the adapters are zaileys 4.8.5's
// `AuthStoreBundle` and `MessageStore`, and values read back take Baileys' types.
import { Client, type AuthStoreBundle, type MessageStore } from 'zaileys'
import type { AuthenticationCreds, Chat, WAMessage } from 'baileys'
import {
  createSqliteStore,
  createStore,
  createZaileysAuthStore,
  createZaileysMessageStore,
  type ZaileysMessagePage
} from 'wastore'

export function twoLines(): Client {
  const store = createSqliteStore({ path: './wa.sqlite' })
  return new Client({ auth: createZaileysAuthStore(store, 'main'), store: createZaileysMessageStore(store, 'main') })
}

export async function asZaileysTypes(): Promise<void> {
  const store = createStore()
  const auth: AuthStoreBundle = createZaileysAuthStore(store, 'a')
  const messages: MessageStore = createZaileysMessageStore(store, 'a', { presenceTtlMs: 60_000, onError: (err, event) => void [err.message, event] })
  const creds: AuthenticationCreds | undefined = await auth.creds.readCreds()
  if (creds) await auth.creds.writeCreds(creds)
  const sessions = await auth.signal.read('session', ['1.0'])
  void sessions
  const m: WAMessage | undefined = await messages.getMessage({ remoteJid: 'a@s.whatsapp.net', id: 'X', fromMe: false })
  if (m) await messages.saveMessage(m)
  const chats: Chat[] = await messages.listChats({ archived: true })
  void chats
  const pruned: number | undefined = await messages.pruneMessages?.({ olderThan: 1_700_000_000, maxPerChat: 100 })
  void pruned
}

export async function exactPaging(): Promise<number> {
  const messages = createZaileysMessageStore(createStore(), 'p')
  let seen = 0
  let page: ZaileysMessagePage<WAMessage> = await messages.listMessages<WAMessage>('g@g.us', { limit: 500 })
  for (;;) {
    seen += page.length
    if (page.nextCursor === undefined) return seen
    page = await messages.listMessages<WAMessage>('g@g.us', { limit: 500, cursor: page.nextCursor })
  }
}

export function wrongArguments(): void {
  // @ts-expect-error a session id is required
  createZaileysMessageStore(createStore())
  // @ts-expect-error presenceTtlMs is a number
  createZaileysMessageStore(createStore(), 'x', { presenceTtlMs: '1' })
}

export function zaileysTypesAreReal(): void {
  // @ts-expect-error zaileys' MessageStore resolved to a real type (not `any`): {} is not one
  const empty: MessageStore = {}
  // @ts-expect-error an AuthStoreBundle needs its signal store
  const half: AuthStoreBundle = { creds: createZaileysAuthStore(createStore(), 'x').creds }
  void [empty, half]
}
