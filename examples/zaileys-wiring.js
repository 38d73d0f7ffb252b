'use strict'
// zaileys on wastore: one shared store, an AuthStore bundle and a MessageStore
// per account. With zaileys installed, the wiring is the two lines below:
//
//   const { Client } = require('zaileys')
//   const client = new Client({ auth: createZaileysAuthStore(db, id), store: createZaileysMessageStore(db, id) })
//
//   node examples/zaileys-wiring.js --offline   (SQLITE_PATH, default ./wa.sqlite; SESSION, default main)
//
// --offline does what a connected client would do through those two objects,
// without a socket: it saves creds, feeds Baileys-shaped events to bind(),
// restarts, and pages the chat back with the exact cursor. It prints one JSON line.

const { EventEmitter } = require('node:events')
const { createSqliteStore, createZaileysAuthStore, createZaileysMessageStore } = require('wastore')

const file = process.env.SQLITE_PATH || './wa.sqlite'
const id = process.env.SESSION || 'main'
const chat = '120363000000000000@g.us'

async function offline() {
  let db = createSqliteStore({ path: file })
  let auth = createZaileysAuthStore(db, id)
  let store = createZaileysMessageStore(db, id)
  // A connected client writes Baileys' creds (initAuthCreds() and later updates); this is their shape.
  const pair = (n) => ({ private: Buffer.alloc(32, n), public: Buffer.alloc(32, n + 1) })
  await auth.creds.writeCreds({
    registrationId: 4242,
    noiseKey: pair(1),
    signedIdentityKey: pair(3),
    signedPreKey: { keyPair: pair(5), signature: Buffer.alloc(64, 7), keyId: 1 },
    me: { id: '5511999999999:1@s.whatsapp.net' }
  })
  await auth.signal.write({ 'pre-key': { 1: { public: Buffer.alloc(32, 1), private: Buffer.alloc(32, 2) } } })

  // What a connected socket emits: a history sync, then live traffic.
  const ev = new EventEmitter()
  store.bind({ ev })
  const msg = (n) => ({
    key: { remoteJid: chat, fromMe: n % 2 === 0, id: `MSG${n}` },
    messageTimestamp: 1_700_000_000 + Math.floor(n / 10), // ten messages per second: paging must not skip ties
    message: { conversation: `message ${n}` }
  })
  ev.emit('messaging-history.set', { messages: Array.from({ length: 250 }, (_, n) => msg(n)), chats: [], contacts: [] })
  ev.emit('chats.upsert', [{ id: chat, name: 'example group', unreadCount: 0 }])
  ev.emit('messages.update', [{ key: msg(3).key, update: { status: 4 } }])
  ev.emit('messages.delete', { keys: [msg(7).key] })
  await store.close() // waits for everything bound events started
  await db.destroy()

  // A restart: everything comes back from the file.
  db = createSqliteStore({ path: file })
  auth = createZaileysAuthStore(db, id)
  store = createZaileysMessageStore(db, id)
  const creds = await auth.creds.readCreds()
  const keys = await auth.signal.read('pre-key', ['1'])
  let seen = 0
  let pages = 0
  let page = await store.listMessages(chat, { limit: 40 })
  for (;;) {
    seen += page.length
    pages += 1
    if (page.nextCursor === undefined) break
    page = await store.listMessages(chat, { limit: 40, cursor: page.nextCursor })
  }
  const updated = await store.getMessage(msg(3).key)
  const report = {
    registrationId: creds.registrationId,
    preKeys: Object.keys(keys).length,
    chat: (await store.getChat(chat)).name,
    messages: seen,
    pages,
    status: updated.status
  }
  await store.close()
  await db.destroy()
  console.log(JSON.stringify(report))
}

if (!process.argv.includes('--offline')) {
  console.error('run with --offline (this example does not open a WhatsApp connection); see the comment at the top for the wiring')
  process.exit(2)
}
offline().catch((err) => {
  console.error(`${err.code || 'ERROR'}: ${err.message}`)
  process.exit(1)
})
