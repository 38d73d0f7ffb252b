'use strict'
// Opaque structured values (credentials, session records, sender-key records)
// must come back assert.deepStrictEqual: Uint8Array stays Uint8Array, Buffer
// stays Buffer, -0 stays -0, NaN stays NaN, undefined-valued keys stay present.
const assert = require('node:assert/strict')
const { describe, it } = require('node:test')
const { addr, richValue } = require('../helpers/util')

function checkKinds(got, label) {
  assert.ok(Buffer.isBuffer(got.buf), `${label}: Buffer comes back as a Buffer`)
  assert.ok(Buffer.isBuffer(got.emptyBuf), `${label}: empty Buffer comes back as a Buffer`)
  assert.ok(got.u8 instanceof Uint8Array && !Buffer.isBuffer(got.u8), `${label}: Uint8Array comes back as a plain Uint8Array`)
  assert.equal(got.view.byteLength, 5, `${label}: a view stores only its own bytes`)
  assert.ok(Object.is(got.negZero, -0), `${label}: -0 stays -0`)
  assert.ok(Number.isNaN(got.nan), `${label}: NaN stays NaN`)
  assert.ok(Object.prototype.hasOwnProperty.call(got, 'missing'), `${label}: undefined-valued key stays present`)
  assert.equal(got.missing, undefined)
  assert.equal(got.list.length, 8)
  assert.ok(3 in got.list && got.list[3] === undefined, `${label}: undefined array element kept`)
}

module.exports = (h) => {
  describe('value fidelity', () => {
    it('auth.save / load', async () => {
      const { s } = h.open()
      await s.auth.save(richValue())
      const got = await s.auth.load()
      assert.deepStrictEqual(got, richValue())
      checkKinds(got, 'auth')
    })

    it('session.setSession / getSession and setSessionsBatch / getSessionsBatch', async () => {
      const { s } = h.open()
      await s.session.setSession(addr('v', 1), richValue())
      const got = await s.session.getSession(addr('v', 1))
      assert.deepStrictEqual(got, richValue())
      checkKinds(got, 'session')
      await s.session.setSessionsBatch([{ address: addr('w', 1), session: richValue() }])
      const [batched] = await s.session.getSessionsBatch([addr('w', 1)])
      assert.deepStrictEqual(batched, richValue())
    })

    it('senderKey.upsertSenderKey / getDeviceSenderKey / getGroupSenderKeyList', async () => {
      const { s } = h.open()
      const record = () => ({ groupId: 'g@g.us', sender: addr('v', 2), ...richValue() })
      await s.senderKey.upsertSenderKey(record())
      const got = await s.senderKey.getDeviceSenderKey('g@g.us', addr('v', 2))
      assert.deepStrictEqual(got, record())
      checkKinds(got, 'senderKey')
      const { skList } = await s.senderKey.getGroupSenderKeyList('g@g.us')
      assert.deepStrictEqual(skList, [record()])
    })

    it('top-level values of every kind are accepted by auth.save', async () => {
      const { s } = h.open()
      for (const value of [{}, { a: [] }, { n: -0 }, { big: Buffer.alloc(256 * 1024, 7) }]) {
        await s.auth.save(value)
        assert.deepStrictEqual(await s.auth.load(), value)
      }
    })

    it('a 4 MiB byte array inside a session record round-trips', async () => {
      const { s } = h.open()
      const big = new Uint8Array(4 * 1024 * 1024)
      for (let i = 0; i < big.length; i += 4093) big[i] = i & 0xff
      await s.session.setSession(addr('big', 0), { blob: big })
      const got = await s.session.getSession(addr('big', 0))
      assert.equal(got.blob.length, big.length)
      assert.ok(Buffer.from(got.blob).equals(Buffer.from(big)))
    })
  })
}
