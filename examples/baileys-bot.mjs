// A Baileys bot whose auth state lives in wastore (useBaileysAuthState): it
// answers "ping" with "pong". Many bots can share one database, each under
// its own session id.
//
//   node examples/baileys-bot.mjs                  # connect (scan the QR code once)
//   STORE=postgres://user@localhost/wa node examples/baileys-bot.mjs
//   node examples/baileys-bot.mjs --offline        # no network: a Signal round trip
//
// --offline drives Baileys' own Signal layer without a socket: a second
// account (session "peer" in the same store) sends "ping", the bot decrypts
// it, answers "pong", the peer decrypts that; then the store is closed and
// reopened and the bot decrypts one more message with the state it reloaded.
//
// Env: STORE (a wastore backend URL or SQLite path, default ./wa.db), SESSION (default bot).

import * as baileys from '@whiskeysockets/baileys'
import { makeLibSignalRepository } from '@whiskeysockets/baileys/lib/Signal/libsignal.js'
import { createMongoStore, createMysqlStore, createPostgresStore, createRedisStore, createSqliteStore, useBaileysAuthState } from 'wastore'

const target = process.env.STORE || './wa.db'
const sessionId = process.env.SESSION || 'bot'
const silent = { level: 'silent', trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {}, child: () => silent }

function openStore() {
  if (/^postgres(ql)?:/.test(target)) return createPostgresStore({ connectionString: target })
  if (/^(mysql|mariadb):/.test(target)) return createMysqlStore({ connectionString: target.replace(/^mariadb:/, 'mysql:') })
  if (/^rediss?:/.test(target)) return createRedisStore({ url: target })
  if (/^mongodb(\+srv)?:/.test(target)) return createMongoStore({ uri: target, database: new URL(target).pathname.slice(1) || 'wastore' })
  return createSqliteStore({ path: target.replace(/^sqlite:/, '') })
}

/** The bot: what to answer to a text message (null: stay quiet). */
function answer(text) {
  return text.trim().toLowerCase() === 'ping' ? 'pong' : null
}

async function live() {
  const store = openStore()
  const { state, saveCreds } = await useBaileysAuthState(store, sessionId)
  const start = () => {
    const sock = baileys.makeWASocket({ auth: state, logger: silent })
    sock.ev.on('creds.update', saveCreds)
    sock.ev.on('connection.update', ({ connection, lastDisconnect, qr }) => {
      if (qr) console.log('scan this QR code with WhatsApp (Linked devices):', qr)
      if (connection === 'open') console.log(`connected as ${sock.user?.id}`)
      if (connection === 'close') {
        const code = lastDisconnect?.error?.output?.statusCode
        if (code === baileys.DisconnectReason.loggedOut) console.log('logged out: remove the session to pair again')
        else start()
      }
    })
    sock.ev.on('messages.upsert', async ({ messages }) => {
      for (const m of messages) {
        const text = m.message?.conversation ?? m.message?.extendedTextMessage?.text
        const reply = m.key.fromMe || !text ? null : answer(text)
        if (reply) await sock.sendMessage(m.key.remoteJid, { text: reply }, { quoted: m })
      }
    })
    process.once('SIGTERM', async () => {
      sock.end(undefined)
      await store.destroy()
    })
  }
  start()
}

/** One account over its wastore auth state, with Baileys' Signal repository (as makeWASocket builds it). */
async function account(store, id, jid) {
  const auth = await useBaileysAuthState(store, id)
  await auth.saveCreds() // new creds are made in memory: store them (the socket does it on creds.update)
  const keys = baileys.addTransactionCapability(auth.state.keys, silent, { maxCommitRetries: 1, delayBetweenTriesMs: 0 })
  return { auth, jid, keys, repo: makeLibSignalRepository({ creds: auth.state.creds, keys }, silent) }
}

const encode = (text) => baileys.encodeWAMessage({ conversation: text })
const decode = (plain) => baileys.proto.Message.decode(baileys.unpadRandomMax16(plain)).conversation

async function transfer(from, to, text) {
  const envelope = await from.repo.encryptMessage({ jid: to.jid, data: encode(text) })
  return decode(await to.repo.decryptMessage({ jid: from.jid, type: envelope.type, ciphertext: envelope.ciphertext }))
}

async function offline() {
  const BOT = '5511900000001@s.whatsapp.net'
  const PEER = '5511900000002@s.whatsapp.net'
  let store = openStore()
  let bot = await account(store, sessionId, BOT)
  const peer = await account(store, `${sessionId}-peer`, PEER)
  // The bot publishes one-time pre-keys; the peer fetches its bundle (the server's job).
  const { update, preKeys } = await baileys.getNextPreKeys({ creds: bot.auth.state.creds, keys: bot.keys }, 3)
  Object.assign(bot.auth.state.creds, update)
  await bot.auth.saveCreds()
  const c = bot.auth.state.creds
  const id = Object.keys(preKeys)[0]
  await peer.repo.injectE2ESession({
    jid: BOT,
    session: {
      registrationId: c.registrationId,
      identityKey: baileys.generateSignalPubKey(c.signedIdentityKey.public),
      signedPreKey: { keyId: c.signedPreKey.keyId, publicKey: baileys.generateSignalPubKey(c.signedPreKey.keyPair.public), signature: c.signedPreKey.signature },
      preKey: { keyId: Number(id), publicKey: baileys.generateSignalPubKey(preKeys[id].public) }
    }
  })
  const received = await transfer(peer, bot, 'ping')
  const reply = answer(received)
  const back = await transfer(bot, peer, reply)

  // Restart: the bot reloads its creds and Signal sessions from the store.
  await store.destroy()
  store = openStore()
  bot = await account(store, sessionId, BOT)
  const peerAgain = await account(store, `${sessionId}-peer`, PEER)
  const afterRestart = await transfer(peerAgain, bot, 'ping')
  await store.destroy()
  console.log(JSON.stringify({ ok: true, received, reply, back, afterRestart: answer(afterRestart) }))
}

const run = process.argv.includes('--offline') ? offline : live
run().catch((err) => {
  console.error(`bot failed: ${err && err.code ? `${err.code}: ` : ''}${err && err.stack}`)
  process.exitCode = 1
})
