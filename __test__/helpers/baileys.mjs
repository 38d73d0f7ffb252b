// Baileys' own Signal layer, driven without a socket (research/baileys.md §3):
// each party is one account with its auth state, Baileys' transaction wrapper
// (as makeWASocket adds it) and makeLibSignalRepository over it.

import assert from 'node:assert/strict'

import * as baileys from '@whiskeysockets/baileys'
import { makeLibSignalRepository } from '@whiskeysockets/baileys/lib/Signal/libsignal.js'

export { baileys }
export const { proto } = baileys

const noop = () => {}
/** A silent pino-shaped logger. */
export const logger = {
  level: 'silent',
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  fatal: noop,
  child() {
    return logger
  }
}

/**
 * A party over an auth state `{ state, saveCreds }` (ours or useMultiFileAuthState's).
 * `maxCommitRetries: 1`: a failing commit fails the operation at once.
 */
export function party(auth, jid) {
  const keys = baileys.addTransactionCapability(auth.state.keys, logger, { maxCommitRetries: 1, delayBetweenTriesMs: 0 })
  const repo = makeLibSignalRepository({ creds: auth.state.creds, keys }, logger)
  return { auth, creds: auth.state.creds, keys, repo, jid }
}

/** Publishes `count` one-time pre-keys the way the socket does (keys first, then the creds counters). */
export async function publishPreKeys(p, count) {
  const { update, preKeys } = await baileys.getNextPreKeys({ creds: p.creds, keys: p.keys }, count)
  Object.assign(p.creds, update)
  await p.auth.saveCreds()
  return preKeys
}

/** The bundle a server would hand out for `p`, using one of its one-time pre-keys. */
export function bundle(p, preKeys, preKeyId) {
  const c = p.creds
  const id = String(preKeyId ?? Object.keys(preKeys)[0])
  return {
    registrationId: c.registrationId,
    identityKey: baileys.generateSignalPubKey(c.signedIdentityKey.public),
    signedPreKey: {
      keyId: c.signedPreKey.keyId,
      publicKey: baileys.generateSignalPubKey(c.signedPreKey.keyPair.public),
      signature: c.signedPreKey.signature
    },
    preKey: { keyId: Number(id), publicKey: baileys.generateSignalPubKey(preKeys[id].public) }
  }
}

/** `from` builds a session to `to` (addressed as `toJid`) from a fresh bundle; returns the pre-key id used. */
export async function connect(from, to, toJid = to.jid) {
  const preKeys = await publishPreKeys(to, 3)
  const id = Object.keys(preKeys)[0]
  await from.repo.injectE2ESession({ jid: toJid, session: bundle(to, preKeys, id) })
  return id
}

const encode = (message) => baileys.encodeWAMessage(message)
const decode = (plain) => proto.Message.decode(baileys.unpadRandomMax16(plain))

/** Encrypts `text` from `from` to `to` (at `toJid`), decrypts it at `to` (from `fromJid`); returns the envelope. */
export async function send(from, to, text, { toJid = to.jid, fromJid = from.jid } = {}) {
  const envelope = await from.repo.encryptMessage({ jid: toJid, data: encode({ conversation: text }) })
  const plain = await to.repo.decryptMessage({ jid: fromJid, type: envelope.type, ciphertext: envelope.ciphertext })
  assert.equal(decode(plain).conversation, text)
  return { ...envelope, fromJid }
}

/**
 * A group message from `sender` to `members`: the SKDM travels inside a 1:1
 * message to each member that has not had it (as the client does), then every
 * member decrypts the group ciphertext.
 */
export async function sendGroup(sender, members, group, text, { withSkdm = true } = {}) {
  const { ciphertext, senderKeyDistributionMessage } = await sender.repo.encryptGroupMessage({
    group,
    meId: sender.jid,
    data: encode({ conversation: text })
  })
  for (const m of members) {
    if (withSkdm) {
      const carrier = {
        senderKeyDistributionMessage: { groupId: group, axolotlSenderKeyDistributionMessage: senderKeyDistributionMessage }
      }
      const envelope = await sender.repo.encryptMessage({ jid: m.jid, data: encode(carrier) })
      const inner = decode(await m.repo.decryptMessage({ jid: sender.jid, type: envelope.type, ciphertext: envelope.ciphertext }))
      assert.ok(inner.senderKeyDistributionMessage, 'the 1:1 carrier holds the SKDM')
      await m.repo.processSenderKeyDistributionMessage({ item: inner.senderKeyDistributionMessage, authorJid: sender.jid })
    }
    const plain = await m.repo.decryptGroupMessage({ group, authorJid: sender.jid, msg: ciphertext })
    assert.equal(decode(plain).conversation, text, `${m.jid} decrypts the group message`)
  }
  return ciphertext
}

/** Runs `fn` with libsignal's console.error noise on failed decrypts silenced. */
export async function quietly(fn) {
  const original = console.error
  console.error = () => {}
  try {
    return await fn()
  } finally {
    console.error = original
  }
}

/** Re-decrypting an already-decrypted 1:1 envelope must fail: the ratchet moved on and was persisted. */
export async function assertReplayFails(to, envelope) {
  await quietly(() =>
    assert.rejects(
      to.repo.decryptMessage({ jid: envelope.fromJid, type: envelope.type, ciphertext: envelope.ciphertext }),
      (err) => err instanceof Error && !('code' in err && String(err.code).startsWith('STORE_')),
      'replaying a decrypted message must fail inside Signal, not in the store'
    )
  )
}
