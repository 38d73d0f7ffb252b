// The zaileys adapters once per backend factory of helpers/backends.js:
// zaileys' own contract cases (auth store and message store) with real
// Baileys values (libsignal session objects, proto messages with Long
// timestamps), exact paging over 100 000 messages, `bind` fed with
// recorded-shape Baileys events, scheduled jobs across a restart, isolation
// between session ids. `tsc` checks zaileys-usage.mts against zaileys' types.
// WASTORE_BACKENDS=sqlite,memory limits the run to the named factories.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { EventEmitter } from 'node:events'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

import {
  createStore,
  createZaileysAuthStore,
  createZaileysMessageStore,
  useBaileysAuthState,
  zaileysMessageId,
  ZAILEYS_RECORD_TYPES
} from 'wastore'

import { baileys, connect, party, proto, send, sendGroup } from './helpers/baileys.mjs'

const require = createRequire(import.meta.url)
const { factories } = require('./helpers/backends.js')
const { rawSql, failInsertsOf } = require('./helpers/raw-sql.js')
const { uid } = require('./helpers/util.js')

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const only = (process.env.WASTORE_BACKENDS || '')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean)

/** Messages of the big paging test, and how many of them share one timestamp. */
const PAGING = { total: 100_000, ties: 1_000 }
const MEMORY_LIMITS = { messages: 200_000, threads: 200_000, contacts: 200_000, adapterKeys: 200_000 }

const ME = '5511900000000@s.whatsapp.net'
const GROUP = '120363000000000001@g.us'
const ALICE = '5511900000001@s.whatsapp.net'
const BOB = '5511900000002@s.whatsapp.net'
const T0 = 1_700_000_000

// ---- real Baileys values -----------------------------------------------------

/** Signal values exactly as Baileys 7.0.0-rc14 writes them, harvested from a real exchange. */
async function realSignalValues() {
  const store = createStore()
  const [a, b, c] = [uid('fa'), uid('fb'), uid('fc')]
  const alice = party(await useBaileysAuthState(store, a), ALICE)
  const bob = party(await useBaileysAuthState(store, b), BOB)
  const carol = party(await useBaileysAuthState(store, c), '5511900000003@s.whatsapp.net')
  await connect(alice, bob)
  await send(alice, bob, 'hello')
  await send(bob, alice, 'hi')
  await connect(alice, carol)
  await send(alice, carol, 'hello carol')
  await send(carol, alice, 'hi alice')
  await sendGroup(alice, [bob, carol], GROUP, 'hello group')
  const values = {}
  for (const sid of [a, b]) {
    const keys = store.session(sid).keys
    for (const type of await keys.types()) {
      if (type.startsWith('__')) continue
      const [[, value]] = await keys.list(type, { limit: 1 })
      values[type] ??= value
    }
  }
  await store.destroy()
  // Types the exchange does not write, in the shapes of research/baileys.md §1.2.
  values['app-state-sync-key'] = proto.Message.AppStateSyncKeyData.fromObject({
    keyData: Buffer.alloc(32, 7),
    fingerprint: { rawId: 1, currentIndex: 2, deviceIndexes: [0, 1] },
    timestamp: Date.now()
  })
  values['app-state-sync-version'] = { version: 12, hash: Buffer.alloc(128, 3), indexValueMap: { 'q1w2e3+/=': { valueMac: Buffer.alloc(32, 9) } } }
  values['lid-mapping'] ??= '190000000000001'
  values['device-list'] = ['0', '1', '12']
  values.tctoken = { token: Buffer.from([10, 20, 30]), timestamp: '1700000000', senderTimestamp: 1700000001 }
  assert.equal(typeof values.session, 'object')
  assert.ok(!(values.session instanceof Uint8Array), 'a libsignal session is an object, not bytes')
  assert.equal(values.session.version, 'v1')
  assert.ok(values['sender-key'] instanceof Uint8Array, 'sender keys were harvested')
  return values
}

/** A realistic received message: a proto `WebMessageInfo` (Long timestamp, Buffers). */
function waMessage(jid, id, seconds, { fromMe = false, participant, text = `text ${id}` } = {}) {
  return proto.WebMessageInfo.fromObject({
    key: { remoteJid: jid, fromMe, id, ...(participant ? { participant } : {}) },
    messageTimestamp: seconds,
    pushName: 'Alice',
    status: fromMe ? 2 : 3,
    ...(participant ? { participant } : {}),
    message: {
      extendedTextMessage: { text, contextInfo: { stanzaId: 'Q1', participant: ALICE } },
      messageContextInfo: { messageSecret: Buffer.alloc(32, 5) }
    }
  })
}

function imageMessage(jid, id, seconds) {
  return proto.WebMessageInfo.fromObject({
    key: { remoteJid: jid, fromMe: false, id },
    messageTimestamp: seconds,
    message: { imageMessage: { url: 'https://mmg.whatsapp.net/x', mediaKey: Buffer.from([1, 2, 3, 4]), fileLength: 1234, mimetype: 'image/jpeg' } }
  })
}

/** A minimal Baileys message (what 100 000 of are made of). */
const bare = (jid, id, seconds) => ({ key: { remoteJid: jid, fromMe: false, id }, messageTimestamp: seconds, message: { conversation: id } })

const chat = (jid, extra = {}) => proto.Conversation.fromObject({ id: jid, conversationTimestamp: T0, unreadCount: 0, ...extra })
const contact = (jid, extra = {}) => ({ id: jid, name: 'Test User', notify: 'tester', ...extra })
const seconds = (m) => baileys.toNumber(m.messageTimestamp)
const keyOf = (m) => ({ remoteJid: m.key.remoteJid, id: m.key.id, fromMe: m.key.fromMe })

/** Every page of `jid` through `nextCursor`. */
async function walk(ms, jid, limit) {
  const out = []
  let page = await ms.listMessages(jid, { limit })
  for (;;) {
    assert.ok(page.length <= limit)
    out.push(...page)
    if (page.nextCursor === undefined) return out
    page = await ms.listMessages(jid, { limit, cursor: page.nextCursor })
  }
}

const rejectsCode = (promise, code) => assert.rejects(promise, (err) => err && err.code === code)

let signalValues
before(async () => {
  signalValues = await realSignalValues()
})

describe('zaileys typings', { timeout: 180_000 }, () => {
  it('tsc accepts zaileys-usage.mts (the adapters are zaileys 4.8.5 AuthStoreBundle and MessageStore)', () => {
    const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc')
    assert.ok(fs.existsSync(tsc), 'typescript is missing from devDependencies')
    const args = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node']
    const r = spawnSync(tsc, [...args, path.join(ROOT, '__test__', 'zaileys-usage.mts')], { cwd: ROOT, encoding: 'utf8', timeout: 170_000 })
    assert.equal(r.status, 0, `tsc:\n${r.stdout}${r.stderr}`)
  })
})

for (const factory of factories()) {
  if (only.length > 0 && !only.includes(factory.name)) continue

  describe(`zaileys adapters on ${factory.name}`, { timeout: 1_800_000 }, () => {
    const stores = []
    const open = (target) => {
      const store = createStore(target.options)
      stores.push(store)
      return store
    }
    const fresh = () => {
      const target = factory.make({ memoryLimits: MEMORY_LIMITS })
      return { target, store: open(target) }
    }
    before(async () => {
      if (factory.setup) await factory.setup()
    })
    after(async () => {
      for (const s of stores) await s.destroy()
      if (factory.teardown) await factory.teardown()
    })

    // ---- AuthStoreBundle: zaileys' contract (auth-store.contract.ts) ----

    describe('AuthStoreBundle', () => {
      it('A: creds round-trip byte-exact, last write wins, delete; corrupt creds are STORE_CORRUPTED', async () => {
        const { store } = fresh()
        const sid = uid('za')
        const { creds } = createZaileysAuthStore(store, sid)
        assert.equal(await creds.readCreds(), undefined)
        await creds.deleteCreds()
        const a = baileys.initAuthCreds()
        a.me = { id: `${ME.split('@')[0]}:2@s.whatsapp.net`, name: 'Bot' }
        a.routingInfo = Buffer.from([1, 2, 3])
        await creds.writeCreds(a)
        const read = await creds.readCreds()
        assert.deepEqual(Buffer.from(read.noiseKey.public), Buffer.from(a.noiseKey.public))
        assert.deepEqual(Buffer.from(read.signedIdentityKey.private), Buffer.from(a.signedIdentityKey.private))
        assert.equal(read.registrationId, a.registrationId)
        assert.equal(read.advSecretKey, a.advSecretKey)
        assert.ok(Buffer.isBuffer(read.routingInfo))
        const b = baileys.initAuthCreds()
        await creds.writeCreds(b)
        assert.equal((await creds.readCreds()).registrationId, b.registrationId)
        await creds.deleteCreds()
        assert.equal(await creds.readCreds(), undefined)
        // Not creds (written behind the adapter's back): refused, never replaced by fresh ones.
        await store.session(sid).keys.set({ __creds__: { creds: { registered: true } } })
        await rejectsCode(creds.readCreds(), 'STORE_CORRUPTED')
      })

      it('B: every Baileys key type round-trips in the shape Baileys wrote it (a session is an object)', async () => {
        const { store } = fresh()
        const { signal } = createZaileysAuthStore(store, uid('zb'))
        for (const [type, value] of Object.entries(signalValues)) {
          await signal.write({ [type]: { '1': value } })
          const read = await signal.read(type, ['1'])
          if (type === 'app-state-sync-key') {
            assert.deepEqual(Buffer.from(read['1'].keyData), Buffer.from(value.keyData))
            assert.deepEqual(read['1'].fingerprint, { rawId: 1, currentIndex: 2, deviceIndexes: [0, 1] })
          } else {
            assert.deepEqual(read['1'], value, type)
          }
        }
        const session = (await signal.read('session', ['1']))['1']
        assert.equal(session.version, 'v1')
        assert.equal(typeof session._sessions, 'object')
      })

      it('C: null deletes, undefined is left out, several types in one call, unknown ids omitted', async () => {
        const { store } = fresh()
        const { signal } = createZaileysAuthStore(store, uid('zc'))
        await signal.write({ session: { '1': signalValues.session, '2': signalValues.session }, 'pre-key': { '7': signalValues['pre-key'] } })
        await signal.write({ session: { '1': null, '2': undefined }, 'pre-key': undefined })
        assert.deepEqual(Object.keys(await signal.read('session', ['1', '2', 'unknown'])), ['2'])
        assert.deepEqual(await signal.read('pre-key', ['unknown']), {})
        assert.deepEqual(await signal.read('pre-key', ['7', 'unknown']), { '7': signalValues['pre-key'] })
        await signal.write({ session: { '2': Uint8Array.from([2]) } })
        assert.deepEqual(await signal.read('session', ['2']), { '2': Uint8Array.from([2]) })
        // Adapter records are not Signal keys.
        await rejectsCode(signal.write({ __creds__: { creds: {} } }), 'STORE_INVALID_ARGUMENT')
        await rejectsCode(signal.read(ZAILEYS_RECORD_TYPES.chat, ['x']), 'STORE_INVALID_ARGUMENT')
      })

      it('C: a multi-type write is atomic: a refused or failing call writes none of its types', async () => {
        const target = factory.make()
        const store = open(target)
        const sid = uid('zatomic')
        const { signal } = createZaileysAuthStore(store, sid)
        await signal.write({ session: { kept: signalValues.session } })
        const unchanged = async () => {
          assert.deepEqual(Object.keys(await signal.read('session', ['kept', 'new'])), ['kept'])
          assert.deepEqual(await signal.read('pre-key', ['9']), {})
        }
        await rejectsCode(signal.write({ session: { new: signalValues.session }, 'pre-key': { 9: () => {} } }), 'STORE_INVALID_ARGUMENT')
        await unchanged()
        const raw = rawSql(factory, target)
        if (raw) {
          const restore = failInsertsOf(factory, raw, 'boom-id')
          try {
            await rejectsCode(signal.write({ session: { new: signalValues.session }, 'pre-key': { 9: signalValues['pre-key'] }, zz: { 'boom-id': 1 } }), 'STORE_WRITE_FAILED')
            await unchanged()
          } finally {
            restore()
          }
        }
      })

      it('D: delete and clear; clear also wipes creds (zaileys AUTH-07) but not message-store records', async () => {
        const { store } = fresh()
        const sid = uid('zd')
        const auth = createZaileysAuthStore(store, sid)
        const ms = createZaileysMessageStore(store, sid)
        const all = Object.fromEntries(Object.entries(signalValues).map(([t, v]) => [t, { '1': v }]))
        await auth.signal.write(all)
        await auth.creds.writeCreds(baileys.initAuthCreds())
        await ms.saveChat(chat(GROUP))
        await auth.signal.delete('pre-key', ['1', 'unknown'])
        assert.deepEqual(await auth.signal.read('pre-key', ['1']), {})
        await auth.signal.clear()
        for (const type of Object.keys(signalValues)) assert.deepEqual(await auth.signal.read(type, ['1']), {}, type)
        assert.equal(await auth.creds.readCreds(), undefined)
        assert.equal((await ms.getChat(GROUP)).id, GROUP, 'the chat is not auth state')
        await auth.signal.write({ session: { '2': Uint8Array.from([2]) } })
        assert.deepEqual(Object.keys(await auth.signal.read('session', ['2'])), ['2'])
      })

      it('E: 1000 parallel writes, 100 parallel writeCreds (the last call wins), interleaved reads', async () => {
        const { store } = fresh()
        const auth = createZaileysAuthStore(store, uid('ze'))
        const ids = Array.from({ length: 1000 }, (_, i) => String(i))
        await Promise.all(ids.map((id, i) => auth.signal.write({ session: { [id]: { ...signalValues.session, n: i } } })))
        const read = await auth.signal.read('session', ids)
        ids.forEach((id, i) => assert.equal(read[id].n, i))
        const all = Array.from({ length: 100 }, () => baileys.initAuthCreds())
        await Promise.all(all.map((c) => auth.creds.writeCreds(c)))
        assert.equal((await auth.creds.readCreds()).registrationId, all[99].registrationId)
        const results = await Promise.all([
          ...ids.slice(0, 500).map((id) => auth.signal.write({ 'sender-key': { [id]: signalValues['sender-key'] } })),
          ...ids.slice(0, 500).map((id) => auth.signal.read('sender-key', [id]))
        ])
        assert.equal(results.length, 1000)
      })

      it('F: after close every call rejects STORE_CLOSED (creds too); close is idempotent; reopen works', async () => {
        const { store } = fresh()
        const auth = createZaileysAuthStore(store, uid('zf'))
        await auth.signal.close()
        await auth.signal.close()
        await rejectsCode(auth.signal.read('session', ['1']), 'STORE_CLOSED')
        await rejectsCode(auth.signal.write({ session: { 1: Uint8Array.from([1]) } }), 'STORE_CLOSED')
        await rejectsCode(auth.creds.readCreds(), 'STORE_CLOSED')
        await rejectsCode(auth.creds.writeCreds(baileys.initAuthCreds()), 'STORE_CLOSED')
        await auth.signal.reopen()
        await auth.signal.write({ session: { r: Uint8Array.from([7]) } })
        assert.deepEqual(Object.keys(await auth.signal.read('session', ['r'])), ['r'])
      })

      it('the layout is the Baileys adapter’s: one session id works with either adapter', async () => {
        const { store } = fresh()
        const sid = uid('zshare')
        const creds = baileys.initAuthCreds()
        const auth = createZaileysAuthStore(store, sid)
        await auth.creds.writeCreds(creds)
        await auth.signal.write({ session: { '1.0': signalValues.session } })
        const b = await useBaileysAuthState(store, sid)
        assert.equal(b.state.creds.registrationId, creds.registrationId)
        assert.deepEqual(await b.state.keys.get('session', ['1.0']), { '1.0': signalValues.session })
        b.state.creds.accountSyncCounter = 42
        await b.saveCreds()
        assert.equal((await auth.creds.readCreds()).accountSyncCounter, 42)
      })
    })

    // ---- MessageStore: zaileys' contract (message-store.contract.ts) ----

    describe('MessageStore', () => {
      it('A: message CRUD by (remoteJid, id, fromMe); list newest first; limit and before', async () => {
        const { store } = fresh()
        const ms = createZaileysMessageStore(store, uid('ma'))
        const jid = 'list@s.whatsapp.net'
        assert.equal(await ms.getMessage({ remoteJid: 'a@s.whatsapp.net', fromMe: false, id: 'nope' }), undefined)
        assert.deepEqual(await ms.listMessages('empty@s.whatsapp.net'), [])
        const img = imageMessage(jid, 'IMG', T0 + 100)
        await ms.saveMessage(img)
        const got = await ms.getMessage(img.key)
        assert.deepEqual(Buffer.from(got.message.imageMessage.mediaKey), Buffer.from([1, 2, 3, 4]))
        assert.equal(seconds(got), T0 + 100)
        // Same id: other direction, other chat; three records.
        await ms.saveMessage(waMessage(jid, 'IMG', T0 + 101, { fromMe: true, text: 'mine' }))
        await ms.saveMessage(waMessage('other@s.whatsapp.net', 'IMG', T0 + 102, { text: 'other chat' }))
        assert.equal((await ms.getMessage({ remoteJid: jid, id: 'IMG', fromMe: true })).message.extendedTextMessage.text, 'mine')
        assert.ok((await ms.getMessage({ remoteJid: jid, id: 'IMG', fromMe: false })).message.imageMessage)
        await ms.saveMessage(waMessage(jid, 'IMG', T0 + 100, { fromMe: true, text: 'updated' }))
        assert.equal((await ms.getMessage({ remoteJid: jid, id: 'IMG', fromMe: true })).message.extendedTextMessage.text, 'updated')
        for (let i = 0; i < 10; i += 1) await ms.saveMessage(waMessage(jid, `m${i}`, T0 + i))
        const list = await ms.listMessages(jid)
        assert.equal(list.length, 12)
        for (let i = 1; i < list.length; i += 1) assert.ok(seconds(list[i - 1]) >= seconds(list[i]))
        assert.equal((await ms.listMessages(jid, { limit: 5 })).length, 5)
        const older = await ms.listMessages(jid, { limit: 5, before: T0 + 5 })
        assert.deepEqual(older.map((m) => m.key.id), ['m4', 'm3', 'm2', 'm1', 'm0'])
        assert.equal(older.nextCursor, undefined, 'the last page has no cursor')
        await rejectsCode(ms.listMessages(jid, { limit: 0 }), 'STORE_INVALID_ARGUMENT')
        await rejectsCode(ms.saveMessage({ key: { id: 'no-jid' } }), 'STORE_INVALID_ARGUMENT')
      })

      it('A: exact paging where zaileys’ timestamp cursor loses messages (3 share a second, limit 3)', async () => {
        const { store } = fresh()
        const ms = createZaileysMessageStore(store, uid('mtie'))
        const jid = 'tie@s.whatsapp.net'
        for (const [id, s] of [['T0', T0], ['T1', T0], ['T2', T0], ['T3', T0 + 1], ['T4', T0 + 1]]) await ms.saveMessage(bare(jid, id, s))
        const first = await ms.listMessages(jid, { limit: 3 })
        assert.equal(first.length, 3)
        assert.equal(typeof first.nextCursor, 'string')
        assert.equal(Object.keys(first).includes('nextCursor'), false, 'not an enumerable element')
        const second = await ms.listMessages(jid, { limit: 3, cursor: first.nextCursor })
        assert.deepEqual([...first, ...second].map((m) => m.key.id).sort(), ['T0', 'T1', 'T2', 'T3', 'T4'])
        assert.equal(second.nextCursor, undefined)
        await rejectsCode(ms.listMessages(jid, { cursor: 'not a cursor' }), 'STORE_INVALID_ARGUMENT')
      })

      it('B/C/D: chats (archived filter), contacts, presence with expiry', async () => {
        const { store } = fresh()
        const ms = createZaileysMessageStore(store, uid('mb'), { presenceTtlMs: 300 })
        assert.equal(await ms.getChat('missing@s.whatsapp.net'), undefined)
        await ms.saveChat(chat('c1@s.whatsapp.net'))
        await ms.saveChat(chat('arc@s.whatsapp.net', { archived: true, muteEndTime: 1_800_000_000_000 }))
        const c1 = await ms.getChat('c1@s.whatsapp.net')
        assert.equal(c1.unreadCount, 0)
        assert.equal(baileys.toNumber(c1.conversationTimestamp), T0)
        assert.deepEqual((await ms.listChats()).map((c) => c.id).sort(), ['arc@s.whatsapp.net', 'c1@s.whatsapp.net'])
        assert.deepEqual((await ms.listChats({ archived: true })).map((c) => c.id), ['arc@s.whatsapp.net'])
        assert.deepEqual((await ms.listChats({ archived: false })).map((c) => c.id), ['c1@s.whatsapp.net'])
        assert.equal(await ms.getContact('missing@s.whatsapp.net'), undefined)
        await ms.saveContact(contact('u1@s.whatsapp.net', { lid: '1001@lid', imgUrl: null }))
        await ms.saveContact(contact('u2@s.whatsapp.net'))
        assert.deepEqual(await ms.getContact('u1@s.whatsapp.net'), contact('u1@s.whatsapp.net', { lid: '1001@lid', imgUrl: null }))
        assert.deepEqual((await ms.listContacts()).map((c) => c.id).sort(), ['u1@s.whatsapp.net', 'u2@s.whatsapp.net'])
        assert.equal(await ms.getPresence('u@s.whatsapp.net'), undefined)
        await ms.savePresence('u@s.whatsapp.net', { lastKnownPresence: 'available', lastSeen: 12345 })
        await ms.savePresence('u@s.whatsapp.net', { lastKnownPresence: 'unavailable', lastSeen: 99999 })
        assert.deepEqual(await ms.getPresence('u@s.whatsapp.net'), { lastKnownPresence: 'unavailable', lastSeen: 99999 })
        await new Promise((resolve) => setTimeout(resolve, 400))
        assert.equal(await ms.getPresence('u@s.whatsapp.net'), undefined, 'presence expires')
        await rejectsCode(ms.saveChat({ name: 'no id' }), 'STORE_INVALID_ARGUMENT')
      })

      it('zapo-style domains see the same archive: messages, threads, contacts of the session', async () => {
        const { store } = fresh()
        const sid = uid('mzapo')
        const ms = createZaileysMessageStore(store, sid)
        const session = store.session(sid)
        const m = waMessage(GROUP, '3EB0AAAA', T0 + 5, { participant: ALICE })
        await ms.saveMessage(m)
        const id = zaileysMessageId(m.key)
        assert.equal(id, `b|0|${GROUP}|3EB0AAAA`)
        const row = await session.messages.getById(id)
        assert.deepEqual(
          { ...row, messageBytes: undefined },
          { id, threadJid: GROUP, senderJid: ALICE, participantJid: ALICE, fromMe: false, timestampMs: (T0 + 5) * 1000, messageBytes: undefined }
        )
        assert.deepEqual((await session.messages.listByThread(GROUP, 10)).map((r) => r.id), [id])
        // Zapo rows in the same thread are not WAMessages: zaileys pages skip them.
        await session.messages.upsert({ id: '3EB0ZAPO', threadJid: GROUP, fromMe: true, timestampMs: (T0 + 6) * 1000, messageBytes: new Uint8Array([1]) })
        assert.deepEqual((await ms.listMessages(GROUP)).map((x) => x.key.id), ['3EB0AAAA'])
        await ms.saveChat(chat(GROUP, { name: 'Group', unreadCount: 4, archived: true, pinned: T0, muteEndTime: 1_800_000_000_000, ephemeralExpiration: 86400 }))
        assert.deepEqual(await session.threads.getByJid(GROUP), {
          jid: GROUP,
          name: 'Group',
          unreadCount: 4,
          archived: true,
          pinned: T0,
          muteEndMs: 1_800_000_000_000,
          ephemeralExpiration: 86400
        })
        await ms.saveContact(contact(ALICE, { lid: '1001@lid', phoneNumber: ALICE }))
        const c = await session.contacts.getByJid(ALICE)
        assert.equal(c.displayName, 'Test User')
        assert.equal(c.pushName, 'tester')
        assert.equal(c.lid, '1001@lid')
        await ms.deleteMessage(m.key)
        assert.equal(await session.messages.getById(id), null)
      })

      it('E: bind persists upserts, chats, contacts, presence; reads right after emit see them', async () => {
        const { store } = fresh()
        const ms = createZaileysMessageStore(store, uid('me'))
        const ev = new EventEmitter()
        ms.bind({ ev })
        const msgs = [waMessage('bind@s.whatsapp.net', 'B1', T0), waMessage('bind@s.whatsapp.net', 'B2', T0 + 1)]
        ev.emit('messages.upsert', { messages: msgs, type: 'notify' })
        ev.emit('chats.upsert', [chat('bindchat@s.whatsapp.net')])
        ev.emit('contacts.upsert', [contact('bindct@s.whatsapp.net')])
        ev.emit('presence.update', { id: 'bindp@s.whatsapp.net', presences: { 'bindp@s.whatsapp.net': { lastKnownPresence: 'available' } } })
        assert.ok(await ms.getMessage(msgs[0].key))
        assert.ok(await ms.getMessage(msgs[1].key))
        assert.ok(await ms.getChat('bindchat@s.whatsapp.net'))
        assert.ok(await ms.getContact('bindct@s.whatsapp.net'))
        assert.equal((await ms.getPresence('bindp@s.whatsapp.net')).lastKnownPresence, 'available')
        await ms.close()
        ev.emit('chats.upsert', [chat('after-close@s.whatsapp.net')])
        assert.equal(ev.listenerCount('chats.upsert'), 0, 'close unbinds')
      })

      it('E: handler errors are never dropped: onError gets them, else flush() rejects with them', async () => {
        const { store } = fresh()
        const seen = []
        const ev = new EventEmitter()
        const withHandler = createZaileysMessageStore(store, uid('merr'), { onError: (err, event) => seen.push([err.code, event]) })
        withHandler.bind({ ev })
        ev.emit('messages.upsert', { messages: [{ key: { id: 'no-remote-jid' } }], type: 'notify' })
        ev.emit('chats.update', 'not an array')
        await withHandler.flush()
        assert.deepEqual(seen, [['STORE_INVALID_ARGUMENT', 'messages.upsert'], ['STORE_INVALID_ARGUMENT', 'chats.update']])
        const ev2 = new EventEmitter()
        const silent = createZaileysMessageStore(store, uid('merr2'))
        silent.bind({ ev: ev2 })
        ev2.emit('messages.update', [{ key: {}, update: { status: 4 } }])
        await assert.rejects(silent.flush(), (err) => err.code === 'STORE_INVALID_ARGUMENT' && err.errors.length === 1)
        await silent.flush()
      })

      it('F: 1000 parallel saves, mixed concurrent saves, clear, close semantics, copies', async () => {
        const { store } = fresh()
        const sid = uid('mf')
        const ms = createZaileysMessageStore(store, sid)
        const jid = 'stress@s.whatsapp.net'
        await Promise.all(Array.from({ length: 1000 }, (_, i) => ms.saveMessage(bare(jid, `s${i}`, T0 + (i % 7)))))
        assert.equal((await ms.listMessages(jid, { limit: 1000 })).length, 1000)
        const mixed = 'mixed@s.whatsapp.net'
        await Promise.all([
          ...Array.from({ length: 300 }, (_, i) => ms.saveMessage(bare(mixed, `x${i}`, T0 + i))),
          ...Array.from({ length: 300 }, (_, i) => ms.saveChat(chat(`mixed-c${i}@s.whatsapp.net`))),
          ...Array.from({ length: 300 }, (_, i) => ms.saveContact(contact(`mixed-u${i}@s.whatsapp.net`)))
        ])
        assert.equal((await ms.listMessages(mixed, { limit: 500 })).length, 300)
        assert.equal((await ms.listChats()).length, 300)
        assert.equal((await ms.listContacts()).length, 300)
        const first = await ms.listMessages(mixed)
        first.length = 0
        assert.equal((await ms.listMessages(mixed)).length, 100)
        await ms.savePresence('p@s.whatsapp.net', { lastKnownPresence: 'available' })
        await ms.saveScheduledJob({ id: 'job-kept', fireAt: Date.now() + 60_000, recipient: jid, payload: { text: 'later' } })
        await ms.clear()
        assert.deepEqual(await ms.listMessages(mixed), [])
        assert.deepEqual(await ms.listChats(), [])
        assert.deepEqual(await ms.listContacts(), [])
        assert.equal(await ms.getPresence('p@s.whatsapp.net'), undefined)
        assert.deepEqual(await store.session(sid).threads.list(), [], 'the thread mirror is cleared too')
        assert.deepEqual((await ms.listScheduledJobs()).map((j) => j.id), ['job-kept'], 'pending sends survive clear()')
        await ms.close()
        await ms.close()
        await rejectsCode(ms.saveMessage(bare(jid, 'late', T0)), 'STORE_CLOSED')
        await rejectsCode(ms.getMessage({ remoteJid: jid, id: 'late', fromMe: false }), 'STORE_CLOSED')
        await rejectsCode(ms.listMessages(jid), 'STORE_CLOSED')
        await rejectsCode(ms.saveChat(chat('x@s.whatsapp.net')), 'STORE_CLOSED')
        assert.throws(() => ms.bind({ ev: new EventEmitter() }), { code: 'STORE_CLOSED' })
        await ms.reopen()
        await ms.saveChat(chat('after@s.whatsapp.net'))
        assert.ok(await ms.getChat('after@s.whatsapp.net'))
      })

      it('P: pruneMessages by age, by count per chat, with chatFilter; deleteMessage', async () => {
        const { store } = fresh()
        const ms = createZaileysMessageStore(store, uid('mp'))
        for (let i = 0; i < 5; i += 1) await ms.saveMessage(bare('p2@s.whatsapp.net', `a${i}`, T0 + i))
        assert.equal(await ms.pruneMessages({ olderThan: T0 + 3 }), 3)
        assert.equal((await ms.listMessages('p2@s.whatsapp.net')).length, 2)
        for (let i = 0; i < 6; i += 1) await ms.saveMessage(bare('p3@s.whatsapp.net', `b${i}`, T0 + i))
        assert.equal(await ms.pruneMessages({ maxPerChat: 2 }), 4)
        const left = await ms.listMessages('p3@s.whatsapp.net')
        assert.deepEqual(left.map(seconds), [T0 + 5, T0 + 4])
        await ms.saveMessages([...Array.from({ length: 4 }, (_, i) => bare('keep@s.whatsapp.net', `k${i}`, T0 + i)), ...Array.from({ length: 4 }, (_, i) => bare('drop@s.whatsapp.net', `d${i}`, T0 + i))])
        assert.equal(await ms.pruneMessages({ maxPerChat: 1, chatFilter: (j) => j === 'drop@s.whatsapp.net' }), 3)
        assert.equal((await ms.listMessages('keep@s.whatsapp.net')).length, 4)
        assert.equal((await ms.listMessages('drop@s.whatsapp.net')).length, 1)
        // Many ties, keep 1500 of 2500: the newest 1500 in walk order stay.
        const many = Array.from({ length: 2500 }, (_, i) => bare('many@g.us', `n${i}`, T0 + Math.floor(i / 500)))
        await ms.saveMessages(many)
        const before = await walk(ms, 'many@g.us', 1000)
        assert.equal(await ms.pruneMessages({ maxPerChat: 1500, chatFilter: (j) => j === 'many@g.us' }), 1000)
        assert.deepEqual((await walk(ms, 'many@g.us', 1000)).map((m) => m.key.id), before.slice(0, 1500).map((m) => m.key.id))
        const [m] = await ms.listMessages('keep@s.whatsapp.net', { limit: 1 })
        await ms.deleteMessage(m.key)
        assert.equal(await ms.getMessage(m.key), undefined)
      })
    })

    it('a bare backend works too (no write-behind): both adapters, paging, bind', async (t) => {
      const target = factory.make({ memoryLimits: MEMORY_LIMITS })
      if (!target.backend) return t.skip('this factory has no backend object')
      stores.push({ destroy: () => target.backend.destroy() })
      const sid = uid('bare')
      const ms = createZaileysMessageStore(target.backend, sid)
      const auth = createZaileysAuthStore(target.backend, sid)
      await auth.creds.writeCreds(baileys.initAuthCreds())
      assert.ok(await auth.creds.readCreds())
      const ev = new EventEmitter()
      ms.bind({ ev })
      ev.emit('messages.upsert', { messages: Array.from({ length: 30 }, (_, i) => bare(GROUP, `x${i}`, T0 + (i % 3))), type: 'append' })
      ev.emit('chats.upsert', [chat(GROUP)])
      assert.equal((await walk(ms, GROUP, 7)).length, 30)
      assert.equal((await ms.getChat(GROUP)).id, GROUP)
      assert.equal((await target.backend.stores.threads(sid).getByJid(GROUP)).jid, GROUP)
      await ms.close()
    })

    // ---- the big walk ----

    it('paging: every message of a big chat exactly once, even where 1000+ share one second', async () => {
      const { total, ties } = PAGING
      const { store } = fresh()
      const ms = createZaileysMessageStore(store, uid('big'))
      const jid = '120363000000000099@g.us'
      const tieSecond = T0 + Math.floor((total - ties) / 2)
      const started = Date.now()
      const CHUNK = 10_000
      for (let start = 0; start < total; start += CHUNK) {
        const chunk = []
        for (let i = start; i < Math.min(total, start + CHUNK); i += 1) {
          // Ids in no particular order relative to time; the ties hold one second.
          const id = `3EB0${((i * 7919) % total).toString(36).padStart(6, '0')}`
          const s = i < ties ? tieSecond : T0 + i
          chunk.push(bare(jid, id, s))
        }
        await ms.saveMessages(chunk)
      }
      await ms.flush()
      const inserted = Date.now()
      const seen = new Set()
      let last = Infinity
      let pages = 0
      let page = await ms.listMessages(jid, { limit: 997 })
      for (;;) {
        pages += 1
        for (const m of page) {
          assert.ok(!seen.has(m.key.id), `${m.key.id} seen twice`)
          seen.add(m.key.id)
          const s = seconds(m)
          assert.ok(s <= last, 'newest first')
          last = s
        }
        if (page.nextCursor === undefined) break
        page = await ms.listMessages(jid, { limit: 997, cursor: page.nextCursor })
      }
      assert.equal(seen.size, total)
      assert.equal(pages, Math.ceil(total / 997))
      // zaileys' own `before` still works next to the cursor.
      const older = await ms.listMessages(jid, { limit: 5, before: tieSecond })
      assert.ok(older.every((m) => seconds(m) < tieSecond) && older.length === 5)
      console.log(`# zaileys paging on ${factory.name}: ${total} messages (${ties} in one second) inserted in ${inserted - started} ms, walked in ${pages} pages in ${Date.now() - inserted} ms`)
    })

    // ---- bind with recorded-shape events ----

    it('bind: history sync of 10 000 messages, updates, deletes; the stored state matches the events', async () => {
      const { store } = fresh()
      const sid = uid('bind')
      const ms = createZaileysMessageStore(store, sid)
      const ev = new EventEmitter()
      ms.bind({ ev })
      const chats = Array.from({ length: 20 }, (_, c) => (c === 0 ? GROUP : `55119${String(c).padStart(8, '0')}@s.whatsapp.net`))
      const history = []
      for (let i = 0; i < 10_000; i += 1) {
        const jid = chats[i % chats.length]
        history.push(waMessage(jid, `H${i}`, T0 + Math.floor(i / 3), { fromMe: i % 5 === 0, participant: jid === GROUP ? BOB : undefined }))
      }
      // Baileys emits history in chunks, each with its chats and contacts (protos, `messages` left in the conversation).
      for (let part = 0; part < 4; part += 1) {
        ev.emit('messaging-history.set', {
          chats: chats.map((jid) => proto.Conversation.fromObject({ id: jid, name: `chat ${jid}`, unreadCount: part, conversationTimestamp: T0 + part })),
          contacts: chats.slice(1).map((jid) => ({ id: jid, notify: `push ${part}` })),
          messages: history.slice(part * 2500, (part + 1) * 2500),
          isLatest: part === 0,
          progress: (part + 1) * 25,
          syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP
        })
      }
      // Live traffic: a new message, status receipts out of order and racing other updates, deletes.
      const live = waMessage(GROUP, 'LIVE1', T0 + 5000, { participant: ALICE })
      ev.emit('messages.upsert', { messages: [live], type: 'notify' })
      const cleared = chats[7]
      const updated = history.filter((m) => m.key.remoteJid !== cleared).slice(0, 200)
      for (const m of updated) {
        ev.emit('messages.update', [{ key: m.key, update: { status: 4 } }])
        ev.emit('messages.update', [{ key: m.key, update: { starred: true } }, { key: m.key, update: { status: 3 } }])
        ev.emit('messages.update', [{ key: m.key, update: { reactions: [{ key: m.key, text: '👍', senderTimestampMs: 1 }] } }])
      }
      ev.emit('messages.update', [{ key: { remoteJid: GROUP, id: 'NEVER-STORED', fromMe: false }, update: { status: 4 } }])
      ev.emit('messages.delete', { keys: history.slice(300, 400).map(keyOf) })
      ev.emit('messages.delete', { jid: cleared, all: true })
      ev.emit('chats.update', [{ id: GROUP, unreadCount: 2 }, { id: chats[1], archived: true, conditional: () => true }])
      ev.emit('chats.update', [{ id: GROUP, unreadCount: 3 }, { id: 'new-chat@s.whatsapp.net', name: 'created by update' }])
      ev.emit('chats.delete', [chats[2]])
      ev.emit('contacts.update', [{ id: chats[3], imgUrl: 'changed' }, { id: chats[3], name: 'Saved name' }])
      ev.emit('presence.update', { id: GROUP, presences: { [ALICE]: { lastKnownPresence: 'composing' }, [BOB]: { lastKnownPresence: 'available', lastSeen: T0 } } })
      await ms.flush()

      // Messages: 10 000 + 1, minus 100 deleted by key, minus everything of the cleared chat.
      const deleted = new Set(history.slice(300, 400).map((m) => m.key.id))
      const expected = new Map()
      for (const m of [...history, live]) if (!deleted.has(m.key.id) && m.key.remoteJid !== cleared) expected.set(`${m.key.remoteJid}|${m.key.id}`, m)
      let stored = 0
      for (const jid of chats) {
        const all = await walk(ms, jid, 1000)
        stored += all.length
        for (const m of all) assert.ok(expected.has(`${jid}|${m.key.id}`), `${m.key.id} should not be stored`)
      }
      assert.equal(stored, expected.size)
      assert.equal(await ms.getMessage(history[7 + 20 * 3].key), undefined, 'the cleared chat is empty')
      for (const m of updated) {
        const got = await ms.getMessage(m.key)
        assert.equal(got.status, 4, 'a late status 3 does not undo status 4')
        assert.equal(got.starred, true)
        assert.equal(got.reactions[0].text, '👍')
        assert.equal(got.message.extendedTextMessage.text, `text ${m.key.id}`, 'updates merge into the stored message')
      }
      assert.equal(await ms.getMessage({ remoteJid: GROUP, id: 'NEVER-STORED', fromMe: false }), undefined)
      assert.equal((await ms.getMessage(live.key)).key.participant, ALICE)

      // Chats: history keeps the first snapshot (a stored chat is newer); updates merge; unreadCount adds up.
      const group = await ms.getChat(GROUP)
      assert.equal(group.name, `chat ${GROUP}`)
      assert.equal(group.unreadCount, 0 + 2 + 3)
      assert.equal('messages' in group, false)
      assert.equal((await ms.getChat(chats[1])).archived, true)
      assert.equal('conditional' in (await ms.getChat(chats[1])), false)
      assert.equal((await ms.getChat('new-chat@s.whatsapp.net')).name, 'created by update')
      assert.equal(await ms.getChat(chats[2]), undefined)
      assert.equal((await ms.listChats()).length, chats.length - 1 + 1)
      assert.deepEqual((await ms.listChats({ archived: true })).map((c) => c.id), [chats[1]])
      const session = store.session(sid)
      assert.equal((await session.threads.getByJid(GROUP)).unreadCount, 5)
      assert.equal(await session.threads.getByJid(chats[2]), null, 'the thread mirror follows chats.delete')

      // Contacts merge across history chunks and updates.
      assert.deepEqual(await ms.getContact(chats[3]), { id: chats[3], notify: 'push 3', imgUrl: 'changed', name: 'Saved name' })
      assert.equal((await ms.listContacts()).length, chats.length - 1)
      assert.equal((await session.contacts.getByJid(chats[3])).displayName, 'Saved name')
      assert.equal((await ms.getPresence(ALICE)).lastKnownPresence, 'composing')
      assert.equal((await ms.getPresence(BOB)).lastSeen, T0)
      await ms.close()
    })

    // ---- scheduled jobs, restart, isolation ----

    it('scheduled jobs: saved, listed soonest first, deleted' + (factory.persistent ? ', and they survive a restart' : ''), async () => {
      const target = factory.make()
      const store = open(target)
      const sid = uid('jobs')
      const ms = createZaileysMessageStore(store, sid)
      const jobs = [
        { id: 'b1d0c7e2-0000-4000-8000-000000000002', fireAt: Date.now() + 120_000, recipient: GROUP, payload: { text: 'second', mentions: [ALICE] } },
        { id: 'b1d0c7e2-0000-4000-8000-000000000001', fireAt: Date.now() + 60_000, recipient: ALICE, payload: { image: Buffer.from([1, 2]), caption: 'first' } },
        { id: 'b1d0c7e2-0000-4000-8000-000000000003', fireAt: Date.now() + 180_000, recipient: BOB, payload: { text: 'third' } }
      ]
      for (const job of jobs) await ms.saveScheduledJob(job)
      await ms.deleteScheduledJob(jobs[2].id)
      assert.deepEqual(await ms.listScheduledJobs(), [jobs[1], jobs[0]])
      if (!factory.persistent) return
      await ms.close()
      await store.destroy()
      const reopened = open(target.reopen())
      const again = createZaileysMessageStore(reopened, sid)
      assert.deepEqual(await again.listScheduledJobs(), [jobs[1], jobs[0]])
      await again.deleteScheduledJob(jobs[1].id)
      assert.deepEqual((await again.listScheduledJobs()).map((j) => j.id), [jobs[0].id])
    })

    it('isolation: two session ids on one store share nothing, clear and signal.clear included', async () => {
      const { store } = fresh()
      const [s1, s2] = [uid('iso1'), uid('iso2')]
      const [m1, m2] = [createZaileysMessageStore(store, s1), createZaileysMessageStore(store, s2)]
      const [a1, a2] = [createZaileysAuthStore(store, s1), createZaileysAuthStore(store, s2)]
      const msg = waMessage(GROUP, 'SAME-ID', T0)
      await m1.saveMessage(msg)
      await m1.saveChat(chat(GROUP))
      await m1.saveContact(contact(ALICE))
      await m1.savePresence(ALICE, { lastKnownPresence: 'available' })
      await m1.saveScheduledJob({ id: 'j', fireAt: 1, recipient: ALICE, payload: null })
      await a1.creds.writeCreds(baileys.initAuthCreds())
      await a1.signal.write({ session: { '1.0': signalValues.session } })
      assert.equal(await m2.getMessage(msg.key), undefined)
      assert.deepEqual(await m2.listMessages(GROUP), [])
      assert.equal(await m2.getChat(GROUP), undefined)
      assert.deepEqual(await m2.listContacts(), [])
      assert.equal(await m2.getPresence(ALICE), undefined)
      assert.deepEqual(await m2.listScheduledJobs(), [])
      assert.equal(await a2.creds.readCreds(), undefined)
      assert.deepEqual(await a2.signal.read('session', ['1.0']), {})
      await m2.saveMessage(msg)
      await m2.clear()
      await a2.signal.clear()
      assert.ok(await m1.getMessage(msg.key))
      assert.ok(await m1.getChat(GROUP))
      assert.equal((await m1.listScheduledJobs()).length, 1)
      assert.ok(await a1.creds.readCreds())
      assert.deepEqual(Object.keys(await a1.signal.read('session', ['1.0'])), ['1.0'])
      await m1.clear()
      assert.equal(await m1.getMessage(msg.key), undefined)
    })
  })
}
