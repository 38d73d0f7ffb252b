// Type-checked (not run) by baileys-adapter.test.js: the adapter's state is what
// Baileys' makeWASocket takes, with the creds type from a type argument or from
// the Baileys module passed in.
import makeWASocket, { type AuthenticationCreds, type AuthenticationState, type SignalKeyStore } from '@whiskeysockets/baileys'
import * as baileys from '@whiskeysockets/baileys'
import { createSqliteStore, createStore, importMultiFileAuthState, useBaileysAuthState, type ImportReport } from 'wastore'

export async function twoLines(): Promise<void> {
  const { state, saveCreds } = await useBaileysAuthState<AuthenticationCreds>(createSqliteStore({ path: './wa.sqlite' }), 'main')
  const sock = makeWASocket({ auth: state })
  sock.ev.on('creds.update', saveCreds)
}

export async function fromModule(): Promise<void> {
  const { state, clear } = await useBaileysAuthState(createStore(), 'x', { baileys })
  const creds: AuthenticationCreds = state.creds
  const auth: AuthenticationState = state
  const keys: SignalKeyStore = state.keys
  for await (const [id, value] of state.keys.list<Uint8Array>('identity-key')) {
    const n: number = value.length + id.length
    void n
  }
  for await (const id of state.keys.listIds('session')) void id.toUpperCase()
  void creds
  void auth
  void keys
  await clear()
}

export async function importing(): Promise<ImportReport> {
  const report = await importMultiFileAuthState('./auth', createStore(), 'main', { replace: true, skipUnparseable: false, types: ['x'] })
  const n: number = report.counts['session'] ?? 0
  void n
  // @ts-expect-error folder must be a string
  await importMultiFileAuthState(1, createStore(), 'main')
  return report
}
