'use strict'
// Restart persistence (persistent backends only): destroy the store, open a new
// store on the same data, and every persistent domain reads back what was written.
const assert = require('node:assert/strict')
const { describe, it } = require('node:test')
const { addr, bytes, u8, uid, credentials, sessionRecord, senderKeyRecord, assertRecord, assertBytes } = require('../helpers/util')

const gen = (keyId) => ({ keyId, keyPair: { pubKey: bytes(33, keyId), privKey: bytes(32, keyId + 1) }, uploaded: false })
const T = 'thread@s.whatsapp.net'

async function writeEverything(s, seed) {
  await s.auth.save(credentials(seed))
  await s.signal.setRegistrationInfo({ registrationId: 700 + seed, identityKeyPair: { pubKey: bytes(33, seed), privKey: bytes(32, seed) } })
  await s.signal.setSignedPreKey({ keyId: 21, keyPair: { pubKey: bytes(33, 2), privKey: bytes(32, 3) }, signature: bytes(64, seed), uploaded: true })
  await s.signal.setSignedPreKeyRotationTs(123_456 + seed)
  await s.preKey.getOrGenPreKeys(3, gen)
  await s.preKey.markKeyAsUploaded(1)
  await s.preKey.consumePreKeyById(2)
  await s.preKey.setServerHasPreKeys(true)
  await s.session.setSession(addr('a', 1), sessionRecord(seed))
  await s.session.setSessionsBatch([{ address: addr('b', 2, 'lid'), session: sessionRecord(seed + 1) }])
  await s.identity.setRemoteIdentities([{ address: addr('a', 1), identityKey: bytes(33, seed) }])
  await s.senderKey.upsertSenderKey(senderKeyRecord('g@g.us', addr('a', 1), seed))
  await s.senderKey.upsertSenderKeyDistribution({ groupId: 'g@g.us', sender: addr('a', 1), keyId: seed, timestampMs: 99 })
  await s.appState.upsertSyncKeys([{ keyId: u8(0, 1, 0, 0, 0, 9), keyData: bytes(32, seed), timestamp: 5, fingerprint: { rawId: seed } }])
  await s.appState.setCollectionStates([{ collection: 'regular', version: 7, hash: bytes(128, seed), indexValueMap: new Map([['aa', u8(seed)], ['bb', u8(2)]]) }])
  await s.privacyToken.upsert({ jid: 'p@s.whatsapp.net', tcToken: u8(seed), updatedAtMs: 1 })
  await s.privacyToken.upsert({ jid: 'p@s.whatsapp.net', nctSalt: u8(9), updatedAtMs: 2 })
  await s.messages.upsertBatch([
    { id: 'm1', threadJid: T, fromMe: true, timestampMs: 1000, messageBytes: bytes(100, seed) },
    { id: 'm2', threadJid: T, fromMe: false, timestampMs: 2000, senderJid: 'x@s.whatsapp.net' }
  ])
  await s.threads.upsert({ jid: T, name: `thread ${seed}`, unreadCount: 2 })
  await s.threads.upsert({ jid: T, archived: true })
  await s.contacts.upsert({ jid: '77@lid', phoneNumber: '5511@s.whatsapp.net', pushName: `c${seed}`, lastUpdatedMs: 10 })
}

async function checkEverything(s, seed) {
  assert.deepStrictEqual(await s.auth.load(), credentials(seed), 'auth')
  assert.equal((await s.signal.getRegistrationInfo()).registrationId, 700 + seed, 'signal registration')
  const spk = await s.signal.getSignedPreKeyById(21)
  assertBytes(spk.signature, bytes(64, seed), 'signed prekey')
  assert.equal(spk.uploaded, true)
  assert.equal(await s.signal.getSignedPreKeyRotationTs(), 123_456 + seed, 'rotation ts')
  assert.equal(await s.preKey.getServerHasPreKeys(), true, 'server flag')
  assert.equal((await s.preKey.getPreKeyById(1)).uploaded, true, 'uploaded mark persisted')
  assert.equal(await s.preKey.getPreKeyById(2), null, 'consumed key stays consumed')
  assertRecord((await s.preKey.getPreKeyById(3)).keyPair, gen(3).keyPair)
  assert.deepStrictEqual(await s.session.getSessionsBatch([addr('a', 1), addr('b', 2, 'lid')]), [sessionRecord(seed), sessionRecord(seed + 1)], 'sessions')
  assertBytes(await s.identity.getRemoteIdentity(addr('a', 1)), bytes(33, seed), 'identity')
  assert.deepStrictEqual(await s.senderKey.getDeviceSenderKey('g@g.us', addr('a', 1)), senderKeyRecord('g@g.us', addr('a', 1), seed), 'sender key')
  assertRecord(await s.senderKey.getDeviceSenderKeyDistributions('g@g.us', [addr('a', 1)]), [
    { groupId: 'g@g.us', sender: addr('a', 1), keyId: seed, timestampMs: 99 }
  ])
  assertRecord(await s.appState.getActiveSyncKey(), { keyId: u8(0, 1, 0, 0, 0, 9), keyData: bytes(32, seed), timestamp: 5, fingerprint: { rawId: seed } })
  const state = await s.appState.getCollectionState('regular')
  assert.equal(state.initialized, true)
  assert.equal(state.version, 7)
  assertRecord(state.indexValueMap, new Map([['aa', u8(seed)], ['bb', u8(2)]]))
  assertRecord(await s.privacyToken.getByJid('p@s.whatsapp.net'), { jid: 'p@s.whatsapp.net', tcToken: u8(seed), nctSalt: u8(9), updatedAtMs: 2 })
  assert.deepEqual((await s.messages.listByThread(T)).map((m) => m.id), ['m2', 'm1'])
  assertRecord(await s.messages.getById('m1'), { id: 'm1', threadJid: T, fromMe: true, timestampMs: 1000, messageBytes: bytes(100, seed) })
  assertRecord(await s.threads.getByJid(T), { jid: T, name: `thread ${seed}`, unreadCount: 2, archived: true })
  assert.equal((await s.contacts.getByJid('5511@s.whatsapp.net')).pushName, `c${seed}`, 'contact phone-number lookup')
}

module.exports = (h) => {
  describe('restart persistence', { skip: !h.persistent && `${h.name} is not persistent` }, () => {
    it('every persistent domain survives store.destroy() and a new backend on the same data', async () => {
      const { store, target, sessionId } = h.open()
      await writeEverything(store.session(sessionId), 1)
      await store.destroy()
      const { store: reopened } = h.reopen(target)
      const s = reopened.session(sessionId)
      await checkEverything(s, 1)
      const next = await s.preKey.getOrGenPreKeys(2, gen)
      assert.deepEqual(next.map((k) => k.keyId), [3, 4], 'the prekey counter survives the restart')
    })

    it('several sessions in one place come back separately', async () => {
      const { store, target } = h.open()
      const ids = [uid('tenant-a'), uid('tenant-b'), uid('tenant-c')]
      for (let i = 0; i < ids.length; i += 1) await writeEverything(store.session(ids[i]), i + 2)
      await store.session(ids[2]).auth.clear()
      await store.destroy()
      const { store: reopened } = h.reopen(target)
      await checkEverything(reopened.session(ids[0]), 2)
      await checkEverything(reopened.session(ids[1]), 3)
      assert.equal(await reopened.session(ids[2]).auth.load(), null, 'a cleared domain stays cleared')
      assert.equal(await reopened.session(uid('never-written')).auth.load(), null)
    })

    it('data survives two restarts and later writes stack on top', async () => {
      const { store, target, sessionId } = h.open()
      await store.session(sessionId).messages.upsert({ id: 'a', threadJid: T, fromMe: true, timestampMs: 1 })
      await store.destroy()
      const second = h.reopen(target)
      await second.store.session(sessionId).messages.upsert({ id: 'b', threadJid: T, fromMe: true, timestampMs: 2 })
      await second.store.destroy()
      const third = h.reopen(second.target)
      assert.deepEqual((await third.store.session(sessionId).messages.listByThread(T)).map((m) => m.id), ['b', 'a'])
    })

    it('caches do not come back after a restart (store.destroy() clears them)', async () => {
      const { store, target, sessionId } = h.open()
      const s = store.session(sessionId)
      await s.messageSecret.set('m', { secret: u8(1), senderJid: 'x' })
      await s.groupMetadata.upsertGroupMetadata({ groupJid: 'g@g.us', participants: [], updatedAtMs: Date.now() })
      await store.destroy()
      const { store: reopened } = h.reopen(target)
      const again = reopened.session(sessionId)
      assert.equal(await again.messageSecret.get('m'), null)
      assert.equal(await again.groupMetadata.getGroupMetadata('g@g.us'), null)
    })
  })
}
