'use strict'
// Hostile ids (quotes, LIKE wildcards, SQL, unicode, NUL, 10 KB) are stored and
// read back exactly and never leak; wrong argument types reject with
// STORE_INVALID_ARGUMENT and leave the store working.
const assert = require('node:assert/strict')
const { describe, it } = require('node:test')
const { addr, bytes, u8, assertRecord, assertBytes, credentials, rejectsCode } = require('../helpers/util')
const { getInputLimits, setInputLimits } = require('../..')

const HOSTILE_IDS = [
  ["single quote", "o'neil@s.whatsapp.net"],
  ['double quote', 'say "hi"@g.us'],
  ['LIKE percent', '100%@s.whatsapp.net'],
  ['LIKE underscore', 'a_b@s.whatsapp.net'],
  ['SQL injection', "x'; DROP TABLE x; --"],
  ['backslash', 'back\\slash\\%'],
  ['unicode + emoji', 'ünïcødé 中文 😀👍🏽@lid'],
  ['NUL inside', 'nul\u0000inside@s.whatsapp.net'],
  ['surrounding spaces', '  spaced  '],
  ['newline and tab', 'line\nbreak\ttab'],
  ['10 KB', `${'x'.repeat(10 * 1024)}@s.whatsapp.net`]
]

/** Session ids that must stay apart even though they look alike to SQL/collations. */
const LOOKALIKE_SESSION_IDS = [
  'tenant%',
  'tenantX',
  'ten_nt',
  'tenant',
  'TENANT',
  "o'neil",
  'o"neil',
  "s'; DROP TABLE auth_credentials; --",
  'caf\u00e9',
  'cafe\u0301',
  '客户-😀',
  'back\\slash',
  'a'.repeat(200)
]

async function roundTripEverywhere(s, id) {
  const user = id
  const a = addr(user, 3, id)
  await s.messages.upsert({ id, threadJid: id, senderJid: id, fromMe: true, timestampMs: 5 })
  assertRecord(await s.messages.getById(id), { id, threadJid: id, senderJid: id, fromMe: true, timestampMs: 5 })
  assert.deepEqual((await s.messages.listByThread(id)).map((m) => m.id), [id])

  await s.threads.upsert({ jid: id, name: id })
  assertRecord(await s.threads.getByJid(id), { jid: id, name: id })
  assert.deepEqual((await s.threads.list()).map((t) => t.jid), [id])

  await s.contacts.upsert({ jid: id, phoneNumber: id, pushName: id, lastUpdatedMs: 1 })
  assertRecord(await s.contacts.getByJid(id), { jid: id, phoneNumber: id, pushName: id, lastUpdatedMs: 1 })
  assert.equal((await s.contacts.getByPhoneNumber(id)).jid, id)

  await s.privacyToken.upsert({ jid: id, tcToken: u8(1), updatedAtMs: 1 })
  assert.equal((await s.privacyToken.getByJid(id)).jid, id)

  await s.session.setSession(a, { id })
  assert.deepStrictEqual(await s.session.getSession(a), { id })
  await s.identity.setRemoteIdentity(a, bytes(33, 1))
  assertBytes(await s.identity.getRemoteIdentity(a), bytes(33, 1))

  await s.senderKey.upsertSenderKey({ groupId: id, sender: a, id })
  assert.deepStrictEqual(await s.senderKey.getDeviceSenderKey(id, a), { groupId: id, sender: a, id })
  await s.senderKey.upsertSenderKeyDistribution({ groupId: id, sender: a, keyId: 1, timestampMs: 1 })
  const list = await s.senderKey.getGroupSenderKeyList(id)
  assert.equal(list.skList.length, 1)
  assertRecord(list.skDistribList, [{ groupId: id, sender: a, keyId: 1, timestampMs: 1 }])

  await s.appState.setCollectionStates([{ collection: id, version: 1, hash: u8(1), indexValueMap: new Map([[id, u8(2)]]) }])
  const state = await s.appState.getCollectionState(id)
  assert.equal(state.version, 1)
  assert.deepEqual([...state.indexValueMap.keys()], [id])
  assert.ok(Object.prototype.hasOwnProperty.call((await s.appState.exportData()).collections, id))

  const now = Date.now()
  await s.retry.upsertOutboundMessage({
    messageId: id,
    toJid: id,
    eligibleRequesterDeviceJids: [id],
    replayMode: 'plaintext',
    replayPayload: u8(1),
    state: 'pending',
    updatedAtMs: now,
    expiresAtMs: now + 60_000
  })
  assert.equal((await s.retry.getOutboundMessage(id)).toJid, id)
  assert.deepEqual(await s.retry.getOutboundRequesterStatus(id, id), { eligible: true, delivered: false })
  assert.equal(await s.retry.incrementInboundCounter(id, id, now, now + 60_000), 1)

  await s.groupMetadata.upsertGroupMetadata({ groupJid: id, participants: [id], updatedAtMs: now })
  assert.deepEqual((await s.groupMetadata.getGroupMetadata(id, now)).participants, [id])
  await s.chatMetadata.upsertChatMetadata({ chatJid: id, ephemeralExpiration: 1, updatedAtMs: now })
  assert.equal((await s.chatMetadata.getChatMetadata(id, now)).chatJid, id)
  await s.deviceList.upsertUserDevicesBatch([{ userJid: id, altUserJid: `${id}#alt`, deviceJids: [id], updatedAtMs: now }])
  assert.equal((await s.deviceList.findByAnyUserJid(`${id}#alt`, now)).userJid, id)
  await s.messageSecret.set(id, { secret: u8(7), senderJid: id })
  assert.equal((await s.messageSecret.get(id, now)).senderJid, id)
}

/** [label, (session) => call] pairs that must reject with STORE_INVALID_ARGUMENT. */
function wrongCalls() {
  const A = addr('5511', 0)
  const kp = { pubKey: bytes(33), privKey: bytes(32) }
  const outbound = (extra) => ({
    messageId: 'm',
    toJid: 't@s.whatsapp.net',
    replayMode: 'plaintext',
    replayPayload: u8(1),
    state: 'pending',
    updatedAtMs: 1,
    expiresAtMs: 2,
    ...extra
  })
  const coll = (extra) => ({ collection: 'regular', version: 1, hash: u8(1), indexValueMap: new Map(), ...extra })
  return {
    auth: [
      ['save(undefined)', (s) => s.auth.save(undefined)],
      ['save(42)', (s) => s.auth.save(42)],
      ['save("creds")', (s) => s.auth.save('creds')]
    ],
    signal: [
      ['setRegistrationInfo(null)', (s) => s.signal.setRegistrationInfo(null)],
      ['setRegistrationInfo(registrationId "x")', (s) => s.signal.setRegistrationInfo({ registrationId: 'x', identityKeyPair: kp })],
      ['setRegistrationInfo(no key pair)', (s) => s.signal.setRegistrationInfo({ registrationId: 1 })],
      ['setSignedPreKey(keyId -1)', (s) => s.signal.setSignedPreKey({ keyId: -1, keyPair: kp, signature: bytes(64) })],
      ['setSignedPreKey(signature "sig")', (s) => s.signal.setSignedPreKey({ keyId: 1, keyPair: kp, signature: 'sig' })],
      ['getSignedPreKeyById("1")', (s) => s.signal.getSignedPreKeyById('1')],
      ['setSignedPreKeyRotationTs(1.5)', (s) => s.signal.setSignedPreKeyRotationTs(1.5)],
      ['setSignedPreKeyRotationTs("now")', (s) => s.signal.setSignedPreKeyRotationTs('now')]
    ],
    preKey: [
      ['putPreKey(no keyPair)', (s) => s.preKey.putPreKey({ keyId: 1 })],
      ['putPreKey(pubKey "x")', (s) => s.preKey.putPreKey({ keyId: 1, keyPair: { pubKey: 'x', privKey: bytes(32) } })],
      ['putPreKey(keyId 2^32)', (s) => s.preKey.putPreKey({ keyId: 2 ** 32, keyPair: kp })],
      ['putPreKey(keyId -1)', (s) => s.preKey.putPreKey({ keyId: -1, keyPair: kp })],
      ['putPreKey(keyId 1.5)', (s) => s.preKey.putPreKey({ keyId: 1.5, keyPair: kp })],
      ['getPreKeyById("1")', (s) => s.preKey.getPreKeyById('1')],
      ['getPreKeyById(1.5)', (s) => s.preKey.getPreKeyById(1.5)],
      ['getPreKeysById("1,2")', (s) => s.preKey.getPreKeysById('1,2')],
      ['getPreKeysById([1, "2"])', (s) => s.preKey.getPreKeysById([1, '2'])],
      ['consumePreKeyById(undefined)', (s) => s.preKey.consumePreKeyById(undefined)],
      ['markKeyAsUploaded("1")', (s) => s.preKey.markKeyAsUploaded('1')],
      ['setServerHasPreKeys("yes")', (s) => s.preKey.setServerHasPreKeys('yes')]
    ],
    session: [
      ['getSession(undefined)', (s) => s.session.getSession(undefined)],
      ['getSession("5511")', (s) => s.session.getSession('5511')],
      ['getSession(no user)', (s) => s.session.getSession({ device: 0 })],
      ['getSession(user 5511)', (s) => s.session.getSession({ user: 5511, device: 0 })],
      ['getSession(no device)', (s) => s.session.getSession({ user: 'a' })],
      ['getSession(device -1)', (s) => s.session.getSession({ user: 'a', device: -1 })],
      ['getSession(device 1.5)', (s) => s.session.getSession({ user: 'a', device: 1.5 })],
      ['getSession(device 2^32)', (s) => s.session.getSession({ user: 'a', device: 2 ** 32 })],
      ['getSession(device "0")', (s) => s.session.getSession({ user: 'a', device: '0' })],
      ['getSession(server 5)', (s) => s.session.getSession({ user: 'a', server: 5, device: 0 })],
      ['setSession(addr, 42)', (s) => s.session.setSession(A, 42)],
      ['setSession(addr, undefined)', (s) => s.session.setSession(A, undefined)],
      ['hasSession(null)', (s) => s.session.hasSession(null)],
      ['hasSessions("a")', (s) => s.session.hasSessions('a')],
      ['hasSessions([addr, 5])', (s) => s.session.hasSessions([A, 5])],
      ['getSessionsBatch({})', (s) => s.session.getSessionsBatch({})],
      ['setSessionsBatch([{ address }])', (s) => s.session.setSessionsBatch([{ address: A }])],
      ['setSessionsBatch({})', (s) => s.session.setSessionsBatch({})],
      ['deleteSession(42)', (s) => s.session.deleteSession(42)]
    ],
    identity: [
      ['setRemoteIdentity(addr, "key")', (s) => s.identity.setRemoteIdentity(A, 'key')],
      ['setRemoteIdentity(addr, [1, 2, 3])', (s) => s.identity.setRemoteIdentity(A, [1, 2, 3])],
      ['setRemoteIdentity(addr, undefined)', (s) => s.identity.setRemoteIdentity(A, undefined)],
      ['setRemoteIdentity(addr, 42)', (s) => s.identity.setRemoteIdentity(A, 42)],
      ['setRemoteIdentity(addr, {})', (s) => s.identity.setRemoteIdentity(A, {})],
      ['setRemoteIdentity("a", key)', (s) => s.identity.setRemoteIdentity('a', bytes(33))],
      ['setRemoteIdentities([{ identityKey: "k" }])', (s) => s.identity.setRemoteIdentities([{ address: A, identityKey: 'k' }])],
      ['getRemoteIdentities(addr)', (s) => s.identity.getRemoteIdentities(A)]
    ],
    senderKey: [
      ['upsertSenderKey(no sender)', (s) => s.senderKey.upsertSenderKey({ groupId: 'g' })],
      ['upsertSenderKey(no groupId)', (s) => s.senderKey.upsertSenderKey({ sender: A })],
      ['upsertSenderKey("record")', (s) => s.senderKey.upsertSenderKey('record')],
      ['getDeviceSenderKey(5, addr)', (s) => s.senderKey.getDeviceSenderKey(5, A)],
      ['getDeviceSenderKey("g", null)', (s) => s.senderKey.getDeviceSenderKey('g', null)],
      ['upsertSenderKeyDistribution(keyId "1")', (s) => s.senderKey.upsertSenderKeyDistribution({ groupId: 'g', sender: A, keyId: '1', timestampMs: 1 })],
      ['upsertSenderKeyDistribution(timestampMs 1.5)', (s) => s.senderKey.upsertSenderKeyDistribution({ groupId: 'g', sender: A, keyId: 1, timestampMs: 1.5 })],
      ['upsertSenderKeyDistributions("x")', (s) => s.senderKey.upsertSenderKeyDistributions('x')],
      ['getDeviceSenderKeyDistributions("g", addr)', (s) => s.senderKey.getDeviceSenderKeyDistributions('g', A)],
      ['deleteDeviceSenderKey("a")', (s) => s.senderKey.deleteDeviceSenderKey('a')],
      ['deleteDeviceSenderKey(addr, 5)', (s) => s.senderKey.deleteDeviceSenderKey(A, 5)],
      ['markForgetSenderKey("g", addr)', (s) => s.senderKey.markForgetSenderKey('g', A)],
      ['getGroupSenderKeyList(undefined)', (s) => s.senderKey.getGroupSenderKeyList(undefined)]
    ],
    appState: [
      ['upsertSyncKeys(keyId "ab")', (s) => s.appState.upsertSyncKeys([{ keyId: 'ab', keyData: u8(1), timestamp: 1 }])],
      ['upsertSyncKeys(keyData [1])', (s) => s.appState.upsertSyncKeys([{ keyId: u8(1), keyData: [1], timestamp: 1 }])],
      ['upsertSyncKeys(timestamp 1.5)', (s) => s.appState.upsertSyncKeys([{ keyId: u8(1), keyData: u8(1), timestamp: 1.5 }])],
      ['upsertSyncKeys(undefined)', (s) => s.appState.upsertSyncKeys(undefined)],
      ['getSyncKeyData("x")', (s) => s.appState.getSyncKeyData('x')],
      ['getSyncKeyDataBatch([u8, "x"])', (s) => s.appState.getSyncKeyDataBatch([u8(1), 'x'])],
      ['getSyncKeysBatch(u8)', (s) => s.appState.getSyncKeysBatch(u8(1))],
      ['getCollectionState(5)', (s) => s.appState.getCollectionState(5)],
      ['getCollectionStates("regular")', (s) => s.appState.getCollectionStates('regular')],
      ['setCollectionStates(collection 5)', (s) => s.appState.setCollectionStates([coll({ collection: 5 })])],
      ['setCollectionStates(version 1.5)', (s) => s.appState.setCollectionStates([coll({ version: 1.5 })])],
      ['setCollectionStates(hash "h")', (s) => s.appState.setCollectionStates([coll({ hash: 'h' })])],
      ['setCollectionStates(map value "v")', (s) => s.appState.setCollectionStates([coll({ indexValueMap: new Map([['k', 'v']]) })])],
      ['setCollectionStates(map key 5)', (s) => s.appState.setCollectionStates([coll({ indexValueMap: new Map([[5, u8(1)]]) })])],
      ['setCollectionStates(no map)', (s) => s.appState.setCollectionStates([coll({ indexValueMap: undefined })])]
    ],
    privacyToken: [
      ['upsert(no updatedAtMs)', (s) => s.privacyToken.upsert({ jid: 'x' })],
      ['upsert(jid 5)', (s) => s.privacyToken.upsert({ jid: 5, updatedAtMs: 1 })],
      ['upsert(tcToken "t")', (s) => s.privacyToken.upsert({ jid: 'x', tcToken: 't', updatedAtMs: 1 })],
      ['upsert(tcTokenTimestamp 1.5)', (s) => s.privacyToken.upsert({ jid: 'x', tcTokenTimestamp: 1.5, updatedAtMs: 1 })],
      ['upsertBatch([5])', (s) => s.privacyToken.upsertBatch([5])],
      ['getByJid(undefined)', (s) => s.privacyToken.getByJid(undefined)],
      ['deleteByJid({})', (s) => s.privacyToken.deleteByJid({})]
    ],
    messages: [
      ['upsert(id 1)', (s) => s.messages.upsert({ id: 1, threadJid: 't', fromMe: true })],
      ['upsert(no fromMe)', (s) => s.messages.upsert({ id: 'm', threadJid: 't' })],
      ['upsert(fromMe "yes")', (s) => s.messages.upsert({ id: 'm', threadJid: 't', fromMe: 'yes' })],
      ['upsert(no threadJid)', (s) => s.messages.upsert({ id: 'm', fromMe: true })],
      ['upsert(timestampMs 1.5)', (s) => s.messages.upsert({ id: 'm', threadJid: 't', fromMe: true, timestampMs: 1.5 })],
      ['upsert(messageBytes "bytes")', (s) => s.messages.upsert({ id: 'm', threadJid: 't', fromMe: true, messageBytes: 'bytes' })],
      ['upsertBatch("m")', (s) => s.messages.upsertBatch('m')],
      ['getById(42)', (s) => s.messages.getById(42)],
      ['listByThread(undefined)', (s) => s.messages.listByThread(undefined)],
      ['listByThread(t, 10, 1.5)', (s) => s.messages.listByThread('t', 10, 1.5)],
      ['listByThread(t, 10, "yesterday")', (s) => s.messages.listByThread('t', 10, 'yesterday')],
      ['deleteById(null)', (s) => s.messages.deleteById(null)]
    ],
    threads: [
      ['upsert(jid 5)', (s) => s.threads.upsert({ jid: 5 })],
      ['upsert(unreadCount "3")', (s) => s.threads.upsert({ jid: 't', unreadCount: '3' })],
      ['upsert(archived "yes")', (s) => s.threads.upsert({ jid: 't', archived: 'yes' })],
      ['upsert(name 5)', (s) => s.threads.upsert({ jid: 't', name: 5 })],
      ['upsert(muteEndMs 1.5)', (s) => s.threads.upsert({ jid: 't', muteEndMs: 1.5 })],
      ['upsertBatch([null])', (s) => s.threads.upsertBatch([null])],
      ['getByJid({})', (s) => s.threads.getByJid({})],
      ['deleteByJid(7)', (s) => s.threads.deleteByJid(7)]
    ],
    contacts: [
      ['upsert(no lastUpdatedMs)', (s) => s.contacts.upsert({ jid: 'c' })],
      ['upsert(displayName 5)', (s) => s.contacts.upsert({ jid: 'c', displayName: 5, lastUpdatedMs: 1 })],
      ['upsert(lastUpdatedMs "1")', (s) => s.contacts.upsert({ jid: 'c', lastUpdatedMs: '1' })],
      ['upsertBatch({})', (s) => s.contacts.upsertBatch({})],
      ['getByJid(undefined)', (s) => s.contacts.getByJid(undefined)],
      ['getByPhoneNumber(5)', (s) => s.contacts.getByPhoneNumber(5)]
    ],
    retry: [
      ['upsertOutboundMessage({ messageId })', (s) => s.retry.upsertOutboundMessage({ messageId: 'm' })],
      ['upsertOutboundMessage(replayMode "smoke")', (s) => s.retry.upsertOutboundMessage(outbound({ replayMode: 'smoke' }))],
      ['upsertOutboundMessage(state "lost")', (s) => s.retry.upsertOutboundMessage(outbound({ state: 'lost' }))],
      ['upsertOutboundMessage(eligible "a")', (s) => s.retry.upsertOutboundMessage(outbound({ eligibleRequesterDeviceJids: 'a' }))],
      ['upsertOutboundMessage(updatedAtMs 1.5)', (s) => s.retry.upsertOutboundMessage(outbound({ updatedAtMs: 1.5 }))],
      ['upsertOutboundMessage(no replayPayload)', (s) => s.retry.upsertOutboundMessage(outbound({ replayPayload: undefined }))],
      ['updateOutboundMessageState(state "lost")', (s) => s.retry.updateOutboundMessageState('m', 'lost', 1, 2)],
      ['incrementInboundCounter(1, ...)', (s) => s.retry.incrementInboundCounter(1, 'r', 1, 2)],
      ['incrementInboundCounter(updatedAtMs "1")', (s) => s.retry.incrementInboundCounter('m', 'r', '1', 2)],
      ['markOutboundRequesterDelivered(expiresAtMs 2.5)', (s) => s.retry.markOutboundRequesterDelivered('m', 'r', 1, 2.5)],
      ['cleanupExpired("now")', (s) => s.retry.cleanupExpired('now')],
      ['getOutboundRequesterStatus("m", 5)', (s) => s.retry.getOutboundRequesterStatus('m', 5)],
      ['deleteOutboundMessage([])', (s) => s.retry.deleteOutboundMessage([])]
    ],
    groupMetadata: [
      ['upsert(participants "a")', (s) => s.groupMetadata.upsertGroupMetadata({ groupJid: 'g', participants: 'a', updatedAtMs: 1 })],
      ['upsert(participants [5])', (s) => s.groupMetadata.upsertGroupMetadata({ groupJid: 'g', participants: [5], updatedAtMs: 1 })],
      ['upsert(updatedAtMs 1.5)', (s) => s.groupMetadata.upsertGroupMetadata({ groupJid: 'g', participants: [], updatedAtMs: 1.5 })],
      ['upsert(no groupJid)', (s) => s.groupMetadata.upsertGroupMetadata({ participants: [], updatedAtMs: 1 })],
      ['getGroupMetadata("g", "now")', (s) => s.groupMetadata.getGroupMetadata('g', 'now')],
      ['cleanupExpired(undefined)', (s) => s.groupMetadata.cleanupExpired(undefined)],
      ['deleteGroupMetadata(5)', (s) => s.groupMetadata.deleteGroupMetadata(5)]
    ],
    chatMetadata: [
      ['upsert(no updatedAtMs)', (s) => s.chatMetadata.upsertChatMetadata({ chatJid: 'c' })],
      ['upsert(ephemeralExpiration "1d")', (s) => s.chatMetadata.upsertChatMetadata({ chatJid: 'c', ephemeralExpiration: '1d', updatedAtMs: 1 })],
      ['getChatMetadata(5)', (s) => s.chatMetadata.getChatMetadata(5)],
      ['cleanupExpired(1.5)', (s) => s.chatMetadata.cleanupExpired(1.5)]
    ],
    deviceList: [
      ['upsertUserDevicesBatch("x")', (s) => s.deviceList.upsertUserDevicesBatch('x')],
      ['upsertUserDevicesBatch(deviceJids "d")', (s) => s.deviceList.upsertUserDevicesBatch([{ userJid: 'u', deviceJids: 'd', updatedAtMs: 1 }])],
      ['upsertUserDevicesBatch(altUserJid 5)', (s) => s.deviceList.upsertUserDevicesBatch([{ userJid: 'u', altUserJid: 5, deviceJids: [], updatedAtMs: 1 }])],
      ['getUserDevicesBatch("u")', (s) => s.deviceList.getUserDevicesBatch('u')],
      ['findByAnyUserJid(5)', (s) => s.deviceList.findByAnyUserJid(5)],
      ['deleteUserDevices(undefined)', (s) => s.deviceList.deleteUserDevices(undefined)]
    ],
    messageSecret: [
      ['set(m, secret "s")', (s) => s.messageSecret.set('m', { secret: 's', senderJid: 'x' })],
      ['set(m, no senderJid)', (s) => s.messageSecret.set('m', { secret: u8(1) })],
      ['set(5, entry)', (s) => s.messageSecret.set(5, { secret: u8(1), senderJid: 'x' })],
      ['set(m, undefined)', (s) => s.messageSecret.set('m', undefined)],
      ['getBatch("m")', (s) => s.messageSecret.getBatch('m')],
      ['setBatch([{ messageId }])', (s) => s.messageSecret.setBatch([{ messageId: 'm' }])],
      ['get(m, "now")', (s) => s.messageSecret.get('m', 'now')]
    ]
  }
}

async function outcome(call) {
  try {
    await call()
    return 'resolved'
  } catch (err) {
    if (err && err.code === 'STORE_INVALID_ARGUMENT') return null
    return `${(err && err.code) || (err && err.constructor && err.constructor.name)}: ${err && err.message}`
  }
}

module.exports = (h) => {
  describe('hostile input', () => {
    for (const [label, id] of HOSTILE_IDS) {
      if (id.includes('\u0000') && h.factory.textHoldsNul === false) {
        it(`${label} id is refused with STORE_INVALID_ARGUMENT (this backend's text type cannot hold NUL) and nothing is written`, async () => {
          const { s } = h.open()
          await rejectsCode(() => s.messages.upsert({ id, threadJid: 't', fromMe: true, timestampMs: 1 }), 'STORE_INVALID_ARGUMENT')
          await rejectsCode(() => s.threads.upsert({ jid: id, unreadCount: 1 }), 'STORE_INVALID_ARGUMENT')
          await rejectsCode(() => s.contacts.upsert({ jid: id, lastUpdatedMs: 1 }), 'STORE_INVALID_ARGUMENT')
          await rejectsCode(() => s.session.setSession(addr(id, 0), { record: 1 }), 'STORE_INVALID_ARGUMENT')
          assert.deepEqual(await s.threads.list(), [])
          assert.equal(await s.messages.getById('t'), null)
        })
        continue
      }
      it(`${label} id is stored and read back exactly in every domain`, async () => {
        const { s } = h.open()
        await roundTripEverywhere(s, id)
      })
    }

    it('ids that differ only by case, trailing space, NUL, normalization or a LIKE wildcard stay distinct', async () => {
      const { s } = h.open()
      const family = ['abc', 'ABC', 'abc ', 'abc\u0000', 'ab%', 'a_c', 'ab\\c', 'caf\u00e9', 'cafe\u0301'].filter(
        (id) => h.factory.textHoldsNul !== false || !id.includes('\u0000')
      )
      for (const [i, id] of family.entries()) {
        await s.messages.upsert({ id, threadJid: `t-${id}`, fromMe: true, timestampMs: i })
        await s.threads.upsert({ jid: id, unreadCount: i })
        await s.contacts.upsert({ jid: id, phoneNumber: `pn-${id}`, lastUpdatedMs: i })
        await s.messageSecret.set(id, { secret: u8(i), senderJid: id })
      }
      for (const [i, id] of family.entries()) {
        assert.equal((await s.messages.getById(id)).timestampMs, i, `message ${JSON.stringify(id)}`)
        assert.deepEqual((await s.messages.listByThread(`t-${id}`)).map((m) => m.id), [id])
        assert.equal((await s.threads.getByJid(id)).unreadCount, i, `thread ${JSON.stringify(id)}`)
        assert.equal((await s.contacts.getByPhoneNumber(`pn-${id}`)).jid, id)
        assertBytes((await s.messageSecret.get(id)).secret, u8(i))
      }
      assert.equal((await s.threads.list()).length, family.length)
      assert.equal(await s.messages.deleteById('ab%'), 1)
      assert.equal(await s.messages.deleteById('a_c'), 1)
      assert.equal(await s.messages.deleteById('a%'), 0)
      assert.equal(await s.messages.deleteById('_bc'), 0)
      assert.ok(await s.messages.getById('abc'), 'wildcard deletes did not hit other rows')
      assert.equal(await s.threads.getByJid('a%'), null)
      assert.equal(await s.contacts.getByPhoneNumber('pn-%'), null)
    })

    it('look-alike session ids are separate tenants', async () => {
      const { store, target } = h.open()
      for (const [i, id] of LOOKALIKE_SESSION_IDS.entries()) {
        await store.session(id).auth.save({ i, id })
        await store.session(id).messages.upsert({ id: 'm', threadJid: 't', fromMe: true, timestampMs: i })
      }
      const check = async (st) => {
        for (const [i, id] of LOOKALIKE_SESSION_IDS.entries()) {
          const s = st.session(id)
          assert.equal(s.sessionId, id)
          assert.deepStrictEqual(await s.auth.load(), { i, id }, `auth of ${JSON.stringify(id)}`)
          assert.equal((await s.messages.getById('m')).timestampMs, i)
        }
      }
      await check(store)
      await store.session('tenant%').messages.clear()
      assert.ok(await store.session('tenantX').messages.getById('m'), 'clear of "tenant%" did not touch "tenantX"')
      assert.ok(await store.session('tenant').messages.getById('m'))
      if (h.persistent) {
        await store.session('tenant%').messages.upsert({ id: 'm', threadJid: 't', fromMe: true, timestampMs: 0 })
        await store.destroy()
        await check(h.reopen(target).store)
      }
    })

    it('a stored object with an own "__proto__" key round-trips without prototype pollution', async () => {
      const { s } = h.open()
      const hostile = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "ok": 1}')
      await s.auth.save(hostile)
      const got = await s.auth.load()
      assert.equal({}.polluted, undefined, 'Object.prototype untouched')
      assert.equal(Object.getPrototypeOf(got), Object.prototype, 'the decoded object has a normal prototype')
      assert.ok(Object.prototype.hasOwnProperty.call(got, '__proto__'), 'own __proto__ key kept')
      assert.deepStrictEqual(got, hostile)
    })

    it('values that cannot be stored (functions, symbols, cycles, absurd depth) reject with STORE_INVALID_ARGUMENT', async () => {
      const { s } = h.open()
      const cyclic = { a: 1 }
      cyclic.self = cyclic
      let deep = {}
      const root = deep
      for (let i = 0; i < 100_000; i += 1) deep = deep.next = {}
      const failures = []
      for (const [label, value] of [
        ['function', { f: () => 1 }],
        ['symbol', { s: Symbol('x') }],
        ['cycle', cyclic],
        ['100k-deep nesting', root]
      ]) {
        const result = await outcome(() => s.auth.save(value))
        if (result) failures.push(`${label}: ${result}`)
        const again = await outcome(() => s.session.setSession(addr('x', 0), value))
        if (again) failures.push(`session ${label}: ${again}`)
      }
      assert.deepEqual(failures, [])
      await s.auth.save(credentials(1))
      assert.deepStrictEqual(await s.auth.load(), credentials(1), 'the store still works')
    })

    /** Data in several domains that a refused call must leave exactly as it was. */
    async function seed(s) {
      const A = addr('seed', 1)
      await s.auth.save({ keep: 'auth' })
      await s.session.setSession(A, { keep: 'session' })
      await s.identity.setRemoteIdentity(A, bytes(33, 4))
      await s.preKey.putPreKey({ keyId: 7, keyPair: { pubKey: bytes(33, 1), privKey: bytes(32, 2) } })
      await s.messages.upsert({ id: 'seed', threadJid: 'seed-t', fromMe: true, timestampMs: 1 })
      await s.keys.set({ session: { seed: { keep: 'keys' } } })
      return async () => {
        assert.deepStrictEqual(await s.auth.load(), { keep: 'auth' })
        assert.deepStrictEqual(await s.session.getSession(A), { keep: 'session' })
        assertBytes(await s.identity.getRemoteIdentity(A), bytes(33, 4))
        assert.equal((await s.preKey.getPreKeyById(7)).keyId, 7)
        assert.equal(await s.preKey.getPreKeyById(8), null)
        assert.equal((await s.messages.getById('seed')).timestampMs, 1)
        assert.equal(await s.messages.getById('big'), null)
        assert.deepStrictEqual(await s.keys.get('session', ['seed', 'big']), { seed: { keep: 'keys' } })
        assert.equal(await s.session.getSession(addr('big', 0)), null)
      }
    }

    async function withLimits(limits, fn) {
      const before = getInputLimits()
      setInputLimits(limits)
      try {
        await fn()
      } finally {
        setInputLimits(before)
      }
    }

    it('a value over maxValueBytes rejects with STORE_VALUE_TOO_LARGE (limit and size) and writes nothing', async () => {
      const { s } = h.open()
      const unchanged = await seed(s)
      const LIMIT = 64 * 1024
      const over = new Uint8Array(LIMIT + 1)
      const B = addr('big', 0)
      const kp = (pubKey) => ({ pubKey, privKey: bytes(32) })
      await withLimits({ maxValueBytes: LIMIT }, async () => {
        const calls = [
          ['auth.save', () => s.auth.save({ blob: over })],
          ['auth.save(string)', () => s.auth.save({ text: 'x'.repeat(LIMIT + 1) })],
          ['session.setSession', () => s.session.setSession(B, { blob: over })],
          ['session.setSessionsBatch', () => s.session.setSessionsBatch([{ address: B, session: { blob: over } }])],
          ['identity.setRemoteIdentity', () => s.identity.setRemoteIdentity(B, over)],
          ['preKey.putPreKey', () => s.preKey.putPreKey({ keyId: 8, keyPair: kp(over) })],
          ['messages.upsert', () => s.messages.upsert({ id: 'big', threadJid: 't', fromMe: true, messageBytes: over })],
          ['keys.set', () => s.keys.set({ session: { big: { blob: over } } })],
          ['senderKey.upsertSenderKey', () => s.senderKey.upsertSenderKey({ groupId: 'g', sender: B, blob: over })]
        ]
        const failures = []
        for (const [label, call] of calls) {
          try {
            await call()
            failures.push(`${label}: resolved`)
          } catch (err) {
            if (err.code !== 'STORE_VALUE_TOO_LARGE') failures.push(`${label}: ${err.code} ${err.message}`)
            else if (err.limit !== LIMIT || !(err.size > LIMIT)) failures.push(`${label}: limit ${err.limit} size ${err.size}`)
            else if (!/limit/.test(err.message)) failures.push(`${label}: message ${err.message}`)
          }
        }
        assert.deepEqual(failures, [])
        // At the limit is fine.
        await s.identity.setRemoteIdentity(addr('at-limit', 0), new Uint8Array(LIMIT))
      })
      await unchanged()
      // The default limit is 16 MiB.
      assert.equal(getInputLimits().maxValueBytes, 16 * 1024 * 1024)
      await rejectsCode(() => s.identity.setRemoteIdentity(B, new Uint8Array(16 * 1024 * 1024 + 1)), 'STORE_VALUE_TOO_LARGE')
      await unchanged()
    })

    it('ids over maxIdBytes and batches over maxBatchItems reject with STORE_INVALID_ARGUMENT naming the argument', async () => {
      const { s } = h.open()
      const unchanged = await seed(s)
      await withLimits({ maxIdBytes: 100, maxBatchItems: 10 }, async () => {
        const long = 'x'.repeat(101)
        await rejectsCode(() => s.messages.getById(long), 'STORE_INVALID_ARGUMENT', '101 bytes', 'limit is 100')
        await rejectsCode(() => s.messages.upsert({ id: long, threadJid: 't', fromMe: true }), 'STORE_INVALID_ARGUMENT', 'id')
        await rejectsCode(() => s.session.setSession(addr(long, 0), { x: 1 }), 'STORE_INVALID_ARGUMENT', 'user')
        await rejectsCode(() => s.keys.get('session', [long]), 'STORE_INVALID_ARGUMENT')
        const eleven = Array.from({ length: 11 }, (_, i) => i)
        await rejectsCode(() => s.preKey.getPreKeysById(eleven), 'STORE_INVALID_ARGUMENT', '11 elements', 'at most 10')
        await rejectsCode(() => s.session.getSessionsBatch(eleven.map((i) => addr(`u${i}`, 0))), 'STORE_INVALID_ARGUMENT', '11 elements')
        await rejectsCode(() => s.keys.get('session', eleven.map(String)), 'STORE_INVALID_ARGUMENT', 'ids')
        await rejectsCode(
          () => s.messages.upsertBatch(eleven.map((i) => ({ id: `big${i}`, threadJid: 't', fromMe: true }))),
          'STORE_INVALID_ARGUMENT',
          '11 elements'
        )
        await rejectsCode(() => s.keys.set({ session: Object.fromEntries(eleven.map((i) => [`big${i}`, 1])) }), 'STORE_INVALID_ARGUMENT')
        // Within the limits is fine.
        assert.equal((await s.preKey.getPreKeysById(eleven.slice(0, 10))).length, 10)
        assert.equal(await s.messages.getById('x'.repeat(100)), null)
      })
      await unchanged()
    })

    it('NaN, negative, fractional and non-number counts reject with STORE_INVALID_ARGUMENT naming the parameter', async () => {
      const { s } = h.open()
      const unchanged = await seed(s)
      const gen = (keyId) => ({ keyId, keyPair: { pubKey: bytes(33), privKey: bytes(32) } })
      for (const bad of [NaN, -1, 0, 1.5, Infinity, '3']) {
        await rejectsCode(() => s.messages.listByThread('seed-t', bad), 'STORE_INVALID_ARGUMENT', 'limit')
        await rejectsCode(() => s.threads.list(bad), 'STORE_INVALID_ARGUMENT', 'limit')
        await rejectsCode(() => s.keys.list('session', { limit: bad }), 'STORE_INVALID_ARGUMENT', 'limit')
        await rejectsCode(() => s.preKey.getOrGenPreKeys(bad, gen), 'STORE_INVALID_ARGUMENT', 'count')
      }
      for (const bad of [NaN, -1, 1.5]) {
        await rejectsCode(() => s.preKey.getPreKeyById(bad), 'STORE_INVALID_ARGUMENT', 'keyId')
        await rejectsCode(() => s.session.getSession({ user: 'u', device: bad }), 'STORE_INVALID_ARGUMENT', 'device')
        // A negative beforeTimestampMs is a valid timestamp; NaN and fractions are not.
        if (bad !== -1) await rejectsCode(() => s.messages.listByThread('seed-t', 10, bad), 'STORE_INVALID_ARGUMENT')
      }
      await unchanged()
    })

    it('setInputLimits refuses unknown fields and out-of-range values with STORE_INVALID_CONFIG and changes nothing', () => {
      const before = getInputLimits()
      for (const bad of [{ maxValueBytes: 0 }, { maxValueBytes: NaN }, { maxIdBytes: -1 }, { maxBatchItems: 1.5 }, { maxValueBytes: 2 ** 40 }, { nope: 1 }, { maxIdBytes: '5' }]) {
        assert.throws(() => setInputLimits(bad), { code: 'STORE_INVALID_CONFIG' }, JSON.stringify(bad))
      }
      assert.throws(() => setInputLimits({ maxIdBytes: 10, maxBatchItems: 0 }), { code: 'STORE_INVALID_CONFIG' })
      assert.deepEqual(getInputLimits(), before, 'a refused call changes no limit')
    })

    for (const [domain, calls] of Object.entries(wrongCalls())) {
      it(`${domain}: wrong argument types reject with STORE_INVALID_ARGUMENT and leave other data untouched`, async () => {
        const { s } = h.open()
        const unchanged = await seed(s)
        const failures = []
        for (const [label, call] of calls) {
          const result = await outcome(() => call(s))
          if (result) failures.push(`${domain}.${label} -> ${result}`)
        }
        assert.deepEqual(failures, [], `calls that did not reject with STORE_INVALID_ARGUMENT:\n${failures.join('\n')}`)
        await unchanged()
        await s.auth.save({ still: 'working' })
        assert.deepStrictEqual(await s.auth.load(), { still: 'working' })
      })
    }

    it('identity keys of other typed-array kinds or ArrayBuffers are not accepted as Uint8Array', async () => {
      const { s } = h.open()
      for (const key of [new Uint16Array(4), new ArrayBuffer(4), new DataView(new ArrayBuffer(4))]) {
        const result = await outcome(() => s.identity.setRemoteIdentity(addr('k', 0), key))
        assert.equal(result, null, `${key.constructor.name}: ${result}`)
      }
    })
  })
}
