/**
 * Multi-tenancy with wastore, following zapo's multi-tenancy guide: ONE store on
 * ONE SQLite file serves several WhatsApp accounts, each under its own
 * sessionId; every tenant reads and writes its credentials, a Signal session
 * record and an archived message; the store is destroyed at shutdown, and a
 * restarted process finds every tenant's data again.
 *
 * Type-checked with `tsc --noEmit --strict` against ../index.d.ts and then run
 * (compiled) by __test__/typescript.test.js. Needs WASTORE_TS_DB (a file path).
 */
import { createSqliteStore, createStore, type Store, type StoreSession } from '..'

const runtime = globalThis as unknown as {
  process: { env: Record<string, string | undefined>; exitCode?: number }
}

const dbPath = runtime.process.env.WASTORE_TS_DB
if (!dbPath) throw new Error('WASTORE_TS_DB is not set')

const TENANTS: readonly string[] = ['tenant-a', 'tenant-b', "tenant-c'; DROP TABLE x; --", 'tenant-😀']
const PEER = { user: '5511999990000', server: 's.whatsapp.net', device: 0 }
const THREAD = '5511999990000@s.whatsapp.net'

function openStore(path: string): Store {
  const sqlite = createSqliteStore({ path })
  return createStore({
    backends: { sqlite },
    providers: {
      auth: 'sqlite',
      signal: 'sqlite',
      preKey: 'sqlite',
      session: 'sqlite',
      identity: 'sqlite',
      senderKey: 'sqlite',
      appState: 'sqlite',
      privacyToken: 'sqlite',
      messages: 'sqlite',
      threads: 'sqlite',
      contacts: 'sqlite'
    }
  })
}

function credentialsFor(tenant: string) {
  return {
    meJid: `${tenant}@s.whatsapp.net`,
    registrationInfo: {
      registrationId: 1000 + tenant.length,
      identityKeyPair: { pubKey: new Uint8Array(33).fill(tenant.length), privKey: new Uint8Array(32).fill(7) }
    },
    advSecretKey: new Uint8Array(32).fill(tenant.charCodeAt(7)),
    serverHasPreKeys: false,
    lastSuccessTs: 1_700_000_000_000,
    platform: undefined
  }
}

function sessionRecordFor(tenant: string) {
  return {
    rootKey: new Uint8Array(32).fill(tenant.length),
    sendChain: { nextMsgIndex: tenant.length, chainKey: new Uint8Array(32).fill(1) },
    recvChains: [] as unknown[],
    aliceBaseKey: null
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((x, i) => x === b[i])
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]))
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a)
    const kb = Object.keys(b)
    const ra = a as Record<string, unknown>
    const rb = b as Record<string, unknown>
    return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && deepEqual(ra[k], rb[k]))
  }
  return false
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`multi-tenant check failed: ${what}`)
}

async function writeTenant(session: StoreSession, tenant: string): Promise<void> {
  await session.auth.save(credentialsFor(tenant))
  await session.session.setSession(PEER, sessionRecordFor(tenant))
  await session.messages.upsert({
    id: `msg-${tenant}`,
    threadJid: THREAD,
    fromMe: true,
    timestampMs: 1_700_000_000_000 + tenant.length,
    messageBytes: new TextEncoder().encode(`hello from ${tenant}`)
  })
}

async function verifyTenant(session: StoreSession, tenant: string): Promise<void> {
  check(session.sessionId === tenant, `sessionId of ${tenant}`)
  check(deepEqual(await session.auth.load(), credentialsFor(tenant)), `credentials of ${tenant}`)
  check(await session.session.hasSession(PEER), `hasSession of ${tenant}`)
  check(deepEqual(await session.session.getSession(PEER), sessionRecordFor(tenant)), `session record of ${tenant}`)
  const message = await session.messages.getById(`msg-${tenant}`)
  check(message !== null && message.threadJid === THREAD && message.fromMe, `message of ${tenant}`)
  const text = message && message.messageBytes ? new TextDecoder().decode(message.messageBytes) : ''
  check(text === `hello from ${tenant}`, `message bytes of ${tenant}`)
  const thread = await session.messages.listByThread(THREAD, 10)
  check(thread.length === 1 && thread[0].id === `msg-${tenant}`, `thread of ${tenant} holds only its own message`)
  for (const other of TENANTS) {
    if (other !== tenant) check((await session.messages.getById(`msg-${other}`)) === null, `${tenant} cannot see ${other}`)
  }
}

async function main(path: string): Promise<void> {
  // First process: every tenant writes and reads its own data concurrently.
  const store = openStore(path)
  const sessions: StoreSession[] = TENANTS.map((tenant) => store.session(tenant))
  await Promise.all(sessions.map((session, i) => writeTenant(session, TENANTS[i])))
  await Promise.all(sessions.map((session, i) => verifyTenant(session, TENANTS[i])))
  await store.destroy()

  // Restart: a new store on the same file finds every tenant again.
  const restarted = openStore(path)
  for (const tenant of TENANTS) await verifyTenant(restarted.session(` ${tenant} `), tenant)
  await restarted.destroy()

  console.log(JSON.stringify({ ok: true, tenants: TENANTS.length }))
}

main(dbPath).catch((err: unknown) => {
  console.error(err)
  runtime.process.exitCode = 1
})
