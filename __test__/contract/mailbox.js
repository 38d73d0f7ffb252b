'use strict'
// privacyToken, messages, threads, contacts.
const assert = require('node:assert/strict')
const { describe, it } = require('node:test')
const { bytes, u8, assertRecord, rejectsCode } = require('../helpers/util')

const T = 'thread-1@s.whatsapp.net'
const msg = (id, timestampMs, extra = {}) => ({ id, threadJid: T, fromMe: false, timestampMs, ...extra })
const ids = (list) => list.map((m) => m.id)

module.exports = (h) => {
  describe('privacyToken', () => {
    it('unknown jid: null', async () => {
      const { s } = h.open()
      assert.equal(await s.privacyToken.getByJid('a@s.whatsapp.net'), null)
    })

    it('upsert / getByJid round-trip every field', async () => {
      const { s } = h.open()
      const rec = {
        jid: 'a@s.whatsapp.net',
        tcToken: bytes(20, 1),
        tcTokenTimestamp: 1_700_000_000,
        tcTokenSenderTimestamp: 1_700_000_001,
        nctSalt: bytes(16, 2),
        updatedAtMs: 1_700_000_000_123
      }
      await s.privacyToken.upsert(rec)
      assertRecord(await s.privacyToken.getByJid('a@s.whatsapp.net'), rec)
    })

    it('upsert merges field by field: missing fields keep old values, updatedAtMs is overwritten', async () => {
      const { s } = h.open()
      const jid = '5511@s.whatsapp.net'
      await s.privacyToken.upsert({ jid, tcToken: u8(1, 2, 3), tcTokenTimestamp: 10, updatedAtMs: 100 })
      await s.privacyToken.upsert({ jid, tcTokenSenderTimestamp: 11, updatedAtMs: 101 })
      await s.privacyToken.upsert({ jid, nctSalt: u8(7, 8, 9), updatedAtMs: 50 })
      assertRecord(await s.privacyToken.getByJid(jid), {
        jid,
        tcToken: u8(1, 2, 3),
        tcTokenTimestamp: 10,
        tcTokenSenderTimestamp: 11,
        nctSalt: u8(7, 8, 9),
        updatedAtMs: 50
      })
      await s.privacyToken.upsert({ jid, tcToken: u8(4), updatedAtMs: 60 })
      const got = await s.privacyToken.getByJid(jid)
      assertRecord(got.tcToken, u8(4))
      assert.equal(got.tcTokenTimestamp, 10)
    })

    it('fields never written stay absent', async () => {
      const { s } = h.open()
      await s.privacyToken.upsert({ jid: 'x@lid', nctSalt: u8(9), updatedAtMs: 1 })
      const got = await s.privacyToken.getByJid('x@lid')
      assert.equal(got.tcToken, undefined)
      assert.equal(got.tcTokenTimestamp, undefined)
      assert.equal(got.tcTokenSenderTimestamp, undefined)
    })

    it('upsertBatch merges too, including repeated jids within one batch', async () => {
      const { s } = h.open()
      await s.privacyToken.upsert({ jid: 'a@s.whatsapp.net', tcTokenTimestamp: 1, updatedAtMs: 1 })
      await s.privacyToken.upsertBatch([
        { jid: 'a@s.whatsapp.net', tcToken: u8(4), updatedAtMs: 4000 },
        { jid: 'b@s.whatsapp.net', nctSalt: u8(5), updatedAtMs: 4001 },
        { jid: 'b@s.whatsapp.net', tcTokenSenderTimestamp: 9, updatedAtMs: 4002 }
      ])
      await s.privacyToken.upsertBatch([])
      assertRecord(await s.privacyToken.getByJid('a@s.whatsapp.net'), {
        jid: 'a@s.whatsapp.net',
        tcToken: u8(4),
        tcTokenTimestamp: 1,
        updatedAtMs: 4000
      })
      assertRecord(await s.privacyToken.getByJid('b@s.whatsapp.net'), {
        jid: 'b@s.whatsapp.net',
        nctSalt: u8(5),
        tcTokenSenderTimestamp: 9,
        updatedAtMs: 4002
      })
    })

    it('deleteByJid returns 1 then 0; clear() empties', async () => {
      const { s } = h.open()
      await s.privacyToken.upsert({ jid: 'a@s.whatsapp.net', tcToken: u8(1), updatedAtMs: 1 })
      await s.privacyToken.upsert({ jid: 'b@s.whatsapp.net', tcToken: u8(2), updatedAtMs: 1 })
      assert.equal(await s.privacyToken.deleteByJid('a@s.whatsapp.net'), 1)
      assert.equal(await s.privacyToken.deleteByJid('a@s.whatsapp.net'), 0)
      assert.equal(await s.privacyToken.deleteByJid('missing@internal'), 0)
      assert.ok(await s.privacyToken.getByJid('b@s.whatsapp.net'))
      await s.privacyToken.clear()
      assert.equal(await s.privacyToken.getByJid('b@s.whatsapp.net'), null)
    })
  })

  describe('messages', () => {
    it('unknown id: null; unknown thread: empty list', async () => {
      const { s } = h.open()
      assert.equal(await s.messages.getById('nope'), null)
      assert.deepEqual(await s.messages.listByThread('nobody@s.whatsapp.net'), [])
    })

    it('upsert / getById round-trip every field, including bytes and fromMe false', async () => {
      const { s } = h.open()
      const rec = {
        id: 'bin-msg-1',
        threadJid: 'thread-bin@s.whatsapp.net',
        senderJid: 'alice@s.whatsapp.net',
        participantJid: 'alice:1@s.whatsapp.net',
        fromMe: false,
        timestampMs: 1_700_000_004_321,
        messageBytes: bytes(4096, 4)
      }
      await s.messages.upsert(rec)
      assertRecord(await s.messages.getById('bin-msg-1'), rec)
      await s.messages.upsert({ id: 'mine', threadJid: T, fromMe: true })
      assertRecord(await s.messages.getById('mine'), { id: 'mine', threadJid: T, fromMe: true })
    })

    it('upsert replaces the whole record (no field merge) and can move a message across threads', async () => {
      const { s } = h.open()
      await s.messages.upsert({ id: 'm', threadJid: 'a@s.whatsapp.net', senderJid: 'x@s.whatsapp.net', fromMe: true, timestampMs: 1000, messageBytes: u8(1) })
      await s.messages.upsert({ id: 'm', threadJid: 'b@s.whatsapp.net', fromMe: false, timestampMs: 2000 })
      assertRecord(await s.messages.getById('m'), { id: 'm', threadJid: 'b@s.whatsapp.net', fromMe: false, timestampMs: 2000 })
      assert.deepEqual(await s.messages.listByThread('a@s.whatsapp.net'), [])
      assert.deepEqual(ids(await s.messages.listByThread('b@s.whatsapp.net')), ['m'])
    })

    it('listByThread: newest first, only that thread, respects limit', async () => {
      const { s } = h.open()
      await s.messages.upsertBatch([msg('m1', 1000), msg('m3', 3000), msg('m2', 2000)])
      await s.messages.upsert({ id: 'other', threadJid: 'other@s.whatsapp.net', fromMe: false, timestampMs: 5000 })
      assert.deepEqual(ids(await s.messages.listByThread(T)), ['m3', 'm2', 'm1'])
      assert.deepEqual(ids(await s.messages.listByThread(T, 2)), ['m3', 'm2'])
      assert.deepEqual(ids(await s.messages.listByThread(T, 100)), ['m3', 'm2', 'm1'])
    })

    it('listByThread breaks timestamp ties by id, descending', async () => {
      const { s } = h.open()
      await s.messages.upsertBatch([msg('b', 1000), msg('c', 1000), msg('a', 1000), msg('z', 500)])
      assert.deepEqual(ids(await s.messages.listByThread(T)), ['c', 'b', 'a', 'z'])
      assert.deepEqual(ids(await s.messages.listByThread(T, 2)), ['c', 'b'])
    })

    it('listByThread with beforeTimestampMs returns only strictly older messages', async () => {
      const { s } = h.open()
      await s.messages.upsertBatch([msg('m1', 1000), msg('m2', 2000), msg('m3', 3000), msg('untimed', undefined)])
      assert.deepEqual(ids(await s.messages.listByThread(T, 10, 3000)), ['m2', 'm1'])
      assert.deepEqual(ids(await s.messages.listByThread(T, 1, 3000)), ['m2'])
      assert.deepEqual(ids(await s.messages.listByThread(T, 10, 1000)), [])
      assert.deepEqual(ids(await s.messages.listByThread(T, 10, 3001)), ['m3', 'm2', 'm1'])
      assert.equal((await s.messages.listByThread(T)).length, 4, 'a message without timestamp is listed without `before`')
    })

    it('listByThread defaults to 50 messages', async () => {
      const { s } = h.open()
      await s.messages.upsertBatch(Array.from({ length: 60 }, (_, i) => msg(`m${String(i).padStart(2, '0')}`, 1000 + i)))
      const list = await s.messages.listByThread(T)
      assert.equal(list.length, 50)
      assert.equal(list[0].id, 'm59')
      assert.equal(list[49].id, 'm10')
    })

    it('listByThread rejects a limit that is not a positive integer', async () => {
      const { s } = h.open()
      for (const limit of [0, -1, 1.5, NaN, '10']) {
        await rejectsCode(() => s.messages.listByThread(T, limit), 'STORE_INVALID_ARGUMENT')
      }
    })

    it('listPageByThread: pages through ties and untimed messages exactly once; nextCursor absent at the end', async () => {
      const { s } = h.open()
      const all = [
        ...Array.from({ length: 30 }, (_, i) => msg(`tie-${String(i).padStart(2, '0')}`, 5000)),
        ...Array.from({ length: 10 }, (_, i) => msg(`old-${i}`, 1000 + i)),
        ...Array.from({ length: 5 }, (_, i) => msg(`none-${i}`, undefined))
      ]
      await s.messages.upsertBatch(all)
      await s.messages.upsert({ id: 'elsewhere', threadJid: 'other@s.whatsapp.net', fromMe: false, timestampMs: 5000 })
      const walk = async (options) => {
        const out = []
        let page = await s.messages.listPageByThread(T, options)
        for (;;) {
          assert.ok(page.messages.length <= (options.limit ?? 50))
          out.push(...page.messages)
          if (page.nextCursor === undefined) return out
          assert.equal(typeof page.nextCursor, 'string')
          page = await s.messages.listPageByThread(T, { limit: options.limit, cursor: page.nextCursor })
        }
      }
      const seen = await walk({ limit: 7 })
      assert.deepEqual(ids(seen).sort(), ids(all).sort(), 'every message once')
      assert.deepEqual(ids(seen).slice(30), [...Array.from({ length: 10 }, (_, i) => `old-${9 - i}`), ...ids(seen).slice(40)])
      assert.ok(seen.slice(40).every((m) => m.timestampMs === undefined), 'untimed messages come last')
      assert.deepEqual(ids(await walk({ limit: 45 })), ids(seen), 'the same walk whatever the page size')
      assert.deepEqual(ids(await walk({ limit: 3, beforeTimestampMs: 5000 })), ids(seen).slice(30))
      const last = await s.messages.listPageByThread(T, { limit: 45 })
      assert.equal(last.nextCursor, undefined, 'a page holding the rest has no cursor')
      assert.deepEqual((await s.messages.listPageByThread('nobody@s.whatsapp.net')).messages, [])
      for (const options of [{ limit: 0 }, { limit: 1.5 }, { cursor: 'garbage' }, { cursor: 5 }, { cursor: 't1:a', beforeTimestampMs: 5 }]) {
        await rejectsCode(() => s.messages.listPageByThread(T, options), 'STORE_INVALID_ARGUMENT')
      }
    })

    it('deleteByThread: from a cursor, below a timestamp, or the whole thread; other threads untouched', async () => {
      const { s } = h.open()
      await s.messages.upsertBatch([...Array.from({ length: 6 }, (_, i) => msg(`m${i}`, 1000 * (i + 1))), msg('untimed', undefined)])
      await s.messages.upsert({ id: 'elsewhere', threadJid: 'other@s.whatsapp.net', fromMe: false, timestampMs: 1 })
      const first = await s.messages.listPageByThread(T, { limit: 4 })
      assert.equal(await s.messages.deleteByThread(T, { cursor: first.nextCursor }), 3)
      assert.deepEqual(ids((await s.messages.listPageByThread(T)).messages), ['m5', 'm4', 'm3', 'm2'])
      assert.equal(await s.messages.deleteByThread(T, { beforeTimestampMs: 5000 }), 2)
      assert.equal(await s.messages.deleteByThread(T), 2)
      assert.deepEqual((await s.messages.listPageByThread(T)).messages, [])
      assert.deepEqual(ids(await s.messages.listByThread('other@s.whatsapp.net')), ['elsewhere'])
      await rejectsCode(() => s.messages.deleteByThread(T, { limit: 5 }), 'STORE_INVALID_ARGUMENT')
    })

    it('upsertBatch: a repeated id keeps the last record', async () => {
      const { s } = h.open()
      await s.messages.upsertBatch([msg('x', 1, { senderJid: 'first@s.whatsapp.net' }), msg('x', 2)])
      await s.messages.upsertBatch([])
      assertRecord(await s.messages.getById('x'), msg('x', 2))
    })

    it('deleteById returns 1 then 0; clear() empties', async () => {
      const { s } = h.open()
      await s.messages.upsertBatch([msg('m1', 1), msg('m2', 2)])
      assert.equal(await s.messages.deleteById('m1'), 1)
      assert.equal(await s.messages.deleteById('m1'), 0)
      assert.equal(await s.messages.deleteById('missing'), 0)
      assert.deepEqual(ids(await s.messages.listByThread(T)), ['m2'])
      await s.messages.clear()
      assert.equal(await s.messages.getById('m2'), null)
      assert.deepEqual(await s.messages.listByThread(T), [])
    })
  })

  describe('threads', () => {
    const full = {
      jid: 'chat-1@s.whatsapp.net',
      name: 'Chat 1',
      unreadCount: 3,
      archived: true,
      pinned: 1_700_000_000,
      muteEndMs: 1_800_000_000_000,
      markedAsUnread: true,
      ephemeralExpiration: 86_400,
      ephemeralSettingTimestamp: 1_751_808_692
    }

    it('unknown jid: null; empty list', async () => {
      const { s } = h.open()
      assert.equal(await s.threads.getByJid('x@s.whatsapp.net'), null)
      assert.deepEqual(await s.threads.list(), [])
    })

    it('upsert / getByJid round-trip every field', async () => {
      const { s } = h.open()
      await s.threads.upsert(full)
      assertRecord(await s.threads.getByJid(full.jid), full)
      await s.threads.upsert({ jid: 'bare@g.us' })
      assertRecord(await s.threads.getByJid('bare@g.us'), { jid: 'bare@g.us' })
    })

    it('upsert merges field by field', async () => {
      const { s } = h.open()
      await s.threads.upsert({ jid: full.jid, name: 'Chat 1', unreadCount: 3 })
      await s.threads.upsert({ jid: full.jid, archived: true })
      await s.threads.upsert({ jid: full.jid, unreadCount: 5, pinned: 7 })
      assertRecord(await s.threads.getByJid(full.jid), { jid: full.jid, name: 'Chat 1', unreadCount: 5, archived: true, pinned: 7 })
    })

    it('false and 0 are values, not "missing": they overwrite', async () => {
      const { s } = h.open()
      await s.threads.upsert(full)
      await s.threads.upsert({ jid: full.jid, unreadCount: 0, archived: false, markedAsUnread: false, ephemeralExpiration: 0, name: '' })
      assertRecord(await s.threads.getByJid(full.jid), {
        ...full,
        unreadCount: 0,
        archived: false,
        markedAsUnread: false,
        ephemeralExpiration: 0,
        name: ''
      })
    })

    it('upsertBatch merges, including repeated jids within one batch', async () => {
      const { s } = h.open()
      await s.threads.upsertBatch([
        { jid: 't1@s.whatsapp.net', name: 'One', unreadCount: 2 },
        { jid: 't2@s.whatsapp.net', name: 'Two' },
        { jid: 't1@s.whatsapp.net', archived: true }
      ])
      await s.threads.upsertBatch([])
      assertRecord(await s.threads.getByJid('t1@s.whatsapp.net'), { jid: 't1@s.whatsapp.net', name: 'One', unreadCount: 2, archived: true })
      assertRecord(await s.threads.getByJid('t2@s.whatsapp.net'), { jid: 't2@s.whatsapp.net', name: 'Two' })
    })

    it('list() respects the limit and defaults to 100', async () => {
      const { s } = h.open()
      await s.threads.upsertBatch(Array.from({ length: 120 }, (_, i) => ({ jid: `t${i}@s.whatsapp.net`, name: `T${i}` })))
      const limited = await s.threads.list(2)
      assert.equal(limited.length, 2)
      assert.equal(new Set(limited.map((t) => t.jid)).size, 2)
      const all = await s.threads.list()
      assert.equal(all.length, 100)
      assert.equal((await s.threads.list(1000)).length, 120)
      const sample = all[0]
      assert.equal(sample.name, `T${sample.jid.slice(1, sample.jid.indexOf('@'))}`, 'listed threads carry their fields')
    })

    it('deleteByJid returns 1 then 0; clear() empties', async () => {
      const { s } = h.open()
      await s.threads.upsertBatch([{ jid: 'a@g.us' }, { jid: 'b@g.us' }])
      assert.equal(await s.threads.deleteByJid('a@g.us'), 1)
      assert.equal(await s.threads.deleteByJid('a@g.us'), 0)
      assert.equal(await s.threads.deleteByJid('missing@s.whatsapp.net'), 0)
      assert.deepEqual((await s.threads.list()).map((t) => t.jid), ['b@g.us'])
      await s.threads.clear()
      assert.deepEqual(await s.threads.list(), [])
    })
  })

  describe('contacts', () => {
    it('unknown jid: null', async () => {
      const { s } = h.open()
      assert.equal(await s.contacts.getByJid('x@s.whatsapp.net'), null)
      assert.equal(await s.contacts.getByPhoneNumber('x@s.whatsapp.net'), null)
    })

    it('upsert / getByJid round-trip every field', async () => {
      const { s } = h.open()
      const rec = {
        jid: '123456@lid',
        displayName: 'Alice',
        pushName: 'Ali 🌸',
        lid: '123456@lid',
        phoneNumber: '5511999999999@s.whatsapp.net',
        username: 'alice',
        lastUpdatedMs: 1_700_000_000_000
      }
      await s.contacts.upsert(rec)
      assertRecord(await s.contacts.getByJid('123456@lid'), rec)
    })

    it('upsert merges field by field; lastUpdatedMs keeps the maximum', async () => {
      const { s } = h.open()
      const jid = 'alice@s.whatsapp.net'
      await s.contacts.upsert({ jid, displayName: 'Alice', lastUpdatedMs: 1000 })
      await s.contacts.upsert({ jid, phoneNumber: '5511999999999', lastUpdatedMs: 2000 })
      assertRecord(await s.contacts.getByJid(jid), { jid, displayName: 'Alice', phoneNumber: '5511999999999', lastUpdatedMs: 2000 })
      await s.contacts.upsert({ jid, pushName: 'late', lastUpdatedMs: 1500 })
      assertRecord(await s.contacts.getByJid(jid), {
        jid,
        displayName: 'Alice',
        pushName: 'late',
        phoneNumber: '5511999999999',
        lastUpdatedMs: 2000
      })
    })

    it('upsertBatch merges, including repeated jids within one batch', async () => {
      const { s } = h.open()
      await s.contacts.upsertBatch([
        { jid: 'a@s.whatsapp.net', displayName: 'Alice', lastUpdatedMs: 1000 },
        { jid: 'b@s.whatsapp.net', displayName: 'Bob', lastUpdatedMs: 1000 },
        { jid: 'a@s.whatsapp.net', username: 'al', lastUpdatedMs: 900 }
      ])
      await s.contacts.upsertBatch([{ jid: 'a@s.whatsapp.net', phoneNumber: '551100000001', lastUpdatedMs: 2000 }])
      await s.contacts.upsertBatch([])
      assertRecord(await s.contacts.getByJid('a@s.whatsapp.net'), {
        jid: 'a@s.whatsapp.net',
        displayName: 'Alice',
        username: 'al',
        phoneNumber: '551100000001',
        lastUpdatedMs: 2000
      })
      assertRecord(await s.contacts.getByJid('b@s.whatsapp.net'), { jid: 'b@s.whatsapp.net', displayName: 'Bob', lastUpdatedMs: 1000 })
    })

    it('getByJid falls back to the phone number for a PN jid (LID-canonical rows)', async () => {
      const { s } = h.open()
      const pn = '5511988887777@s.whatsapp.net'
      await s.contacts.upsert({ jid: '777@lid', lid: '777@lid', phoneNumber: pn, pushName: 'Carol', lastUpdatedMs: 1 })
      assert.equal((await s.contacts.getByJid(pn)).jid, '777@lid')
      assert.equal((await s.contacts.getByPhoneNumber(pn)).jid, '777@lid')
      assert.equal((await s.contacts.getByJid('777@lid')).pushName, 'Carol')
      assert.equal(await s.contacts.getByPhoneNumber('777@lid'), null)
    })

    it('a direct hit wins over the phone-number fallback', async () => {
      const { s } = h.open()
      const pn = '5511988880000@s.whatsapp.net'
      await s.contacts.upsert({ jid: '900@lid', phoneNumber: pn, pushName: 'by-lid', lastUpdatedMs: 1 })
      await s.contacts.upsert({ jid: pn, pushName: 'by-pn', lastUpdatedMs: 1 })
      assert.equal((await s.contacts.getByJid(pn)).pushName, 'by-pn')
    })

    it('the fallback applies to @s.whatsapp.net jids only', async () => {
      const { s } = h.open()
      await s.contacts.upsert({ jid: '901@lid', phoneNumber: 'someone@g.us', lastUpdatedMs: 1 })
      assert.equal(await s.contacts.getByJid('someone@g.us'), null)
      assert.equal((await s.contacts.getByPhoneNumber('someone@g.us')).jid, '901@lid')
    })

    it('changing or deleting the phone number updates the lookup', async () => {
      const { s } = h.open()
      const pn1 = '5511000000001@s.whatsapp.net'
      const pn2 = '5511000000002@s.whatsapp.net'
      await s.contacts.upsert({ jid: '5@lid', phoneNumber: pn1, lastUpdatedMs: 1 })
      await s.contacts.upsert({ jid: '5@lid', phoneNumber: pn2, lastUpdatedMs: 2 })
      assert.equal(await s.contacts.getByPhoneNumber(pn1), null)
      assert.equal(await s.contacts.getByJid(pn1), null)
      assert.equal((await s.contacts.getByPhoneNumber(pn2)).jid, '5@lid')
      assert.equal(await s.contacts.deleteByJid('5@lid'), 1)
      assert.equal(await s.contacts.getByPhoneNumber(pn2), null)
      assert.equal(await s.contacts.getByJid(pn2), null)
    })

    it('deleteByJid returns 1 then 0; clear() empties', async () => {
      const { s } = h.open()
      await s.contacts.upsertBatch([
        { jid: 'a@s.whatsapp.net', lastUpdatedMs: 1 },
        { jid: 'b@lid', phoneNumber: 'b@s.whatsapp.net', lastUpdatedMs: 1 }
      ])
      assert.equal(await s.contacts.deleteByJid('a@s.whatsapp.net'), 1)
      assert.equal(await s.contacts.deleteByJid('a@s.whatsapp.net'), 0)
      assert.equal(await s.contacts.deleteByJid('missing@s.whatsapp.net'), 0)
      await s.contacts.clear()
      assert.equal(await s.contacts.getByJid('b@lid'), null)
      assert.equal(await s.contacts.getByJid('b@s.whatsapp.net'), null)
    })
  })
}
