#!/usr/bin/env node
// `npm run demo` — a small multi-tenant workload on one embedded SQLite file.
//
// 50 WhatsApp sessions share one store (one SQLite file in a temp dir) and run
// concurrently. Each session:
//   - generates 30 one-time pre-keys (getOrGenPreKeys) and marks them uploaded,
//   - saves and reloads its auth credentials,
//   - writes 20 Signal sessions (setSessionsBatch) and reads them back,
//   - archives 100 messages (upsertBatch) and lists its threads (listByThread).
// Then the store is closed, reopened on the same file to show the data is
// durable, and finally destroyed and the temp dir deleted.
//
// Only the public API is used (createStore, createSqliteStore). Any error or
// mismatch exits non-zero.
'use strict'

const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { performance } = require('node:perf_hooks')

const { createStore, createSqliteStore } = require('..')

const SESSIONS = 50
const PRE_KEYS = 30
const SIGNAL_SESSIONS = 20
const MESSAGES = 100
const THREADS = 5

const PERSISTENT = ['auth', 'signal', 'preKey', 'session', 'identity', 'senderKey', 'appState', 'privacyToken', 'messages', 'threads', 'contacts']
const CACHES = ['retry', 'groupMetadata', 'chatMetadata', 'deviceList', 'messageSecret']

function openStore(file) {
  const sqlite = createSqliteStore({ path: file })
  return createStore({
    backends: { sqlite },
    providers: Object.fromEntries(PERSISTENT.map((d) => [d, 'sqlite'])),
    cacheProviders: Object.fromEntries(CACHES.map((d) => [d, 'sqlite'])),
  })
}

const bytes = (n) => new Uint8Array(crypto.randomBytes(n))
const keyPair = () => ({ pubKey: bytes(33), privKey: bytes(32) })

// Auth credentials shaped like zapo's WaAuthCredentials (nested keys, numbers, a Buffer).
function credentials(i) {
  return {
    noiseKeyPair: keyPair(),
    registrationInfo: { registrationId: 1000 + i, identityKeyPair: keyPair() },
    signedPreKey: { keyId: 1, keyPair: keyPair(), signature: bytes(64), uploaded: true },
    advSecretKey: bytes(32),
    meJid: `5511900000${String(i).padStart(3, '0')}:1@s.whatsapp.net`,
    meLid: `${100000 + i}:1@lid`,
    platform: 'web',
    serverHasPreKeys: true,
    routingInfo: Buffer.from(crypto.randomBytes(24)),
    lastSuccessTs: Date.now(),
    deviceInfo: { name: 'wastore-demo', version: [2, 3000, 1023456789] },
    pushName: `Demo ${i}`,
  }
}

// A Signal session record shaped like zapo's SignalSessionRecord: a JS object
// graph (not bytes) with nested objects, arrays and Uint8Arrays.
function signalSession(n) {
  const chain = () => ({ senderRatchetKey: bytes(33), chainKey: { index: n % 7, key: bytes(32) }, messageKeys: [] })
  return {
    local: { regId: 4242, pubKey: bytes(33) },
    remote: { regId: 1000 + n, pubKey: bytes(33) },
    rootKey: bytes(32),
    sendChain: { ratchetKey: keyPair(), nextMsgIndex: n, chainKey: bytes(32) },
    recvChains: [chain(), chain()],
    initialExchangeInfo: { remoteOneTimeId: n, remoteSignedId: 1, localOneTimePubKey: bytes(33), localSignedPubKey: bytes(33) },
    prevSendChainHighestIndex: n * 3,
    aliceBaseKey: bytes(33),
    prevSessions: [],
  }
}

// Per-operation counters: calls, records touched, summed latency.
const stats = new Map()
async function timed(name, records, fn) {
  const t0 = performance.now()
  const result = await fn()
  const dt = performance.now() - t0
  const s = stats.get(name) ?? { calls: 0, records: 0, ms: 0 }
  s.calls += 1
  s.records += records
  s.ms += dt
  stats.set(name, s)
  return result
}

async function runSession(store, i) {
  const s = store.session(`tenant-${i}`)

  // Pre-keys: generate a batch for upload, then mark it uploaded.
  const gen = (keyId) => ({ keyId, keyPair: keyPair() })
  const preKeys = await timed('preKey.getOrGenPreKeys(30)', PRE_KEYS, () => s.preKey.getOrGenPreKeys(PRE_KEYS, gen))
  assert.equal(preKeys.length, PRE_KEYS)
  const maxId = Math.max(...preKeys.map((k) => k.keyId))
  await timed('preKey.markKeyAsUploaded', 1, () => s.preKey.markKeyAsUploaded(maxId))

  // Auth: whole-snapshot save and load.
  const creds = credentials(i)
  await timed('auth.save', 1, () => s.auth.save(creds))
  const loaded = await timed('auth.load', 1, () => s.auth.load())
  assert.deepStrictEqual(loaded, creds)

  // Signal sessions: one batch write, then batch read and existence check.
  const entries = Array.from({ length: SIGNAL_SESSIONS }, (_, n) => ({
    address: { user: `55119${String(i * 100 + n).padStart(8, '0')}`, server: 's.whatsapp.net', device: n % 3 },
    session: signalSession(n),
  }))
  await timed('session.setSessionsBatch(20)', SIGNAL_SESSIONS, () => s.session.setSessionsBatch(entries))
  const addrs = entries.map((e) => e.address)
  const got = await timed('session.getSessionsBatch(20)', SIGNAL_SESSIONS, () => s.session.getSessionsBatch(addrs))
  assert.equal(got.length, SIGNAL_SESSIONS)
  got.forEach((rec, n) => assert.deepStrictEqual(rec, entries[n].session))
  const one = await timed('session.getSession', 1, () => s.session.getSession(addrs[0]))
  assert.deepStrictEqual(one, entries[0].session)

  // Message archive: 100 messages over 5 threads, then newest-first listing.
  const base = 1_700_000_000_000 + i * 1_000_000
  const messages = Array.from({ length: MESSAGES }, (_, n) => ({
    id: `MSG${i}-${String(n).padStart(4, '0')}`,
    threadJid: `1203630${i}${n % THREADS}@g.us`,
    senderJid: `55119${String(n).padStart(8, '0')}@s.whatsapp.net`,
    fromMe: n % 4 === 0,
    timestampMs: base + n * 1000,
    messageBytes: bytes(120 + (n % 5) * 40),
  }))
  await timed('messages.upsertBatch(100)', MESSAGES, () => s.messages.upsertBatch(messages))
  for (let t = 0; t < THREADS; t++) {
    const thread = `1203630${i}${t}@g.us`
    const page = await timed('messages.listByThread(50)', MESSAGES / THREADS, () => s.messages.listByThread(thread, 50))
    assert.equal(page.length, MESSAGES / THREADS)
    for (let k = 1; k < page.length; k++) assert.ok(page[k - 1].timestampMs > page[k].timestampMs, 'listByThread is newest first')
  }
  return creds
}

function fmt(n, digits = 0) {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wastore-demo-'))
  const file = path.join(dir, 'wastore.sqlite')
  let store
  try {
    console.log(`wastore demo: ${SESSIONS} sessions on one SQLite file (${file})`)
    console.log(`per session: ${PRE_KEYS} pre-keys, auth save/load, ${SIGNAL_SESSIONS} Signal sessions, ${MESSAGES} messages in ${THREADS} threads\n`)

    store = openStore(file)
    const t0 = performance.now()
    const creds = await Promise.all(Array.from({ length: SESSIONS }, (_, i) => runSession(store, i)))
    const wall = performance.now() - t0

    const rows = [...stats].map(([name, s]) => [name, fmt(s.calls), fmt(s.records), fmt(s.ms / s.calls, 2)])
    const header = ['operation', 'calls', 'records', 'avg ms/call']
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)))
    const line = (r) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ')
    console.log(line(header))
    console.log(widths.map((w) => '-'.repeat(w)).join('  '))
    rows.forEach((r) => console.log(line(r)))

    const calls = [...stats.values()].reduce((a, s) => a + s.calls, 0)
    const records = [...stats.values()].reduce((a, s) => a + s.records, 0)
    console.log(`\n${fmt(calls)} calls / ${fmt(records)} records in ${fmt(wall, 1)} ms (${SESSIONS} sessions concurrently)`)
    console.log(`throughput: ${fmt(calls / (wall / 1000))} calls/s, ${fmt(records / (wall / 1000))} records/s`)

    // Durability: close everything, reopen the same file, read back.
    await store.destroy()
    store = undefined
    const size = fs.readdirSync(dir).reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0)
    const t1 = performance.now()
    store = openStore(file)
    for (let i = 0; i < SESSIONS; i++) {
      const s = store.session(`tenant-${i}`)
      assert.deepStrictEqual(await s.auth.load(), creds[i], `tenant-${i} auth after reopen`)
      const page = await s.messages.listByThread(`1203630${i}0@g.us`, 5)
      assert.equal(page.length, 5, `tenant-${i} messages after reopen`)
    }
    console.log(`reopened the file (${fmt(size / 1024)} KiB on disk): all ${SESSIONS} sessions' auth and messages read back in ${fmt(performance.now() - t1, 1)} ms`)

    await store.destroy()
    store = undefined
    console.log('store destroyed; removing', dir)
  } finally {
    if (store) await store.destroy().catch(() => {})
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error('demo failed:', err && err.code ? `[${err.code}]` : '', err)
  process.exitCode = 1
})
