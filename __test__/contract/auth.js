'use strict'
const assert = require('node:assert/strict')
const { describe, it } = require('node:test')
const { credentials, richValue } = require('../helpers/util')

module.exports = (h) => {
  describe('auth', () => {
    it('load() is null before anything is saved', async () => {
      const { s } = h.open()
      assert.equal(await s.auth.load(), null)
    })

    it('save() then load() returns the credentials deep-equal (bytes, Buffers, numbers, undefined fields)', async () => {
      const { s } = h.open()
      const creds = credentials(1)
      await s.auth.save(creds)
      const loaded = await s.auth.load()
      assert.deepStrictEqual(loaded, credentials(1))
      assert.ok(Buffer.isBuffer(loaded.companionEncStatic), 'a Buffer comes back as a Buffer')
      assert.ok(!Buffer.isBuffer(loaded.advSecretKey), 'a Uint8Array comes back as a plain Uint8Array')
      assert.ok('pairingCode' in loaded, 'an undefined-valued field stays present')
    })

    it('save() replaces the whole snapshot (no merge with the previous one)', async () => {
      const { s } = h.open()
      await s.auth.save(credentials(1))
      const smaller = { meJid: 'other@s.whatsapp.net', extra: richValue() }
      await s.auth.save(smaller)
      assert.deepStrictEqual(await s.auth.load(), { meJid: 'other@s.whatsapp.net', extra: richValue() })
    })

    it('clear() removes the credentials, and is harmless when empty', async () => {
      const { s } = h.open()
      await s.auth.clear()
      await s.auth.save(credentials(2))
      await s.auth.clear()
      assert.equal(await s.auth.load(), null)
      await s.auth.save(credentials(3))
      assert.deepStrictEqual(await s.auth.load(), credentials(3))
    })
  })
}
