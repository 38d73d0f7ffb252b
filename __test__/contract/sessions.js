'use strict'
// Signal sessions and remote identities: both keyed by SignalAddress.
const assert = require('node:assert/strict')
const { describe, it } = require('node:test')
const { addr, bytes, assertBytes, sessionRecord } = require('../helpers/util')

module.exports = (h) => {
  describe('session', () => {
    it('unknown address: hasSession false, getSession null', async () => {
      const { s } = h.open()
      assert.equal(await s.session.hasSession(addr('5511', 0)), false)
      assert.equal(await s.session.getSession(addr('5511', 0)), null)
    })

    it('setSession / getSession round-trip the whole record deep-equal', async () => {
      const { s } = h.open()
      await s.session.setSession(addr('5511', 1), sessionRecord(2))
      assert.equal(await s.session.hasSession(addr('5511', 1)), true)
      assert.deepStrictEqual(await s.session.getSession(addr('5511', 1)), sessionRecord(2))
    })

    it('records with null fields and odd seeds round-trip too', async () => {
      const { s } = h.open()
      await s.session.setSession(addr('5511', 1), sessionRecord(3))
      const got = await s.session.getSession(addr('5511', 1))
      assert.deepStrictEqual(got, sessionRecord(3))
      assert.equal(got.aliceBaseKey, null)
      assert.equal(got.initialExchangeInfo, null)
    })

    it('server defaults to s.whatsapp.net: an address without server is the same address', async () => {
      const { s } = h.open()
      await s.session.setSession({ user: '5511', device: 2 }, sessionRecord(1))
      assert.deepStrictEqual(await s.session.getSession(addr('5511', 2, 's.whatsapp.net')), sessionRecord(1))
      await s.session.setSession(addr('5522', 0, 's.whatsapp.net'), sessionRecord(4))
      assert.deepStrictEqual(await s.session.getSession({ user: '5522', device: 0 }), sessionRecord(4))
      assert.equal(await s.session.hasSession({ user: '5522', device: 0 }), true)
    })

    it('user, server and device all distinguish addresses', async () => {
      const { s } = h.open()
      await s.session.setSession(addr('100', 0, 's.whatsapp.net'), sessionRecord(0))
      await s.session.setSession(addr('100', 0, 'lid'), sessionRecord(1))
      await s.session.setSession(addr('100', 1, 's.whatsapp.net'), sessionRecord(2))
      await s.session.setSession(addr('1000', 0, 's.whatsapp.net'), sessionRecord(3))
      assert.deepStrictEqual(await s.session.getSession(addr('100', 0)), sessionRecord(0))
      assert.deepStrictEqual(await s.session.getSession(addr('100', 0, 'lid')), sessionRecord(1))
      assert.deepStrictEqual(await s.session.getSession(addr('100', 1)), sessionRecord(2))
      assert.deepStrictEqual(await s.session.getSession(addr('1000', 0)), sessionRecord(3))
      assert.equal(await s.session.getSession(addr('10', 0)), null)
    })

    it('setSession replaces the previous record', async () => {
      const { s } = h.open()
      await s.session.setSession(addr('a', 0), sessionRecord(0))
      await s.session.setSession(addr('a', 0), { tiny: true })
      assert.deepStrictEqual(await s.session.getSession(addr('a', 0)), { tiny: true })
    })

    it('hasSessions and getSessionsBatch are positional (order, duplicates, misses)', async () => {
      const { s } = h.open()
      const a = addr('11111', 1)
      const b = addr('22222', 2)
      const c = addr('33333', 3)
      await s.session.setSession(a, sessionRecord(1))
      await s.session.setSessionsBatch([{ address: b, session: sessionRecord(2) }])
      assert.deepEqual(await s.session.hasSessions([a, b, c, a]), [true, true, false, true])
      assert.deepEqual(await s.session.hasSessions([]), [])
      assert.deepEqual(await s.session.getSessionsBatch([]), [])
      assert.deepStrictEqual(await s.session.getSessionsBatch([b, c, a, b]), [
        sessionRecord(2),
        null,
        sessionRecord(1),
        sessionRecord(2)
      ])
    })

    it('setSessionsBatch writes every entry; a repeated address keeps the last one', async () => {
      const { s } = h.open()
      const entries = Array.from({ length: 7 }, (_, i) => ({ address: addr(`u${i}`, i + 1), session: sessionRecord(i) }))
      entries.push({ address: addr('u0', 1), session: sessionRecord(99) })
      await s.session.setSessionsBatch(entries)
      const got = await s.session.getSessionsBatch(entries.slice(0, 7).map((e) => e.address))
      assert.deepStrictEqual(got[0], sessionRecord(99))
      for (let i = 1; i < 7; i += 1) assert.deepStrictEqual(got[i], sessionRecord(i))
      await s.session.setSessionsBatch([])
    })

    it('deleteSession removes one address only; deleting a missing one is fine', async () => {
      const { s } = h.open()
      await s.session.setSession(addr('a', 0), sessionRecord(0))
      await s.session.setSession(addr('a', 1), sessionRecord(1))
      assert.equal(await s.session.deleteSession(addr('a', 0)), undefined)
      assert.equal(await s.session.hasSession(addr('a', 0)), false)
      assert.equal(await s.session.hasSession(addr('a', 1)), true)
      await s.session.deleteSession(addr('missing', 9))
    })

    it('clear() removes every session', async () => {
      const { s } = h.open()
      await s.session.setSessionsBatch([
        { address: addr('a', 0), session: sessionRecord(0) },
        { address: addr('b', 0), session: sessionRecord(1) }
      ])
      await s.session.clear()
      assert.deepEqual(await s.session.hasSessions([addr('a', 0), addr('b', 0)]), [false, false])
    })
  })

  describe('identity', () => {
    it('unknown address: null', async () => {
      const { s } = h.open()
      assert.equal(await s.identity.getRemoteIdentity(addr('5511', 0)), null)
    })

    it('setRemoteIdentity / getRemoteIdentity round-trip and replace', async () => {
      const { s } = h.open()
      await s.identity.setRemoteIdentity(addr('5511', 0), bytes(33, 20))
      assertBytes(await s.identity.getRemoteIdentity(addr('5511', 0)), bytes(33, 20))
      await s.identity.setRemoteIdentity(addr('5511', 0), bytes(33, 21))
      assertBytes(await s.identity.getRemoteIdentity(addr('5511', 0)), bytes(33, 21))
    })

    it('a Buffer key is accepted and read back as the same bytes', async () => {
      const { s } = h.open()
      await s.identity.setRemoteIdentity(addr('b', 0), Buffer.from(bytes(33, 5)))
      assertBytes(await s.identity.getRemoteIdentity(addr('b', 0)), bytes(33, 5))
    })

    it('a Uint8Array view with an offset stores only the viewed bytes', async () => {
      const { s } = h.open()
      const backing = bytes(100, 1)
      await s.identity.setRemoteIdentity(addr('v', 0), backing.subarray(10, 43))
      assertBytes(await s.identity.getRemoteIdentity(addr('v', 0)), backing.slice(10, 43))
    })

    it('server defaults to s.whatsapp.net; device and server distinguish addresses', async () => {
      const { s } = h.open()
      await s.identity.setRemoteIdentity({ user: 'u', device: 0 }, bytes(33, 1))
      await s.identity.setRemoteIdentity(addr('u', 0, 'lid'), bytes(33, 2))
      await s.identity.setRemoteIdentity(addr('u', 3), bytes(33, 3))
      assertBytes(await s.identity.getRemoteIdentity(addr('u', 0)), bytes(33, 1))
      assertBytes(await s.identity.getRemoteIdentity(addr('u', 0, 'lid')), bytes(33, 2))
      assertBytes(await s.identity.getRemoteIdentity({ user: 'u', device: 3 }), bytes(33, 3))
    })

    it('setRemoteIdentities batch and positional getRemoteIdentities (order, duplicates, misses)', async () => {
      const { s } = h.open()
      const a = addr('11111', 1)
      const b = addr('22222', 2)
      const missing = addr('99999', 9)
      await s.identity.setRemoteIdentities([])
      await s.identity.setRemoteIdentities([
        { address: a, identityKey: bytes(33, 1) },
        { address: b, identityKey: bytes(33, 2) },
        { address: a, identityKey: bytes(33, 3) }
      ])
      const got = await s.identity.getRemoteIdentities([b, missing, a, b])
      assert.equal(got.length, 4)
      assertBytes(got[0], bytes(33, 2))
      assert.equal(got[1], null)
      assertBytes(got[2], bytes(33, 3), 'a repeated address keeps the last key of the batch')
      assertBytes(got[3], bytes(33, 2))
      assert.deepEqual(await s.identity.getRemoteIdentities([]), [])
    })

    it('clear() removes every identity', async () => {
      const { s } = h.open()
      await s.identity.setRemoteIdentity(addr('a', 0), bytes(33))
      await s.identity.clear()
      assert.equal(await s.identity.getRemoteIdentity(addr('a', 0)), null)
    })
  })
}
