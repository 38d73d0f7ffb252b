'use strict'
// The five cache domains: retry, groupMetadata, chatMetadata, deviceList, messageSecret.
// Expiry is driven by explicit nowMs values; nothing here waits on timers.
const assert = require('node:assert/strict')
const { describe, it } = require('node:test')
const { bytes, u8, assertRecord, assertBytes } = require('../helpers/util')

const DEFAULT_TTL = {
  retryMs: 60_000,
  groupMetadataMs: 300_000,
  chatMetadataMs: 1_800_000,
  deviceListMs: 300_000,
  messageSecretMs: 1_800_000
}
const SHORT_TTL = { retryMs: 500, groupMetadataMs: 100, chatMetadataMs: 200, deviceListMs: 300, messageSecretMs: 400 }

function outbound(messageId, extra = {}) {
  return {
    messageId,
    toJid: '5511@s.whatsapp.net',
    replayMode: 'plaintext',
    replayPayload: u8(1, 2, 3),
    state: 'pending',
    updatedAtMs: 1000,
    expiresAtMs: 61_000,
    ...extra
  }
}

module.exports = (h) => {
  describe('retry cache', () => {
    it('getTtlMs() is the configured retry TTL (default 60000)', async () => {
      const { s } = h.open()
      assert.equal(s.retry.getTtlMs(), DEFAULT_TTL.retryMs)
      assert.equal(typeof s.retry.supportsRawReplayPayload(), 'boolean')
      const { s: short } = h.open({ cacheTtlMs: SHORT_TTL })
      assert.equal(short.retry.getTtlMs(), SHORT_TTL.retryMs)
    })

    it('upsertOutboundMessage / getOutboundMessage round-trip', async () => {
      const { s } = h.open()
      assert.equal(await s.retry.getOutboundMessage('m1'), null)
      const rec = outbound('m1', {
        replayMode: 'encrypted',
        replayPayload: bytes(300, 1),
        eligibleRequesterDeviceJids: ['5511@s.whatsapp.net', '5511:1@s.whatsapp.net'],
        deliveredRequesterDeviceJids: ['5511@s.whatsapp.net']
      })
      await s.retry.upsertOutboundMessage(rec)
      assertRecord(await s.retry.getOutboundMessage('m1'), rec)
    })

    it('an object replay payload round-trips when supportsRawReplayPayload() is true', async () => {
      const { s } = h.open()
      const payload = { mode: 'plaintext', to: '5511@s.whatsapp.net', type: 'text', plaintext: bytes(40, 2), statusSetting: undefined }
      await s.retry.upsertOutboundMessage(outbound('obj', { replayPayload: payload }))
      const got = await s.retry.getOutboundMessage('obj')
      if (s.retry.supportsRawReplayPayload()) {
        assert.deepStrictEqual(got.replayPayload, { mode: 'plaintext', to: '5511@s.whatsapp.net', type: 'text', plaintext: bytes(40, 2), statusSetting: undefined })
      } else {
        assert.ok(got, 'the record is still stored')
      }
    })

    it('upsertOutboundMessage replaces the previous record', async () => {
      const { s } = h.open()
      await s.retry.upsertOutboundMessage(outbound('m', { eligibleRequesterDeviceJids: ['a@s.whatsapp.net'] }))
      await s.retry.upsertOutboundMessage(outbound('m', { state: 'read', toJid: 'other@s.whatsapp.net' }))
      assertRecord(await s.retry.getOutboundMessage('m'), outbound('m', { state: 'read', toJid: 'other@s.whatsapp.net' }))
      assert.equal(await s.retry.getOutboundRequesterStatus('m', 'a@s.whatsapp.net'), null)
    })

    it('requester status: null without record or eligible list; eligible/delivered otherwise', async () => {
      const { s } = h.open()
      assert.equal(await s.retry.getOutboundRequesterStatus('missing', 'dev1@s.whatsapp.net'), null)
      await s.retry.upsertOutboundMessage(outbound('none'))
      assert.equal(await s.retry.getOutboundRequesterStatus('none', 'dev1@s.whatsapp.net'), null)
      await s.retry.upsertOutboundMessage(outbound('empty', { eligibleRequesterDeviceJids: [] }))
      assert.equal(await s.retry.getOutboundRequesterStatus('empty', 'dev1@s.whatsapp.net'), null)

      await s.retry.upsertOutboundMessage(outbound('m', { eligibleRequesterDeviceJids: ['dev1@s.whatsapp.net', 'dev2@s.whatsapp.net'] }))
      assert.deepEqual(await s.retry.getOutboundRequesterStatus('m', 'dev1@s.whatsapp.net'), { eligible: true, delivered: false })
      assert.deepEqual(await s.retry.getOutboundRequesterStatus('m', 'unknown@s.whatsapp.net'), { eligible: false, delivered: false })
      await s.retry.markOutboundRequesterDelivered('m', 'dev1@s.whatsapp.net', 1001, 62_000)
      assert.deepEqual(await s.retry.getOutboundRequesterStatus('m', 'dev1@s.whatsapp.net'), { eligible: true, delivered: true })
      assert.deepEqual(await s.retry.getOutboundRequesterStatus('m', 'dev2@s.whatsapp.net'), { eligible: true, delivered: false })
    })

    it('a delivered but not eligible requester still reports not eligible', async () => {
      const { s } = h.open()
      await s.retry.upsertOutboundMessage(outbound('m', { eligibleRequesterDeviceJids: ['a@s.whatsapp.net'] }))
      await s.retry.markOutboundRequesterDelivered('m', 'b@s.whatsapp.net', 1001, 62_000)
      assert.deepEqual(await s.retry.getOutboundRequesterStatus('m', 'b@s.whatsapp.net'), { eligible: false, delivered: false })
    })

    it('markOutboundRequesterDelivered adds the requester once and moves the timestamps', async () => {
      const { s } = h.open()
      await s.retry.upsertOutboundMessage(outbound('m', { eligibleRequesterDeviceJids: ['d1@s.whatsapp.net', 'd2@s.whatsapp.net'] }))
      await s.retry.markOutboundRequesterDelivered('m', 'd2@s.whatsapp.net', 1150, 1700)
      await s.retry.markOutboundRequesterDelivered('m', 'd2@s.whatsapp.net', 1150, 1700)
      await s.retry.markOutboundRequesterDelivered('m', 'd1@s.whatsapp.net', 1200, 1800)
      const got = await s.retry.getOutboundMessage('m')
      assert.deepEqual([...got.deliveredRequesterDeviceJids].sort(), ['d1@s.whatsapp.net', 'd2@s.whatsapp.net'])
      assert.equal(got.updatedAtMs, 1200)
      assert.equal(got.expiresAtMs, 1800)
    })

    it('markOutboundRequesterDelivered without an eligible list keeps the status null', async () => {
      const { s } = h.open()
      await s.retry.upsertOutboundMessage(outbound('m'))
      await s.retry.markOutboundRequesterDelivered('m', 'dev1@s.whatsapp.net', 1001, 62_000)
      assert.equal(await s.retry.getOutboundRequesterStatus('m', 'dev1@s.whatsapp.net'), null)
    })

    it('updateOutboundMessageState changes state and timestamps only', async () => {
      const { s } = h.open()
      const rec = outbound('m', { eligibleRequesterDeviceJids: ['d@s.whatsapp.net'], replayPayload: bytes(10, 3) })
      await s.retry.upsertOutboundMessage(rec)
      await s.retry.updateOutboundMessageState('m', 'delivered', 1005, 120_000)
      assertRecord(await s.retry.getOutboundMessage('m'), { ...rec, state: 'delivered', updatedAtMs: 1005, expiresAtMs: 120_000 })
      for (const state of ['read', 'played', 'ineligible', 'pending']) {
        await s.retry.updateOutboundMessageState('m', state, 1006, 120_000)
        assert.equal((await s.retry.getOutboundMessage('m')).state, state)
      }
    })

    it('updating or marking a missing message is a no-op (nothing is created)', async () => {
      const { s } = h.open()
      await s.retry.updateOutboundMessageState('ghost', 'delivered', 1, 2)
      await s.retry.markOutboundRequesterDelivered('ghost', 'd@s.whatsapp.net', 1, 2)
      assert.equal(await s.retry.getOutboundMessage('ghost'), null)
    })

    it('deleteOutboundMessage returns 1 then 0', async () => {
      const { s } = h.open()
      await s.retry.upsertOutboundMessage(outbound('m'))
      assert.equal(await s.retry.deleteOutboundMessage('m'), 1)
      assert.equal(await s.retry.deleteOutboundMessage('m'), 0)
      assert.equal(await s.retry.getOutboundMessage('m'), null)
    })

    it('incrementInboundCounter counts 1, 2, 3 per (message, requester)', async () => {
      const { s } = h.open()
      assert.equal(await s.retry.incrementInboundCounter('msg-1', 'dev-a', 1000, 61_000), 1)
      assert.equal(await s.retry.incrementInboundCounter('msg-1', 'dev-a', 1001, 61_000), 2)
      assert.equal(await s.retry.incrementInboundCounter('msg-1', 'dev-a', 1002, 61_000), 3)
      assert.equal(await s.retry.incrementInboundCounter('msg-1', 'dev-b', 1003, 61_000), 1)
      assert.equal(await s.retry.incrementInboundCounter('msg-2', 'dev-a', 1004, 61_000), 1)
    })

    it('incrementInboundCounter is atomic: 50 concurrent calls give 1..50, the next gives 51', async () => {
      const { s } = h.open()
      const counts = await Promise.all(Array.from({ length: 50 }, () => s.retry.incrementInboundCounter('hot', 'req@s.whatsapp.net', 1000, 61_000)))
      assert.deepEqual([...counts].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1))
      assert.equal(await s.retry.incrementInboundCounter('hot', 'req@s.whatsapp.net', 1000, 61_000), 51)
    })

    it('cleanupExpired removes outbound messages and counters with expiresAtMs <= now, and counts them', async () => {
      const { s } = h.open()
      await s.retry.upsertOutboundMessage(outbound('early', { expiresAtMs: 1500 }))
      await s.retry.upsertOutboundMessage(outbound('late', { expiresAtMs: 5000 }))
      await s.retry.incrementInboundCounter('m1', 'req', 1200, 1300)
      await s.retry.incrementInboundCounter('m1', 'req', 1250, 1300)
      await s.retry.incrementInboundCounter('m2', 'req', 1250, 9000)
      assert.equal(await s.retry.cleanupExpired(1100), 0)
      assert.equal(await s.retry.cleanupExpired(1500), 2, 'the boundary (expiresAtMs == now) is expired')
      assert.equal(await s.retry.getOutboundMessage('early'), null)
      assert.ok(await s.retry.getOutboundMessage('late'))
      assert.equal(await s.retry.incrementInboundCounter('m1', 'req', 1600, 9000), 1, 'a cleaned counter restarts at 1')
      assert.equal(await s.retry.incrementInboundCounter('m2', 'req', 1600, 9000), 2, 'a live counter continues')
      assert.equal(await s.retry.cleanupExpired(10_000), 3)
    })

    it('clear() removes outbound messages and counters', async () => {
      const { s } = h.open()
      await s.retry.upsertOutboundMessage(outbound('m'))
      await s.retry.incrementInboundCounter('m', 'req', 1, 99_999)
      await s.retry.clear()
      assert.equal(await s.retry.getOutboundMessage('m'), null)
      assert.equal(await s.retry.incrementInboundCounter('m', 'req', 1, 99_999), 1)
    })
  })

  describe('groupMetadata cache', () => {
    const snap = (groupJid, updatedAtMs, extra = {}) => ({
      groupJid,
      participants: ['b@s.whatsapp.net', 'a@s.whatsapp.net', '123@lid'],
      updatedAtMs,
      ...extra
    })

    it('upsert / get round-trip (participant order kept); re-upsert replaces optional fields', async () => {
      const { s } = h.open()
      assert.equal(await s.groupMetadata.getGroupMetadata('g@g.us', 1000), null)
      const first = snap('g@g.us', 1000, { ephemeral: 7_776_000, ephemeralTrigger: 5 })
      await s.groupMetadata.upsertGroupMetadata(first)
      assertRecord(await s.groupMetadata.getGroupMetadata('g@g.us', 1000), first)
      await s.groupMetadata.upsertGroupMetadata(snap('g@g.us', 1001, { participants: [] }))
      const cleared = await s.groupMetadata.getGroupMetadata('g@g.us', 1001)
      assertRecord(cleared, { groupJid: 'g@g.us', participants: [], updatedAtMs: 1001 })
      assert.equal(cleared.ephemeral, undefined)
      assert.equal(cleared.ephemeralTrigger, undefined)
    })

    it('expires at updatedAtMs + ttl (default 300000)', async () => {
      const { s } = h.open()
      await s.groupMetadata.upsertGroupMetadata(snap('g@g.us', 1000))
      assert.ok(await s.groupMetadata.getGroupMetadata('g@g.us', 1000 + DEFAULT_TTL.groupMetadataMs - 1))
      assert.equal(await s.groupMetadata.getGroupMetadata('g@g.us', 1000 + DEFAULT_TTL.groupMetadataMs), null)
    })

    it('honours a configured TTL', async () => {
      const { s } = h.open({ cacheTtlMs: SHORT_TTL })
      await s.groupMetadata.upsertGroupMetadata(snap('g@g.us', 1000))
      assert.ok(await s.groupMetadata.getGroupMetadata('g@g.us', 1099))
      assert.equal(await s.groupMetadata.getGroupMetadata('g@g.us', 1100), null)
    })

    it('without nowMs, the wall clock decides', async () => {
      const { s } = h.open()
      await s.groupMetadata.upsertGroupMetadata(snap('fresh@g.us', Date.now()))
      await s.groupMetadata.upsertGroupMetadata(snap('stale@g.us', Date.now() - DEFAULT_TTL.groupMetadataMs - 10_000))
      assert.ok(await s.groupMetadata.getGroupMetadata('fresh@g.us'))
      assert.equal(await s.groupMetadata.getGroupMetadata('stale@g.us'), null)
    })

    it('deleteGroupMetadata returns 1 then 0', async () => {
      const { s } = h.open()
      await s.groupMetadata.upsertGroupMetadata(snap('g@g.us', 1000))
      assert.equal(await s.groupMetadata.deleteGroupMetadata('g@g.us'), 1)
      assert.equal(await s.groupMetadata.deleteGroupMetadata('g@g.us'), 0)
      assert.equal(await s.groupMetadata.getGroupMetadata('g@g.us', 1000), null)
    })

    it('cleanupExpired removes expired entries only and counts them; clear() empties', async () => {
      const { s } = h.open({ cacheTtlMs: SHORT_TTL })
      await s.groupMetadata.upsertGroupMetadata(snap('old@g.us', 1000))
      await s.groupMetadata.upsertGroupMetadata(snap('older@g.us', 900))
      await s.groupMetadata.upsertGroupMetadata(snap('new@g.us', 2000))
      assert.equal(await s.groupMetadata.cleanupExpired(999), 0)
      assert.equal(await s.groupMetadata.cleanupExpired(1100), 2)
      assert.ok(await s.groupMetadata.getGroupMetadata('new@g.us', 2000))
      await s.groupMetadata.clear()
      assert.equal(await s.groupMetadata.getGroupMetadata('new@g.us', 2000), null)
    })
  })

  describe('chatMetadata cache', () => {
    it('round-trips disappearing settings; a re-upsert replaces them', async () => {
      const { s } = h.open()
      assert.equal(await s.chatMetadata.getChatMetadata('c@lid', 1000), null)
      const snap = { chatJid: 'c@lid', ephemeralExpiration: 86_400, ephemeralSettingTimestamp: 1_751_808_692, updatedAtMs: 1000 }
      await s.chatMetadata.upsertChatMetadata(snap)
      assertRecord(await s.chatMetadata.getChatMetadata('c@lid', 1000), snap)
      await s.chatMetadata.upsertChatMetadata({ chatJid: 'c@lid', ephemeralExpiration: 0, updatedAtMs: 1001 })
      const disabled = await s.chatMetadata.getChatMetadata('c@lid', 1001)
      assert.equal(disabled.ephemeralExpiration, 0)
      assert.equal(disabled.ephemeralSettingTimestamp, undefined)
      assert.equal(disabled.updatedAtMs, 1001)
    })

    it('expires at updatedAtMs + ttl (default 1800000, or configured)', async () => {
      const { s } = h.open()
      await s.chatMetadata.upsertChatMetadata({ chatJid: 'c@lid', updatedAtMs: 1000 })
      assert.ok(await s.chatMetadata.getChatMetadata('c@lid', 1000 + DEFAULT_TTL.chatMetadataMs - 1))
      assert.equal(await s.chatMetadata.getChatMetadata('c@lid', 1000 + DEFAULT_TTL.chatMetadataMs), null)
      const { s: short } = h.open({ cacheTtlMs: SHORT_TTL })
      await short.chatMetadata.upsertChatMetadata({ chatJid: 'c@lid', updatedAtMs: 1000 })
      assert.ok(await short.chatMetadata.getChatMetadata('c@lid', 1199))
      assert.equal(await short.chatMetadata.getChatMetadata('c@lid', 1200), null)
    })

    it('delete, cleanupExpired and clear', async () => {
      const { s } = h.open({ cacheTtlMs: SHORT_TTL })
      await s.chatMetadata.upsertChatMetadata({ chatJid: 'a@lid', updatedAtMs: 1000 })
      await s.chatMetadata.upsertChatMetadata({ chatJid: 'b@lid', updatedAtMs: 5000 })
      await s.chatMetadata.upsertChatMetadata({ chatJid: 'c@lid', updatedAtMs: 5000 })
      assert.equal(await s.chatMetadata.deleteChatMetadata('c@lid'), 1)
      assert.equal(await s.chatMetadata.deleteChatMetadata('c@lid'), 0)
      assert.equal(await s.chatMetadata.cleanupExpired(1200), 1)
      assert.ok(await s.chatMetadata.getChatMetadata('b@lid', 5000))
      await s.chatMetadata.clear()
      assert.equal(await s.chatMetadata.getChatMetadata('b@lid', 5000), null)
    })
  })

  describe('deviceList cache', () => {
    const snap = (userJid, updatedAtMs, extra = {}) => ({
      userJid,
      deviceJids: [userJid, userJid.replace('@', ':1@'), userJid.replace('@', ':12@')],
      updatedAtMs,
      ...extra
    })

    it('upsertUserDevicesBatch / getUserDevicesBatch: positional, order kept, misses null', async () => {
      const { s } = h.open()
      await s.deviceList.upsertUserDevicesBatch([snap('u1@s.whatsapp.net', 1000), snap('u2@s.whatsapp.net', 1000, { altUserJid: '222@lid' })])
      await s.deviceList.upsertUserDevicesBatch([])
      const got = await s.deviceList.getUserDevicesBatch(['u2@s.whatsapp.net', 'missing@s.whatsapp.net', 'u1@s.whatsapp.net', 'u2@s.whatsapp.net'], 1000)
      assert.equal(got.length, 4)
      assertRecord(got[0], snap('u2@s.whatsapp.net', 1000, { altUserJid: '222@lid' }))
      assert.equal(got[1], null)
      assertRecord(got[2], snap('u1@s.whatsapp.net', 1000))
      assertRecord(got[3], got[0])
      assert.deepEqual(await s.deviceList.getUserDevicesBatch([], 1000), [])
    })

    it('a re-upsert replaces the snapshot; a repeated user in one batch keeps the last', async () => {
      const { s } = h.open()
      await s.deviceList.upsertUserDevicesBatch([snap('u@s.whatsapp.net', 1000, { altUserJid: '1@lid' })])
      await s.deviceList.upsertUserDevicesBatch([
        { userJid: 'u@s.whatsapp.net', deviceJids: ['x'], updatedAtMs: 1001 },
        { userJid: 'u@s.whatsapp.net', deviceJids: ['u@s.whatsapp.net'], updatedAtMs: 1002 }
      ])
      const [got] = await s.deviceList.getUserDevicesBatch(['u@s.whatsapp.net'], 1002)
      assertRecord(got, { userJid: 'u@s.whatsapp.net', deviceJids: ['u@s.whatsapp.net'], updatedAtMs: 1002 })
    })

    it('findByAnyUserJid resolves the user jid or the alternate jid', async () => {
      const { s } = h.open()
      await s.deviceList.upsertUserDevicesBatch([snap('5511@s.whatsapp.net', 1000, { altUserJid: '777@lid' })])
      assert.equal((await s.deviceList.findByAnyUserJid('5511@s.whatsapp.net', 1000)).userJid, '5511@s.whatsapp.net')
      assert.equal((await s.deviceList.findByAnyUserJid('777@lid', 1000)).userJid, '5511@s.whatsapp.net')
      assert.equal(await s.deviceList.findByAnyUserJid('888@lid', 1000), null)
    })

    it('changing or deleting the alternate jid updates findByAnyUserJid', async () => {
      const { s } = h.open()
      await s.deviceList.upsertUserDevicesBatch([snap('5511@s.whatsapp.net', 1000, { altUserJid: '777@lid' })])
      await s.deviceList.upsertUserDevicesBatch([snap('5511@s.whatsapp.net', 1001, { altUserJid: '778@lid' })])
      assert.equal(await s.deviceList.findByAnyUserJid('777@lid', 1001), null)
      assert.ok(await s.deviceList.findByAnyUserJid('778@lid', 1001))
      assert.equal(await s.deviceList.deleteUserDevices('5511@s.whatsapp.net'), 1)
      assert.equal(await s.deviceList.deleteUserDevices('5511@s.whatsapp.net'), 0)
      assert.equal(await s.deviceList.findByAnyUserJid('778@lid', 1001), null)
      assert.deepEqual(await s.deviceList.getUserDevicesBatch(['5511@s.whatsapp.net'], 1001), [null])
    })

    it('expires at updatedAtMs + ttl, for batch reads and findByAnyUserJid', async () => {
      const { s } = h.open()
      const ttl = DEFAULT_TTL.deviceListMs
      await s.deviceList.upsertUserDevicesBatch([snap('u@s.whatsapp.net', 1000, { altUserJid: 'u@lid' })])
      assert.ok((await s.deviceList.getUserDevicesBatch(['u@s.whatsapp.net'], 1000 + ttl - 1))[0])
      assert.ok(await s.deviceList.findByAnyUserJid('u@lid', 1000 + ttl - 1))
      assert.equal((await s.deviceList.getUserDevicesBatch(['u@s.whatsapp.net'], 1000 + ttl))[0], null)
      assert.equal(await s.deviceList.findByAnyUserJid('u@lid', 1000 + ttl), null)
      assert.equal(await s.deviceList.findByAnyUserJid('u@s.whatsapp.net', 1000 + ttl), null)
    })

    it('cleanupExpired counts removed users (configured TTL); clear() empties', async () => {
      const { s } = h.open({ cacheTtlMs: SHORT_TTL })
      await s.deviceList.upsertUserDevicesBatch([
        snap('a@s.whatsapp.net', 1000),
        snap('b@s.whatsapp.net', 900),
        snap('c@s.whatsapp.net', 2000, { altUserJid: 'c@lid' })
      ])
      assert.equal(await s.deviceList.cleanupExpired(1199), 0)
      assert.equal(await s.deviceList.cleanupExpired(1200), 1)
      assert.equal(await s.deviceList.cleanupExpired(1300), 1)
      assert.ok(await s.deviceList.findByAnyUserJid('c@lid', 2000))
      await s.deviceList.clear()
      assert.equal(await s.deviceList.findByAnyUserJid('c@lid', 2000), null)
      assert.deepEqual(await s.deviceList.getUserDevicesBatch(['c@s.whatsapp.net'], 2000), [null])
    })
  })

  describe('messageSecret cache', () => {
    const entry = (n) => ({ secret: bytes(32, n), senderJid: `sender${n}@s.whatsapp.net` })

    it('set / get / getBatch (positional) / setBatch', async () => {
      const { s } = h.open()
      const now = Date.now()
      assert.equal(await s.messageSecret.get('missing', now), null)
      await s.messageSecret.set('msg-1', entry(1))
      await s.messageSecret.set('msg-2', entry(2))
      assertRecord(await s.messageSecret.get('msg-1', now), entry(1))
      const batch = await s.messageSecret.getBatch(['msg-2', 'missing', 'msg-1', 'msg-2'], now)
      assertRecord(batch, [entry(2), null, entry(1), entry(2)])
      assert.deepEqual(await s.messageSecret.getBatch([], now), [])
      await s.messageSecret.setBatch([
        { messageId: 'msg-3', entry: entry(3) },
        { messageId: 'msg-1', entry: entry(4) }
      ])
      await s.messageSecret.setBatch([])
      assertRecord(await s.messageSecret.get('msg-3', now), entry(3))
      assertRecord(await s.messageSecret.get('msg-1', now), entry(4), 'setBatch overwrites')
      assertRecord(await s.messageSecret.get('msg-2'), entry(2), 'nowMs defaults to the wall clock')
      assertBytes((await s.messageSecret.get('msg-2')).secret, bytes(32, 2))
    })

    it('expiry is write time + ttl', async () => {
      const { s } = h.open()
      const ttl = DEFAULT_TTL.messageSecretMs
      const before = Date.now()
      await s.messageSecret.set('a', entry(1))
      await s.messageSecret.setBatch([{ messageId: 'b', entry: entry(2) }])
      const after = Date.now()
      assert.ok(await s.messageSecret.get('a', before + ttl - 1))
      assert.ok((await s.messageSecret.getBatch(['b'], before + ttl - 1))[0])
      assert.equal(await s.messageSecret.get('a', after + ttl), null)
      assert.deepEqual(await s.messageSecret.getBatch(['b', 'a'], after + ttl), [null, null])
    })

    it('honours a configured TTL', async () => {
      const { s } = h.open({ cacheTtlMs: SHORT_TTL })
      const ttl = SHORT_TTL.messageSecretMs
      const before = Date.now()
      await s.messageSecret.set('a', entry(1))
      const after = Date.now()
      assert.ok(await s.messageSecret.get('a', before + ttl - 1))
      assert.equal(await s.messageSecret.get('a', after + ttl), null)
    })

    it('cleanupExpired counts removed entries; clear() empties', async () => {
      const { s } = h.open()
      const ttl = DEFAULT_TTL.messageSecretMs
      const before = Date.now()
      await s.messageSecret.setBatch([
        { messageId: 'a', entry: entry(1) },
        { messageId: 'b', entry: entry(2) }
      ])
      assert.equal(await s.messageSecret.cleanupExpired(before), 0, 'nothing has expired yet')
      await s.messageSecret.set('c', entry(3))
      assert.equal(await s.messageSecret.cleanupExpired(Date.now() + ttl + 1), 3)
      assert.equal(await s.messageSecret.get('a', before), null, 'cleaned entries are gone')
      await s.messageSecret.set('d', entry(4))
      await s.messageSecret.clear()
      assert.equal(await s.messageSecret.get('d'), null)
    })
  })
}
