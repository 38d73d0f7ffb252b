'use strict'
// Fills sessions with records of every kind, through the domain APIs of a
// store (what an app writes), for the migrate / export tests.

const wastore = require('../..')
const { addr, bytes, u8, credentials, sessionRecord, senderKeyRecord } = require('./util')

const FAR = Date.now() + 30 * 24 * 3600 * 1000
const T = 'thread@s.whatsapp.net'

const gen = (keyId) => ({ keyId, keyPair: { pubKey: bytes(33, keyId), privKey: bytes(32, keyId + 1) }, uploaded: false })

/** Every persistent domain, the keys domain and every cache domain of one session. */
async function writeEverything(s, seed) {
  await s.auth.save(credentials(seed))
  await s.signal.setRegistrationInfo({ registrationId: 700 + seed, identityKeyPair: { pubKey: bytes(33, seed), privKey: bytes(32, seed) } })
  await s.signal.setSignedPreKey({ keyId: 21, keyPair: { pubKey: bytes(33, 2), privKey: bytes(32, 3) }, signature: bytes(64, seed), uploaded: true })
  await s.signal.setSignedPreKeyRotationTs(123_456 + seed)
  await s.preKey.getOrGenPreKeys(3, gen)
  await s.preKey.markKeyAsUploaded(1)
  await s.preKey.setServerHasPreKeys(true)
  await s.session.setSessionsBatch([
    { address: addr('a', 1), session: sessionRecord(seed) },
    { address: addr('b', 2, 'lid'), session: sessionRecord(seed + 1) }
  ])
  await s.identity.setRemoteIdentities([{ address: addr('a', 1), identityKey: bytes(33, seed) }])
  await s.senderKey.upsertSenderKey(senderKeyRecord('g@g.us', addr('a', 1), seed))
  await s.senderKey.upsertSenderKeyDistribution({ groupId: 'g@g.us', sender: addr('a', 1), keyId: seed, timestampMs: 99 })
  await s.appState.upsertSyncKeys([{ keyId: u8(0, 1, 0, 0, 0, seed & 0xff), keyData: bytes(32, seed), timestamp: 5, fingerprint: { rawId: seed } }])
  await s.appState.setCollectionStates([{ collection: 'regular', version: 7, hash: bytes(128, seed), indexValueMap: new Map([['aa', u8(seed & 0xff)], ['bb', u8(2)]]) }])
  await s.privacyToken.upsert({ jid: 'p@s.whatsapp.net', tcToken: u8(seed & 0xff), nctSalt: u8(9), updatedAtMs: 2 })
  await s.messages.upsertBatch([
    { id: 'm1', threadJid: T, fromMe: true, timestampMs: 1000, messageBytes: bytes(100, seed) },
    { id: 'm2', threadJid: T, fromMe: false, timestampMs: 2000, senderJid: 'x@s.whatsapp.net' }
  ])
  await s.threads.upsert({ jid: T, name: `thread ${seed}`, unreadCount: 2, archived: true })
  await s.contacts.upsert({ jid: '77@lid', phoneNumber: '5511@s.whatsapp.net', pushName: `c${seed}`, lastUpdatedMs: 10 })
  await s.keys.set({ 'app-state-sync-version': { regular: { v: seed } }, 'lid-mapping': { '5511': '77', '77_reverse': '5511' } })
  await s.retry.upsertOutboundMessage({
    messageId: 'r1',
    toJid: T,
    eligibleRequesterDeviceJids: ['dev1'],
    replayMode: 'plaintext',
    replayPayload: bytes(20, seed),
    state: 'pending',
    updatedAtMs: 5,
    expiresAtMs: FAR
  })
  await s.retry.incrementInboundCounter('r1', 'q@s.whatsapp.net', 6, FAR)
  await s.groupMetadata.upsertGroupMetadata({ groupJid: 'g@g.us', participants: [`p${seed}`], updatedAtMs: Date.now() })
  await s.chatMetadata.upsertChatMetadata({ chatJid: T, ephemeralExpiration: seed, updatedAtMs: Date.now() })
  await s.deviceList.upsertUserDevicesBatch([{ userJid: T, altUserJid: '77@lid', deviceJids: [`d${seed}`], updatedAtMs: Date.now() }])
  await s.messageSecret.set('m1', { secret: bytes(32, seed), senderJid: `s${seed}@s.whatsapp.net` })
}

const PERSISTENT = ['auth', 'signal', 'preKey', 'session', 'identity', 'senderKey', 'appState', 'privacyToken', 'messages', 'threads', 'contacts']
const CACHES = ['retry', 'groupMetadata', 'chatMetadata', 'deviceList', 'messageSecret']

/** Writes `ids` (session `i` gets seed `i + 1`) through a store on `backend`, then destroys the store (and the backend). */
async function populate(backend, ids) {
  const store = wastore.createStore({
    backends: { main: backend },
    providers: Object.fromEntries(PERSISTENT.map((d) => [d, 'main'])),
    cacheProviders: Object.fromEntries(CACHES.map((d) => [d, 'main']))
  })
  for (let i = 0; i < ids.length; i += 8) {
    await Promise.all(ids.slice(i, i + 8).map((id, j) => writeEverything(store.session(id), i + j + 1)))
  }
  await store.destroy()
}

/** Every backup line of `sessionId` in `backend` (the canonical export: every stored record). */
async function exportLines(backend, sessionId) {
  const lines = []
  let after
  do {
    const page = await backend.exportRecords(sessionId, { after, limit: 500 })
    lines.push(...page.lines)
    after = page.next ?? undefined
  } while (after !== undefined)
  return lines
}

module.exports = { writeEverything, populate, exportLines, PERSISTENT, CACHES }
