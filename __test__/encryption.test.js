'use strict'
// Encryption at rest through createStore: option validation, every durable
// backend (through the Signal cache and the adapters' keys domain), wrong
// and missing keys, values moved between sessions, rotation. The raw-storage
// scans of every backend are Rust tests (src/encryption/at_rest.rs, run from
// each backend's tests); here the SQLite file is scanned as a JS user would.
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const { describe, it, before, after } = require('node:test')

const { createStore, createMemoryStore } = require('..')
const { factories, allProviders } = require('./helpers/backends')
const { rejectsCode, throwsCode, uid, addr } = require('./helpers/util')

const K1 = crypto.randomBytes(32)
const K2 = crypto.randomBytes(32)
const ring = (current, keys = { k1: K1, k2: K2 }) => ({ keys, current })

/** A recognisable 32-byte private key. */
const secretKey = (label) => Buffer.from(label.padEnd(32, '#').slice(0, 32))

describe('encryption options', () => {
  const mem = () => ({ backends: { m: createMemoryStore() }, providers: allProviders('m') })
  it('take 32-byte keys as bytes, hex or base64', async () => {
    for (const key of [K1, new Uint8Array(K1), K1.toString('hex'), K1.toString('base64'), K1.toString('base64url')]) {
      const store = createStore({ ...mem(), encryption: { key } })
      await store.destroy()
    }
  })
  it('refuse anything else with STORE_INVALID_CONFIG naming the field', () => {
    const bad = [
      [{ key: crypto.randomBytes(16) }, 'encryption.key'],
      [{ key: 'short' }, 'encryption.key'],
      [{ key: 42 }, 'encryption.key'],
      [{}, 'needs key'],
      [{ key: K1, keys: { a: K1 }, current: 'a' }, 'not both'],
      [{ key: K1, current: 'a' }, 'goes with encryption.keys'],
      [{ keys: { a: K1 } }, 'encryption.current'],
      [{ keys: { a: K1 }, current: 'b' }, 'not a key of'],
      [{ keys: { a: K1, b: K1 }, current: 'a' }, 'same key'],
      [{ keys: { 'bad id': K1 }, current: 'bad id' }, 'key id'],
      [{ keys: { a: 'zz' }, current: 'a' }, 'encryption.keys.a'],
      [{ key: K1, allowPlaintext: 'yes' }, 'allowPlaintext'],
      [{ key: K1, rotate: true }, 'encryption.rotate'],
      ['k', 'encryption must be']
    ]
    for (const [encryption, mention] of bad) {
      throwsCode(() => createStore({ ...mem(), encryption }), 'STORE_INVALID_CONFIG', mention)
    }
  })
  it('rotateEncryptionKey needs encryption and a sane batch size', async () => {
    const plain = createStore(mem())
    await rejectsCode(() => plain.rotateEncryptionKey(), 'STORE_INVALID_CONFIG', 'encryption')
    await plain.destroy()
    const store = createStore({ ...mem(), encryption: { key: K1 } })
    for (const batchSize of [0, -1, 1.5, 10_001, 'x']) {
      await rejectsCode(() => store.rotateEncryptionKey({ batchSize }), 'STORE_INVALID_ARGUMENT', 'batchSize')
    }
    await rejectsCode(() => store.rotateEncryptionKey({ bogus: 1 }), 'STORE_INVALID_ARGUMENT', 'bogus')
    assert.deepEqual(await store.rotateEncryptionKey({ batchSize: 10 }), { sessions: 0, records: 0, reencrypted: 0, fromPlaintext: 0 })
    await store.destroy()
    await rejectsCode(() => store.rotateEncryptionKey(), 'STORE_CLOSED')
  })
})

const durable = factories().filter((f) => f.persistent)

for (const factory of durable) {
  describe(`encryption at rest [${factory.name}]`, { timeout: 120_000 }, () => {
    const open = []
    const make = (target, encryption, extra = {}) => {
      const store = createStore({ ...target.options, ...(encryption ? { encryption } : {}), ...extra })
      open.push(store)
      return store
    }
    before(async () => {
      if (factory.setup) await factory.setup()
    })
    after(async () => {
      await Promise.allSettled(open.map((s) => s.destroy()))
      if (factory.teardown) await factory.teardown()
    })

    /** Writes one value of every encrypted domain; returns what to read back. */
    async function fill(s) {
      const identityPriv = secretKey(`identity-priv-${factory.name}`)
      await s.auth.save({ noiseKey: { private: secretKey(`noise-priv-${factory.name}`) }, me: 'x' })
      await s.signal.setRegistrationInfo({ registrationId: 7, identityKeyPair: { pubKey: Buffer.alloc(33, 5), privKey: identityPriv } })
      await s.preKey.putPreKey({ keyId: 3, keyPair: { pubKey: Buffer.alloc(33, 6), privKey: secretKey(`prekey-priv-${factory.name}`) } })
      await s.session.setSession(addr('alice'), { rootKey: secretKey(`root-key-${factory.name}`) })
      await s.keys.set({ 'app-state-sync-key': { AAAA: { keyData: secretKey(`sync-key-${factory.name}`) } } })
      await s.flush()
      return identityPriv
    }

    async function check(s, identityPriv) {
      assert.equal((await s.auth.load()).me, 'x')
      assert.deepEqual(Buffer.from((await s.signal.getRegistrationInfo()).identityKeyPair.privKey), identityPriv)
      assert.deepEqual(Buffer.from((await s.preKey.getPreKeyById(3)).keyPair.privKey), secretKey(`prekey-priv-${factory.name}`))
      assert.deepEqual(Buffer.from((await s.session.getSession(addr('alice'))).rootKey), secretKey(`root-key-${factory.name}`))
      const got = await s.keys.get('app-state-sync-key', ['AAAA'])
      assert.deepEqual(Buffer.from(got.AAAA.keyData), secretKey(`sync-key-${factory.name}`))
    }

    it('values round-trip; a store without the key, or with another, gets STORE_DECRYPT_FAILED', async () => {
      const target = factory.make()
      const sid = uid('enc')
      const priv = await fill(make(target, { key: K1 }).session(sid))
      await check(make(target, { key: K1 }).session(sid), priv)

      const keyless = make(target).session(sid)
      await rejectsCode(() => keyless.auth.load(), 'STORE_DECRYPT_FAILED', 'domain auth', 'no encryption key')
      await rejectsCode(() => keyless.signal.getRegistrationInfo(), 'STORE_DECRYPT_FAILED', 'domain signal')
      await rejectsCode(() => keyless.session.getSession(addr('alice')), 'STORE_DECRYPT_FAILED', 'domain session')
      const wrong = make(target, { key: K2 }).session(sid)
      await rejectsCode(() => wrong.auth.load(), 'STORE_DECRYPT_FAILED', 'domain auth', 'not in the key ring')
      await rejectsCode(() => wrong.preKey.getPreKeyById(3), 'STORE_DECRYPT_FAILED', 'domain preKey')
      await rejectsCode(() => wrong.keys.get('app-state-sync-key', ['AAAA']), 'STORE_DECRYPT_FAILED', 'domain keys')
      // The backend's own stores (zapo's WaStoreBackend) refuse them too.
      await rejectsCode(() => target.backend.stores.auth(sid).load(), 'STORE_DECRYPT_FAILED', 'domain auth')
    })

    it('rotation keeps every value readable and leaves them readable with the new key alone', async () => {
      const target = factory.make()
      const sids = [uid('rot'), uid('rot')]
      const old = make(target, { key: K1 })
      const privs = []
      for (const sid of sids) privs.push(await fill(old.session(sid)))
      // Values stored before encryption was on are encrypted by rotation too.
      const legacy = uid('legacy')
      await make(target).session(legacy).auth.save({ me: 'legacy' })

      // Key ids are names only: values find their key by its fingerprint.
      const both = make(target, ring('k2'))
      const report = await both.rotateEncryptionKey({ batchSize: 2 })
      assert.ok(report.sessions >= 3, JSON.stringify(report))
      assert.ok(report.reencrypted >= 11 && report.fromPlaintext >= 1, JSON.stringify(report))
      for (const [i, sid] of sids.entries()) await check(both.session(sid), privs[i])
      const again = await both.rotateEncryptionKey()
      assert.equal(again.reencrypted, 0, JSON.stringify(again))

      const onlyNew = make(target, { keys: { k2: K2 }, current: 'k2', allowPlaintext: false })
      for (const [i, sid] of sids.entries()) await check(onlyNew.session(sid), privs[i])
      assert.equal((await onlyNew.session(legacy).auth.load()).me, 'legacy')
      await rejectsCode(() => make(target, { key: K1 }).session(sids[0]).auth.load(), 'STORE_DECRYPT_FAILED', 'not in the key ring')
    })

    it('a value written unencrypted is refused with allowPlaintext: false', async () => {
      const target = factory.make()
      const sid = uid('plain')
      await make(target).session(sid).auth.save({ me: 'plain' })
      assert.equal((await make(target, { key: K1 }).session(sid).auth.load()).me, 'plain')
      const strict = make(target, { key: K1, allowPlaintext: false }).session(sid)
      await rejectsCode(() => strict.auth.load(), 'STORE_DECRYPT_FAILED', 'allowPlaintext')
    })

    if (factory.kind === 'sqlite') {
      const rawFile = (target) =>
        Buffer.concat([fs.readFileSync(target.file), fs.existsSync(`${target.file}-wal`) ? fs.readFileSync(`${target.file}-wal`) : Buffer.alloc(0)])

      it('wastore rotate-key rotates a backend from the command line', async () => {
        const { spawnSync } = require('node:child_process')
        const path = require('node:path')
        const target = factory.make()
        const sid = uid('cli')
        const priv = await fill(make(target, { key: K1 }).session(sid))
        const cli = path.join(__dirname, '..', 'bin', 'wastore.js')
        const run = (env, ...args) =>
          spawnSync(process.execPath, [cli, 'rotate-key', '--to', `sqlite:${target.file}`, ...args], {
            encoding: 'utf8',
            env: { ...process.env, ...env },
            timeout: 60_000
          })
        const ringJson = JSON.stringify({ keys: { k1: K1.toString('base64'), k2: K2.toString('hex') }, current: 'k2' })
        const missing = run({ WASTORE_ENCRYPTION_KEYS: '' })
        assert.equal(missing.status, 2, missing.stderr)
        assert.match(missing.stderr, /WASTORE_ENCRYPTION_KEYS/)
        const wrong = run({ WASTORE_ENCRYPTION_KEYS: JSON.stringify({ keys: { k2: K2.toString('hex') }, current: 'k2' }) })
        assert.equal(wrong.status, 1, wrong.stderr)
        assert.match(wrong.stderr, /STORE_DECRYPT_FAILED/)
        const ok = run({ WASTORE_ENCRYPTION_KEYS: ringJson }, '--json', '--batch-size', '3')
        assert.equal(ok.status, 0, ok.stderr)
        const report = JSON.parse(ok.stdout)
        assert.ok(report.reencrypted >= 5, ok.stdout)
        await check(make(target.reopen(), { keys: { k2: K2 }, current: 'k2' }).session(sid), priv)
      })

      it('Baileys auth state (creds and keys) is encrypted in the file', async () => {
        const { useBaileysAuthState } = require('../adapters/baileys')
        const target = factory.make()
        const sid = uid('baileys')
        const store = make(target, { key: K1 })
        const { state, saveCreds } = await useBaileysAuthState(store, sid)
        await saveCreds()
        const preKey = secretKey('baileys-one-time-pre-key')
        await state.keys.set({ 'pre-key': { 1: { public: Buffer.alloc(32, 1), private: preKey } } })
        await store.destroy()
        const raw = rawFile(target)
        const creds = state.creds
        const secrets = [creds.noiseKey.private, creds.signedIdentityKey.private, creds.signedPreKey.keyPair.private, preKey]
        for (const secret of secrets) assert.equal(raw.indexOf(Buffer.from(secret)), -1, 'a Baileys private key is stored in plaintext')
        const again = await useBaileysAuthState(make(target.reopen(), { key: K1 }), sid)
        assert.deepEqual(Buffer.from(again.state.creds.noiseKey.private), Buffer.from(creds.noiseKey.private))
        const keys = await again.state.keys.get('pre-key', ['1'])
        assert.deepEqual(Buffer.from(keys['1'].private), preKey)
      })

      it('the SQLite file holds no private key bytes, and a row copied to another session does not decrypt', async () => {
        const target = factory.make()
        const sid = uid('scan')
        const store = make(target, { key: K1 })
        const priv = await fill(store.session(sid))
        await store.destroy()
        const raw = rawFile(target)
        for (const secret of [priv, secretKey('noise-priv-sqlite'), secretKey('prekey-priv-sqlite'), secretKey('root-key-sqlite'), secretKey('sync-key-sqlite')]) {
          assert.equal(raw.indexOf(secret), -1, `${secret} is stored in plaintext`)
        }
        assert.notEqual(raw.indexOf(Buffer.from(sid)), -1, 'the scan sees the session id column')
        const { rawSql } = require('./helpers/raw-sql')
        const sql = rawSql(factory, target)
        const other = uid('copy')
        const reopened = target.reopen()
        sql.exec(`INSERT INTO auth_credentials (session_id, credentials, updated_at_ms) SELECT '${other}', credentials, updated_at_ms FROM auth_credentials WHERE session_id = '${sid}';`)
        await rejectsCode(() => make(reopened, { key: K1 }).session(other).auth.load(), 'STORE_DECRYPT_FAILED', 'domain auth', 'copied from another')
        assert.equal((await make(reopened, { key: K1 }).session(sid).auth.load()).me, 'x')
      })
    }
  })
}
