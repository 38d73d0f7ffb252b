// Workload 1: Baileys' own Signal layer (7.0.0-rc14, no socket) over each
// auth store. Every party is one account: its auth state, Baileys' transaction
// wrapper (as makeWASocket adds it) and makeLibSignalRepository over it.
// Phone-number JIDs, so every session access goes through rc14's lid-mapping
// lookup. The store that the transaction wrapper calls is instrumented.
//
//   1:1:   Alice + N peers; sessions set up (not timed), then M messages
//          round-robin, each encrypted by Alice and decrypted by the peer.
//   group: Alice + N members with 1:1 sessions and the sender key delivered
//          (not timed), then G group messages, each decrypted by every member.
// Every decrypt is checked against the sent plaintext.

import * as baileys from '@whiskeysockets/baileys'
import { makeLibSignalRepository } from '@whiskeysockets/baileys/lib/Signal/libsignal.js'

import { instrument, newCounter, resetCounter } from '../lib/instrument.mjs'
import { profiled, selfOf, topSelf } from '../lib/profiler.mjs'
import { msSince } from '../lib/stats.mjs'
import { authStore } from '../peers/auth-stores.mjs'

const noop = () => {}
const logger = { level: 'silent', trace: noop, debug: noop, info: noop, warn: noop, error: noop, fatal: noop, child: () => logger }

const jidOf = (n) => `55119${String(n).padStart(8, '0')}@s.whatsapp.net`
const encode = (text) => baileys.encodeWAMessage({ conversation: text })
const decode = (plain) => baileys.proto.Message.decode(baileys.unpadRandomMax16(plain))

async function party(accounts, counter, n) {
  const auth = await accounts.account(`p${n}`)
  await auth.saveCreds() // a new account's creds are stored first, as the socket does on creds.update
  const store = instrument(auth.state.keys, { get: 'get', set: 'set' }, counter)
  const keys = baileys.addTransactionCapability(store, logger, { maxCommitRetries: 1, delayBetweenTriesMs: 0 })
  return { auth, creds: auth.state.creds, keys, jid: jidOf(n), repo: makeLibSignalRepository({ creds: auth.state.creds, keys }, logger) }
}

/** `from` builds a session to `to` from a fresh pre-key bundle, then one message each way. */
async function establish(from, to) {
  const { update, preKeys } = await baileys.getNextPreKeys({ creds: to.creds, keys: to.keys }, 5)
  Object.assign(to.creds, update)
  await to.auth.saveCreds()
  const c = to.creds
  const id = Object.keys(preKeys)[0]
  await from.repo.injectE2ESession({
    jid: to.jid,
    session: {
      registrationId: c.registrationId,
      identityKey: baileys.generateSignalPubKey(c.signedIdentityKey.public),
      signedPreKey: { keyId: c.signedPreKey.keyId, publicKey: baileys.generateSignalPubKey(c.signedPreKey.keyPair.public), signature: c.signedPreKey.signature },
      preKey: { keyId: Number(id), publicKey: baileys.generateSignalPubKey(preKeys[id].public) },
    },
  })
  await send(from, to, 'hello')
  await send(to, from, 'hello back')
}

/** Encrypts at `from`, decrypts at `to`, checks the plaintext; returns the envelope type. */
async function send(from, to, text) {
  const { type, ciphertext } = await from.repo.encryptMessage({ jid: to.jid, data: encode(text) })
  const plain = await to.repo.decryptMessage({ jid: from.jid, type, ciphertext })
  const got = decode(plain).conversation
  if (got !== text) throw new Error(`decrypt check failed: ${to.jid} got ${JSON.stringify(got)}, sent ${JSON.stringify(text)}`)
  return type
}

async function parties({ store, peers, split = false }, ctx) {
  const counter = newCounter(['get', 'set'])
  const backendCounter = newCounter(['get', 'set'])
  const accounts = await authStore(store).open({ ...ctx, backendCounter, split })
  const all = []
  for (let n = 0; n <= peers; n++) all.push(await party(accounts, counter, n))
  const [alice, ...others] = all
  const t0 = process.hrtime.bigint()
  for (const p of others) await establish(alice, p)
  return { accounts, alice, others, counter, backendCounter, setupMsPerPeer: msSince(t0) / peers }
}

/** What the instrumentation saw during the measured loop, per message. */
function storeFigures(counter, backendCounter, messages, wallMs) {
  const storeMs = counter.get.ms + counter.set.ms
  const backendCalls = backendCounter.get.calls + backendCounter.set.calls
  return {
    storeMsPerMsg: storeMs / messages,
    storeShare: storeMs / wallMs,
    getsPerMsg: counter.get.calls / messages,
    setsPerMsg: counter.set.calls / messages,
    usPerGet: counter.get.calls ? (counter.get.ms * 1000) / counter.get.calls : NaN,
    usPerSet: counter.set.calls ? (counter.set.ms * 1000) / counter.set.calls : NaN,
    // Below zaileys' cache, or below wastore's adapter in the profile section (absent otherwise).
    backendGetsPerMsg: backendCalls ? backendCounter.get.calls / messages : null,
    backendSetsPerMsg: backendCalls ? backendCounter.set.calls / messages : null,
    backendMsPerMsg: backendCalls ? (backendCounter.get.ms + backendCounter.set.ms) / messages : null,
    backendSyncUsPerGet: backendCalls ? (backendCounter.get.syncMs * 1000) / backendCounter.get.calls : null,
    backendSyncUsPerSet: backendCalls ? (backendCounter.set.syncMs * 1000) / backendCounter.set.calls : null,
  }
}

/**
 * Where the main thread spent the measured loop, per message. Native code has
 * no script: frames without a file are native (V8 labels an addon's callbacks
 * with one of its class names, e.g. wastore's show up as `RetryStore`,
 * better-sqlite3's as `run` / `Statement`).
 */
function profileFigures(profile, messages) {
  const perMsg = (re) => selfOf(profile, re) / messages
  return {
    sampledMs: profile.totalMs,
    gcMsPerMsg: perMsg(/^\(garbage collector\)/),
    idleMsPerMsg: perMsg(/^\(idle\)/),
    asyncHooksMsPerMsg: perMsg(/node:async_hooks|node:internal\/async_hooks/),
    nativeMsPerMsg: perMsg(/^[^(][^ ]*$/),
    top: topSelf(profile, 15).map((t) => ({ ...t, msPerMsg: t.ms / messages })),
  }
}

export async function oneToOne(spec, ctx) {
  const { peers, messages } = spec
  const { accounts, alice, others, counter, backendCounter, setupMsPerPeer } = await parties(spec, ctx)
  try {
    resetCounter(counter)
    resetCounter(backendCounter)
    let notMsg = 0
    const loop = async () => {
      for (let i = 0; i < messages; i++) {
        if ((await send(alice, others[i % peers], `message ${i}`)) !== 'msg') notMsg++
      }
    }
    const t0 = process.hrtime.bigint()
    const profile = spec.profile ? await profiled(loop) : await loop()
    const wallMs = msSince(t0)
    if (notMsg) throw new Error(`${notMsg} of ${messages} steady-state messages were not of type msg`)
    const figures = { msgsPerSec: (messages * 1000) / wallMs, wallMs, setupMsPerPeer, decrypted: messages, ...storeFigures(counter, backendCounter, messages, wallMs) }
    return spec.profile ? { ...figures, profile: profileFigures(profile, messages) } : figures
  } finally {
    await accounts.close()
  }
}

export async function group(spec, ctx) {
  const { peers, messages } = spec
  const { accounts, alice, others, counter, backendCounter, setupMsPerPeer } = await parties(spec, ctx)
  const group = '120363000000000001@g.us'
  const sendGroup = async (text, deliverKey) => {
    const { ciphertext, senderKeyDistributionMessage } = await alice.repo.encryptGroupMessage({ group, meId: alice.jid, data: encode(text) })
    let decrypted = 0
    for (const m of others) {
      if (deliverKey) {
        // The SKDM travels inside a 1:1 message, as the client sends it.
        const carrier = { senderKeyDistributionMessage: { groupId: group, axolotlSenderKeyDistributionMessage: senderKeyDistributionMessage } }
        const { type, ciphertext: c } = await alice.repo.encryptMessage({ jid: m.jid, data: baileys.encodeWAMessage(carrier) })
        const inner = decode(await m.repo.decryptMessage({ jid: alice.jid, type, ciphertext: c }))
        await m.repo.processSenderKeyDistributionMessage({ item: inner.senderKeyDistributionMessage, authorJid: alice.jid })
      }
      const got = decode(await m.repo.decryptGroupMessage({ group, authorJid: alice.jid, msg: ciphertext })).conversation
      if (got !== text) throw new Error(`group decrypt check failed at ${m.jid}: got ${JSON.stringify(got)}`)
      decrypted++
    }
    return decrypted
  }
  try {
    await sendGroup('sender key delivered', true)
    resetCounter(counter)
    resetCounter(backendCounter)
    let decrypted = 0
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < messages; i++) decrypted += await sendGroup(`group message ${i}`, false)
    const wallMs = msSince(t0)
    if (decrypted !== messages * peers) throw new Error(`${decrypted} group decrypts, expected ${messages * peers}`)
    return { msgsPerSec: (messages * 1000) / wallMs, wallMs, setupMsPerPeer, decrypted, ...storeFigures(counter, backendCounter, messages, wallMs) }
  } finally {
    await accounts.close()
  }
}
