// useBaileysAuthState under Baileys' own Signal layer (7.0.0-rc14, no socket),
// once per backend factory of helpers/backends.js: 1:1 with bundle injection
// (PN and LID peers), groups, restart on the same data, replay, one-time
// pre-key consumption, atomic multi-type sets, corrupt creds.
// WASTORE_BACKENDS=sqlite,memory limits the run to the named factories.

import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { after, before, describe, it } from 'node:test'

import { createStore, useBaileysAuthState } from 'wastore'

import { assertReplayFails, baileys, connect, logger, party, proto, send, sendGroup } from './helpers/baileys.mjs'

const require = createRequire(import.meta.url)
const { factories } = require('./helpers/backends.js')
const { rawSql, corruptValue, failInsertsOf } = require('./helpers/raw-sql.js')
const { uid } = require('./helpers/util.js')

const only = (process.env.WASTORE_BACKENDS || '')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean)

const ALICE = '5511900000001@s.whatsapp.net'
const BOB = '5511900000002@s.whatsapp.net'
const CAROL_PN = '5511900000003@s.whatsapp.net'
const CAROL_LID = '190000000000003@lid'
const GROUP = '120363000000000001@g.us'

/** One account: its auth state on `store` under `sid`, and a repository over it. */
async function account(store, sid, jid, options) {
  return party(await useBaileysAuthState(store, sid, options), jid)
}

/** Alice, Bob and Carol (a LID account) with sessions both ways between Alice and each of them. */
async function threeParties(store, sids, options) {
  const alice = await account(store, sids.alice, ALICE, options)
  const bob = await account(store, sids.bob, BOB, options)
  const carol = await account(store, sids.carol, CAROL_LID, options)
  await connect(alice, bob)
  await send(alice, bob, 'hello bob')
  await send(bob, alice, 'hi alice')
  await connect(alice, carol, CAROL_LID)
  await send(alice, carol, 'hello carol, at your lid', { toJid: CAROL_LID })
  await send(carol, alice, 'hi alice, from my lid')
  return { alice, bob, carol }
}

function sessionIds() {
  return { alice: uid('alice'), bob: uid('bob'), carol: uid('carol') }
}

for (const factory of factories()) {
  if (only.length > 0 && !only.includes(factory.name)) continue

  describe(`Baileys Signal layer on ${factory.name}`, () => {
    const stores = []
    const open = (target) => {
      const store = createStore(target.options)
      stores.push(store)
      return store
    }
    before(async () => {
      if (factory.setup) await factory.setup()
    })
    after(async () => {
      for (const s of stores) await s.destroy()
      if (factory.teardown) await factory.teardown()
    })

    it('1:1: bundle injection, messages both ways, a LID peer, a PN that maps to a LID', async () => {
      const store = open(factory.make())
      const sids = sessionIds()
      const { alice, bob, carol } = await threeParties(store, sids)
      for (let i = 0; i < 5; i += 1) {
        await send(alice, bob, `a→b ${i}`)
        await send(bob, alice, `b→a ${i}`)
      }
      // Alice learns Carol's PN ↔ LID mapping: the PN address now resolves to the LID session.
      await alice.repo.lidMapping.storeLIDPNMappings([{ lid: CAROL_LID, pn: CAROL_PN }])
      const viaPn = await send(alice, carol, 'to your phone number', { toJid: CAROL_PN })
      assert.equal(viaPn.type, 'msg', 'the existing LID session is used, no new pre-key message')
      const mapping = await store.session(sids.alice).keys.get('lid-mapping', ['5511900000003', '190000000000003_reverse'])
      assert.deepEqual(mapping, { '5511900000003': '190000000000003', '190000000000003_reverse': '5511900000003' })
      const sessions = await store.session(sids.alice).keys.listIds('session')
      assert.deepEqual(sessions.sort(), ['190000000000003_1.0', '5511900000002.0'])
      assert.deepEqual(await store.session(sids.carol).keys.listIds('session'), ['5511900000001.0'])
    })

    it('group: SKDM inside 1:1 messages, then group messages decrypted by every member', async () => {
      const store = open(factory.make())
      const { alice, bob, carol } = await threeParties(store, sessionIds())
      await sendGroup(alice, [bob, carol], GROUP, 'first group message')
      for (let i = 0; i < 3; i += 1) await sendGroup(alice, [bob, carol], GROUP, `group ${i}`, { withSkdm: false })
      // Bob answers in the group with his own sender key (he needs a session to Carol first).
      await connect(bob, carol, CAROL_LID)
      await sendGroup(bob, [alice, carol], GROUP, 'bob in the group')
      assert.equal(await alice.repo.hasSenderKey({ group: GROUP, meId: ALICE }), true)
      assert.equal(await carol.repo.hasSenderKey({ group: GROUP, meId: CAROL_LID }), false)
    })

    it("missingKeys: 'null': 1:1, LID, group and replay work when misses come back as null", async () => {
      const store = open(factory.make())
      const { alice, bob, carol } = await threeParties(store, sessionIds(), { missingKeys: 'null' })
      assert.deepEqual(await alice.auth.state.keys.get('lid-mapping', ['404']), { 404: null })
      assert.deepEqual(await alice.auth.state.keys.get('app-state-sync-key', ['404']), { 404: null })
      await sendGroup(alice, [bob, carol], GROUP, 'null misses, group')
      await assertReplayFails(bob, await send(alice, bob, 'null misses, 1:1'))
      await send(bob, alice, 'null misses, reply')
    })

    it('replay: an already-decrypted message fails to decrypt again', async () => {
      const store = open(factory.make())
      const { alice, bob } = await threeParties(store, sessionIds())
      const first = await send(alice, bob, 'once')
      const second = await send(bob, alice, 'only once')
      await assertReplayFails(bob, first)
      await assertReplayFails(alice, second)
      await send(alice, bob, 'still fine afterwards')
    })

    it('one-time pre-keys: the one a pkmsg consumed is gone, the others stay', async () => {
      const store = open(factory.make())
      const alice = await account(store, uid('alice'), ALICE)
      const bobSid = uid('bob')
      const bob = await account(store, bobSid, BOB)
      const used = await connect(alice, bob)
      const all = await store.session(bobSid).keys.listIds('pre-key')
      assert.ok(all.includes(used) && all.length === 3, `bob published 3 pre-keys, got ${all}`)
      const envelope = await send(alice, bob, 'consumes the pre-key')
      assert.equal(envelope.type, 'pkmsg')
      assert.deepEqual(await bob.auth.state.keys.get('pre-key', [used]), {}, 'consumed pre-key is deleted')
      assert.deepEqual(
        (await store.session(bobSid).keys.listIds('pre-key')).sort(),
        all.filter((id) => id !== used).sort()
      )
    })

    it('atomicity: a multi-type set that fails writes none of its types', async () => {
      const target = factory.make()
      const store = open(target)
      const sid = uid('atomic')
      const { state } = await useBaileysAuthState(store, sid)
      await state.keys.set({ session: { 'kept.0': { version: 'v1', n: 1 } }, 'pre-key': { 1: { private: Buffer.alloc(32, 1), public: Buffer.alloc(32, 2) } } })
      const unchanged = async () => {
        assert.deepEqual(await state.keys.get('session', ['kept.0', 'new.0']), { 'kept.0': { version: 'v1', n: 1 } })
        assert.deepEqual(Object.keys(await state.keys.get('pre-key', ['1', '2'])), ['1'])
        assert.deepEqual(await state.keys.get('lid-mapping', ['999']), {})
      }
      const batch = (extra) => ({
        session: { 'kept.0': null, 'new.0': { version: 'v1', n: 2 } },
        'pre-key': { 1: null, 2: { private: Buffer.alloc(32, 3), public: Buffer.alloc(32, 4) } },
        'lid-mapping': { 999: '888' },
        ...extra
      })
      // Refused before it reaches the backend: an id over MAX_KEY_ID_BYTES, a value that cannot be stored.
      await assert.rejects(state.keys.set(batch({ zz: { ['x'.repeat(961)]: 1 } })), { code: 'STORE_INVALID_ARGUMENT' })
      await assert.rejects(state.keys.set(batch({ zz: { id: { fn: () => 1 } } })), { code: 'STORE_INVALID_ARGUMENT' })
      await unchanged()
      // Through Baileys' transaction wrapper: one commit of every type, which fails as a whole.
      const keys = party({ state, saveCreds: async () => {} }, ALICE).keys
      await assert.rejects(
        keys.transaction(async () => {
          await keys.get('session', ['kept.0'])
          await keys.set(batch({ zz: { ['y'.repeat(961)]: 1 } }))
        }, 'k'),
        { code: 'STORE_INVALID_ARGUMENT' }
      )
      await unchanged()
      // A write that fails inside the server, after other rows of the same call were written.
      const raw = rawSql(factory, target)
      if (raw) {
        const restore = failInsertsOf(factory, raw, 'boom-id')
        try {
          await assert.rejects(state.keys.set(batch({ zz: { 'boom-id': 1 } })), { code: 'STORE_WRITE_FAILED' })
          await unchanged()
        } finally {
          restore()
        }
        await state.keys.set(batch({ zz: { 'boom-id': 1 } }))
        assert.deepEqual(await state.keys.get('session', ['kept.0', 'new.0']), { 'new.0': { version: 'v1', n: 2 } })
      }
    })

    it('saveCreds: concurrent saves commit in call order, the last snapshot wins', async () => {
      const store = open(factory.make())
      const sid = uid('saves')
      const auth = await useBaileysAuthState(store, sid)
      const saves = []
      for (let i = 1; i <= 20; i += 1) {
        auth.state.creds.accountSyncCounter = i
        auth.state.creds.lastPropHash = `hash-${i}`
        saves.push(auth.saveCreds())
      }
      await Promise.all(saves)
      const reread = await useBaileysAuthState(store, sid)
      assert.equal(reread.state.creds.accountSyncCounter, 20)
      assert.equal(reread.state.creds.lastPropHash, 'hash-20')
    })

    it('corrupt creds are STORE_CORRUPTED, never fresh creds', async () => {
      const target = factory.make()
      const store = open(target)
      const sid = uid('corrupt')
      const auth = await useBaileysAuthState(store, sid)
      await auth.saveCreds()
      const raw = rawSql(factory, target)
      if (raw) {
        corruptValue(raw, sid, '__creds__', 'creds')
        // A store opened on the damaged data (this one keeps the creds it wrote in its Signal cache).
        const reopened = open(target.reopen())
        await assert.rejects(useBaileysAuthState(reopened, sid), { code: 'STORE_CORRUPTED' })
      }
      // Decodable, but not creds (any backend).
      await store.session(sid).keys.set({ __creds__: { creds: { registrationId: 'nope' } } })
      await assert.rejects(useBaileysAuthState(store, sid), (err) => err.code === 'STORE_CORRUPTED' && /refusing/.test(err.message))
    })

    if (factory.persistent) {
      it('restart: close the store, reopen the data, rebuild the repositories, keep messaging', async () => {
        const target = factory.make()
        const store = open(target)
        const sids = sessionIds()
        const { alice, bob, carol } = await threeParties(store, sids)
        await sendGroup(alice, [bob, carol], GROUP, 'before the restart')
        const lastToBob = await send(alice, bob, 'last before restart')
        const lastToAlice = await send(bob, alice, 'last reply before restart')
        const before = { alice: alice.creds, bob: bob.creds }
        for (const p of [alice, bob, carol]) await p.auth.saveCreds()
        await store.destroy()

        const reopened = open(target.reopen())
        const alice2 = await account(reopened, sids.alice, ALICE)
        const bob2 = await account(reopened, sids.bob, BOB)
        const carol2 = await account(reopened, sids.carol, CAROL_LID)
        assert.equal(alice2.creds.registrationId, before.alice.registrationId)
        assert.deepEqual(new Uint8Array(alice2.creds.signedIdentityKey.private), new Uint8Array(before.alice.signedIdentityKey.private))
        assert.equal(bob2.creds.nextPreKeyId, before.bob.nextPreKeyId)
        // The ratchets were persisted: old envelopes do not decrypt again.
        await assertReplayFails(bob2, lastToBob)
        await assertReplayFails(alice2, lastToAlice)
        for (let i = 0; i < 3; i += 1) {
          assert.equal((await send(alice2, bob2, `after restart ${i}`)).type, 'msg')
          assert.equal((await send(bob2, alice2, `reply after restart ${i}`)).type, 'msg')
        }
        await send(alice2, carol2, 'lid after restart', { toJid: CAROL_LID })
        await send(carol2, alice2, 'lid reply after restart')
        await sendGroup(alice2, [bob2, carol2], GROUP, 'group after the restart', { withSkdm: false })
      })
    }
  })
}

describe('Baileys on the memory provider: value fidelity, the cache wrapper', () => {
  it("missingKeys: 'null' saves Baileys a store read per message (its transaction cache keeps the miss)", async (t) => {
    const reads = async (missingKeys) => {
      const store = createStore()
      const counted = async (sid, jid) => {
        const auth = await useBaileysAuthState(store, sid, { missingKeys })
        const get = auth.state.keys.get
        auth.state.keys.get = (type, ids) => {
          auth.reads = (auth.reads || 0) + 1
          return get(type, ids)
        }
        return party(auth, jid)
      }
      const alice = await counted(uid('alice'), ALICE)
      const bob = await counted(uid('bob'), BOB)
      await connect(alice, bob)
      await send(alice, bob, 'setup')
      await send(bob, alice, 'setup reply')
      alice.auth.reads = bob.auth.reads = 0
      for (let i = 0; i < 10; i += 1) await send(alice, bob, `m${i}`)
      await store.destroy()
      return (alice.auth.reads + bob.auth.reads) / 10
    }
    const omit = await reads('omit')
    const nulls = await reads('null')
    assert.ok(nulls < omit, `reads per message: omit ${omit}, null ${nulls}`)
    t.diagnostic(`store reads per message, both sides: omit ${omit}, null ${nulls}`)
  })

  it("works behind Baileys' makeCacheableSignalKeyStore, and after a restart of the cache", async () => {
    const store = createStore()
    const cached = async (sid, jid) => {
      const auth = await useBaileysAuthState(store, sid)
      const keys = baileys.makeCacheableSignalKeyStore(auth.state.keys, logger)
      return party({ state: { creds: auth.state.creds, keys }, saveCreds: auth.saveCreds }, jid)
    }
    const [a, b] = [uid('alice'), uid('bob')]
    const alice = await cached(a, ALICE)
    const bob = await cached(b, BOB)
    await connect(alice, bob)
    for (let i = 0; i < 3; i += 1) {
      await send(alice, bob, `cached ${i}`)
      await send(bob, alice, `cached reply ${i}`)
    }
    await alice.auth.saveCreds()
    await bob.auth.saveCreds()
    const alice2 = await cached(a, ALICE)
    const bob2 = await cached(b, BOB)
    assert.equal((await send(alice2, bob2, 'fresh caches')).type, 'msg')
    await send(bob2, alice2, 'fresh caches reply')
    await store.destroy()
  })


  it('app-state-sync-key values come back as proto.Message.AppStateSyncKeyData; undefined stays undefined', async () => {
    const store = createStore()
    const { state } = await useBaileysAuthState(store, uid('fidelity'))
    const keyId = 'AAAAAQ+/=='
    const keyData = proto.Message.AppStateSyncKeyData.fromObject({
      keyData: Buffer.alloc(32, 7),
      fingerprint: { rawId: 5, currentIndex: 1, deviceIndexes: [0, 1] },
      timestamp: 1700000000000
    })
    await state.keys.set({ 'app-state-sync-key': { [keyId]: keyData } })
    const got = (await state.keys.get('app-state-sync-key', [keyId, 'missing']))[keyId]
    assert.ok(got instanceof proto.Message.AppStateSyncKeyData)
    assert.deepEqual(new Uint8Array(got.keyData), new Uint8Array(32).fill(7))
    assert.equal(Number(got.timestamp), 1700000000000)
    assert.deepEqual(got.fingerprint.deviceIndexes, [0, 1])
    const listed = []
    for await (const [id, value] of state.keys.list('app-state-sync-key')) listed.push([id, value instanceof proto.Message.AppStateSyncKeyData])
    assert.deepEqual(listed, [[keyId, true]])

    const chain = { chainKey: { counter: 3, key: undefined }, pending: undefined }
    await state.keys.set({ session: { '1.0': chain }, 'identity-key': { '1.0': new Uint8Array([5, 1, 2]) }, tctoken: { __index: { token: Buffer.from('["1@lid"]') } } })
    const back = (await state.keys.get('session', ['1.0']))['1.0']
    assert.equal(back.chainKey.key, undefined)
    assert.notEqual(back.chainKey.key, null)
    assert.ok((await state.keys.get('identity-key', ['1.0']))['1.0'] instanceof Uint8Array)
    assert.ok(Buffer.isBuffer((await state.keys.get('tctoken', ['__index'])).__index.token))
    await store.destroy()
  })
})
