/**
 * Misuses of the typed API that must NOT compile: each `@ts-expect-error` line
 * has to produce a type error, which proves index.d.ts declares real types
 * (not `any`/`unknown` parameters). Checked by __test__/typescript.test.js with
 * `tsc --noEmit --strict`; never run.
 */
import { createMongoStore, createSqliteStore, createStore, type Store } from '..'

export function typeErrorsAreCaught(store: Store): void {
  // @ts-expect-error a session id is a string
  store.session(42)
  // @ts-expect-error a message needs threadJid and fromMe
  void store.session('x').messages.upsert({ id: 'm' })
  // @ts-expect-error the listByThread limit is a number
  void store.session('x').messages.listByThread('t', '10')
  // @ts-expect-error an address needs a device
  void store.session('x').session.hasSession({ user: 'u' })
  // @ts-expect-error identity keys are bytes
  void store.session('x').identity.setRemoteIdentity({ user: 'u', device: 0 }, 'key')
  // @ts-expect-error retry states are a closed set
  void store.session('x').retry.updateOutboundMessageState('m', 'lost', 1, 2)
  // @ts-expect-error there is no such domain
  void store.session('x').mailbox
  // @ts-expect-error the sqlite backend needs a path
  createSqliteStore({})
  // @ts-expect-error a MongoDB URI is a string
  createMongoStore({ uri: 27017 })
  // @ts-expect-error zapo's db form needs a uri
  createMongoStore({ db: { database: 'wa' } })
  // @ts-expect-error unknown provider domain
  createStore({ providers: { bogus: 'memory' } })
}
