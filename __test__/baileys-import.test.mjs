// importMultiFileAuthState and `wastore import-baileys`: sessions that ran
// under Baileys' own useMultiFileAuthState keep messaging under wastore with
// no new pre-key bundle (once per backend factory); unparseable folders are
// refused by file name and leave nothing written.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'

import { createSqliteStore, createStore, importMultiFileAuthState, useBaileysAuthState } from 'wastore'

import { assertReplayFails, baileys, bundle, connect, party, proto, send, sendGroup } from './helpers/baileys.mjs'

const require = createRequire(import.meta.url)
const { factories } = require('./helpers/backends.js')
const { uid } = require('./helpers/util.js')

const CLI = fileURLToPath(new URL('../bin/wastore.js', import.meta.url))
const only = (process.env.WASTORE_BACKENDS || '')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean)

const ALICE = '5511900000011@s.whatsapp.net'
const BOB = '5511900000012@s.whatsapp.net'
const CAROL = '190000000000013@lid'
const GROUP = '120363000000000011@g.us'
const OLD_GROUP = '5511900000011-1600000000@g.us'
const SYNC_KEY_ID = 'AAAAAQ/+bc=='

let tmp
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wastore-baileys-import-'))
})
after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
})

function cli(...args) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 })
}

/** Alice, Bob and Carol (LID) talk under useMultiFileAuthState, with ids that the file names mangle. */
async function runUnderMultiFile() {
  const dirs = { alice: path.join(tmp, uid('alice')), bob: path.join(tmp, uid('bob')), carol: path.join(tmp, uid('carol')) }
  const alice = party(await baileys.useMultiFileAuthState(dirs.alice), ALICE)
  const bob = party(await baileys.useMultiFileAuthState(dirs.bob), BOB)
  const carol = party(await baileys.useMultiFileAuthState(dirs.carol), CAROL)
  await connect(alice, bob)
  await send(alice, bob, 'hi bob, from the folder')
  await send(bob, alice, 'hi alice, from the folder')
  await connect(alice, carol)
  await send(alice, carol, 'hi carol')
  await send(carol, alice, 'hi alice')
  await connect(bob, carol)
  await send(bob, carol, 'bob to carol')
  await send(carol, bob, 'carol to bob') // answered, so Bob's next messages are plain `msg`s
  await sendGroup(alice, [bob, carol], GROUP, 'group before the import')
  await sendGroup(bob, [alice], OLD_GROUP, 'old-style group id before the import')
  const lastToBob = await send(alice, bob, 'last under the folder')
  // Ids with `/`, `:`, `__`: an app-state sync key, a device tctoken and the tctoken index.
  const syncKey = proto.Message.AppStateSyncKeyData.fromObject({
    keyData: Buffer.alloc(32, 9),
    fingerprint: { rawId: 7, currentIndex: 2, deviceIndexes: [0, 3] },
    timestamp: 1700000000123
  })
  await alice.keys.set({
    'app-state-sync-key': { [SYNC_KEY_ID]: syncKey },
    tctoken: { '5511900000012:3@s.whatsapp.net': { token: Buffer.from([1, 2, 3]), timestamp: '1700000000' }, __index: { token: Buffer.from('["x"]') } },
    'device-list': { 5511900000012: ['0', '3'] },
    'sender-key-memory': { [GROUP]: { [BOB]: true, [CAROL]: true }, [OLD_GROUP]: { [BOB]: true } }
  })
  // A mapping of someone Alice has no session with (a mapping for Bob would move his session to his LID).
  await alice.repo.lidMapping.storeLIDPNMappings([{ lid: '190000000000077@lid', pn: '5511900000077@s.whatsapp.net' }])
  for (const p of [alice, bob, carol]) await p.auth.saveCreds()
  return { dirs, alice, bob, carol, lastToBob }
}

/** What useMultiFileAuthState left in a folder, per type (by file name prefix). */
function filesPerType(dir) {
  const names = fs.readdirSync(dir).filter((n) => n !== 'creds.json')
  return names.length
}

for (const factory of factories()) {
  if (only.length > 0 && !only.includes(factory.name)) continue

  describe(`import from useMultiFileAuthState on ${factory.name}`, () => {
    const stores = []
    before(async () => {
      if (factory.setup) await factory.setup()
    })
    after(async () => {
      for (const s of stores) await s.destroy()
      if (factory.teardown) await factory.teardown()
    })

    it('an imported session keeps messaging under wastore, with no new pre-key bundle', async () => {
      const target = factory.make()
      const store = createStore(target.options)
      stores.push(store)
      const old = await runUnderMultiFile()
      const sids = { alice: uid('alice'), bob: uid('bob'), carol: uid('carol') }

      const report = await importMultiFileAuthState(old.dirs.alice, store, sids.alice)
      assert.equal(report.keys, filesPerType(old.dirs.alice))
      assert.equal(report.creds, true)
      for (const type of ['session', 'sender-key', 'sender-key-memory', 'app-state-sync-key', 'tctoken', 'lid-mapping', 'device-list']) {
        assert.ok(report.counts[type] > 0, `alice's ${type} keys were imported: ${JSON.stringify(report.counts)}`)
      }
      assert.deepEqual(report.skipped, [])
      const bobReport = await importMultiFileAuthState(old.dirs.bob, store, sids.bob)
      assert.ok(bobReport.counts['identity-key'] > 0 && bobReport.counts['pre-key'] > 0, JSON.stringify(bobReport.counts))
      await importMultiFileAuthState(old.dirs.carol, store, sids.carol)

      // Ids come back as Baileys wrote them.
      const keys = store.session(sids.alice).keys
      assert.deepEqual((await keys.listIds('app-state-sync-key')), [SYNC_KEY_ID])
      assert.deepEqual((await keys.listIds('tctoken')).sort(), ['5511900000012:3@s.whatsapp.net', '__index'])
      assert.deepEqual((await keys.listIds('sender-key-memory')).sort(), [GROUP, OLD_GROUP].sort())
      assert.deepEqual(await keys.get('sender-key-memory', [OLD_GROUP]), { [OLD_GROUP]: { [BOB]: true } })
      const senderKeys = await store.session(sids.bob).keys.listIds('sender-key')
      assert.ok(senderKeys.includes(`${GROUP}::5511900000011::0`), senderKeys.join(', '))
      assert.ok(senderKeys.includes(`${OLD_GROUP}::5511900000012::0`), senderKeys.join(', '))
      assert.deepEqual(await keys.get('lid-mapping', ['5511900000077', '190000000000077_reverse']), {
        5511900000077: '190000000000077',
        '190000000000077_reverse': '5511900000077'
      })

      const alice = party(await useBaileysAuthState(store, sids.alice), ALICE)
      const bob = party(await useBaileysAuthState(store, sids.bob), BOB)
      const carol = party(await useBaileysAuthState(store, sids.carol), CAROL)
      assert.equal(alice.creds.registrationId, old.alice.creds.registrationId)
      assert.deepEqual(new Uint8Array(alice.creds.noiseKey.private), new Uint8Array(old.alice.creds.noiseKey.private))
      const syncKey = (await alice.auth.state.keys.get('app-state-sync-key', [SYNC_KEY_ID]))[SYNC_KEY_ID]
      assert.ok(syncKey instanceof proto.Message.AppStateSyncKeyData)
      assert.deepEqual(new Uint8Array(syncKey.keyData), new Uint8Array(32).fill(9))
      assert.equal(Number(syncKey.timestamp), 1700000000123)

      // No injectE2ESession from here on: every 1:1 message is a plain `msg` on the imported ratchets.
      await assertReplayFails(bob, old.lastToBob)
      for (let i = 0; i < 2; i += 1) {
        assert.equal((await send(alice, bob, `after import ${i}`)).type, 'msg')
        assert.equal((await send(bob, alice, `reply after import ${i}`)).type, 'msg')
      }
      assert.equal((await send(alice, carol, 'lid after import')).type, 'msg')
      assert.equal((await send(carol, alice, 'lid reply after import')).type, 'msg')
      assert.equal((await send(bob, carol, 'bob to carol after import')).type, 'msg')
      await sendGroup(alice, [bob, carol], GROUP, 'group after the import', { withSkdm: false })
      await sendGroup(bob, [alice], OLD_GROUP, 'old group after the import', { withSkdm: false })
      // The one-time pre-keys that were never used came along too: a fresh peer can still use one.
      const dave = party(await useBaileysAuthState(store, uid('dave')), '5511900000014@s.whatsapp.net')
      const unused = (await store.session(sids.bob).keys.listIds('pre-key'))[0]
      assert.ok(unused, 'bob has unused pre-keys after the import')
      const preKeys = await bob.auth.state.keys.get('pre-key', [unused])
      await dave.repo.injectE2ESession({ jid: BOB, session: bundle(bob, preKeys, unused) })
      assert.equal((await send(dave, bob, 'dave uses an imported pre-key')).type, 'pkmsg')
      assert.deepEqual(await bob.auth.state.keys.get('pre-key', [unused]), {})
    })

    it('a large folder (812 pre-keys, 300 sessions, a 2 MB app-state version) imports in one set', async () => {
      const store = createStore(factory.make().options)
      stores.push(store)
      const dir = path.join(tmp, uid('large'))
      fs.mkdirSync(dir)
      const write = (name, value) => fs.writeFileSync(path.join(dir, name), JSON.stringify(value, baileys.BufferJSON.replacer))
      write('creds.json', baileys.initAuthCreds())
      for (let i = 1; i <= 812; i += 1) write(`pre-key-${i}.json`, { private: Buffer.alloc(32, i & 0xff), public: Buffer.alloc(32, 7) })
      for (let i = 0; i < 300; i += 1) write(`session-55119${String(i).padStart(8, '0')}.0.json`, { _sessions: { [`base${i}`]: { registrationId: i } }, version: 'v1' })
      const indexValueMap = {}
      for (let i = 0; i < 20000; i += 1) indexValueMap[`mac${i}/+=`] = { valueMac: Buffer.alloc(32, i & 0xff) }
      write('app-state-sync-version-regular_high.json', { version: 9, hash: Buffer.alloc(128, 1), indexValueMap })
      const sid = uid('large')
      const report = await importMultiFileAuthState(dir, store, sid)
      assert.deepEqual(report.counts, { 'app-state-sync-version': 1, 'pre-key': 812, session: 300 })
      const keys = store.session(sid).keys
      const preKeys = []
      for await (const id of (await useBaileysAuthState(store, sid)).state.keys.listIds('pre-key')) preKeys.push(id)
      assert.equal(preKeys.length, 812)
      assert.deepEqual(new Uint8Array((await keys.get('pre-key', ['300']))['300'].private), new Uint8Array(32).fill(300 & 0xff))
      const version = (await keys.get('app-state-sync-version', ['regular_high'])).regular_high
      assert.equal(Object.keys(version.indexValueMap).length, 20000)
      assert.ok(Buffer.isBuffer(version.indexValueMap['mac19999/+='].valueMac))
    })

    if (['sqlite', 'postgres', 'mysql'].includes(factory.kind)) {
      it('the CLI imports into this backend (wastore import-baileys)', async () => {
        const target = factory.make()
        const old = await runUnderMultiFile()
        const sid = uid('cli')
        const to = factory.kind === 'sqlite' ? `sqlite:${target.file}` : factory.url
        const prefix = factory.kind === 'sqlite' ? [] : ['--prefix', factory.prefix]
        if (target.backend) await target.backend.destroy()
        const r = cli('import-baileys', old.dirs.alice, '--to', to, '--session', sid, ...prefix)
        assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr}`)
        assert.match(r.stdout, /creds: 1/)
        assert.match(r.stdout, /session: \d+/)
        assert.match(r.stdout, new RegExp(`total keys: ${filesPerType(old.dirs.alice)}`))
        // A second run refuses to overwrite, and says so.
        const again = cli('import-baileys', old.dirs.alice, '--to', to, '--session', sid, ...prefix)
        assert.equal(again.status, 1)
        assert.match(again.stderr, /already holds Baileys auth state/)

        const store = createStore(target.reopen().options)
        stores.push(store)
        const alice = party(await useBaileysAuthState(store, sid), ALICE)
        const bob = party(await useBaileysAuthState(store, uid('bob')), BOB)
        assert.equal(alice.creds.registrationId, old.alice.creds.registrationId)
        // Bob stays on his folder: Alice on wastore and Bob on files still talk.
        assert.equal((await send(alice, old.bob, 'from wastore to a folder')).type, 'msg')
        assert.equal((await send(old.bob, alice, 'from a folder to wastore')).type, 'msg')
        assert.ok(bob.creds.registrationId > 0)
      })
    }
  })
}

describe('import: what cannot be parsed is refused by name, nothing is written', () => {
  /** A small real folder: Bob's, after one exchange. */
  async function folder() {
    const old = await runUnderMultiFile()
    return old.dirs.bob
  }
  const written = async (store, sid) => store.session(sid).keys.types()

  it('a truncated key file aborts the import; skipUnparseable imports the rest and lists it', async () => {
    const dir = await folder()
    const victim = fs.readdirSync(dir).find((n) => n.startsWith('session-'))
    fs.writeFileSync(path.join(dir, victim), '{"_sessions":{"abc":')
    fs.writeFileSync(path.join(dir, 'README.txt'), 'not baileys')
    const store = createStore()
    const sid = uid('trunc')
    await assert.rejects(importMultiFileAuthState(dir, store, sid), (err) => {
      assert.equal(err.code, 'STORE_CORRUPTED')
      assert.ok(err.message.includes(victim), err.message)
      assert.deepEqual(err.files.map((f) => f.file), [victim])
      return true
    })
    assert.deepEqual(await written(store, sid), [])
    const report = await importMultiFileAuthState(dir, store, sid, { skipUnparseable: true })
    assert.deepEqual(report.skipped.map((f) => f.file), [victim])
    assert.deepEqual(report.ignored, ['README.txt'])
    assert.ok(report.keys > 0)
    await store.destroy()
  })

  it('creds.json missing or corrupt is STORE_CORRUPTED even with skipUnparseable', async () => {
    const dir = await folder()
    const store = createStore()
    fs.writeFileSync(path.join(dir, 'creds.json'), '')
    await assert.rejects(importMultiFileAuthState(dir, store, uid('c'), { skipUnparseable: true }), (err) => err.code === 'STORE_CORRUPTED' && err.message.includes('creds.json'))
    fs.writeFileSync(path.join(dir, 'creds.json'), '{"registrationId":"x"}')
    await assert.rejects(importMultiFileAuthState(dir, store, uid('c')), (err) => err.code === 'STORE_CORRUPTED' && err.message.includes('creds.json'))
    fs.rmSync(path.join(dir, 'creds.json'))
    await assert.rejects(importMultiFileAuthState(dir, store, uid('c')), (err) => err.code === 'STORE_CORRUPTED' && /missing/.test(err.message))
    await assert.rejects(importMultiFileAuthState(path.join(tmp, 'no-such-dir'), store, uid('c')), { code: 'STORE_INVALID_ARGUMENT' })
    await store.destroy()
  })

  it('unknown key types, bad ids and two files for one id are refused; options.types admits a new type', async () => {
    const dir = await folder()
    const store = createStore()
    fs.writeFileSync(path.join(dir, 'future-type-abc.json'), JSON.stringify({ a: 1 }))
    await assert.rejects(importMultiFileAuthState(dir, store, uid('u')), (err) => err.files.some((f) => f.file === 'future-type-abc.json'))
    const report = await importMultiFileAuthState(dir, store, uid('u'), { types: ['future-type'] })
    assert.equal(report.counts['future-type'], 1)

    fs.writeFileSync(path.join(dir, 'sender-key-not-a-sender-key-name.json'), JSON.stringify({ type: 'Buffer', data: 'AA==' }))
    fs.writeFileSync(path.join(dir, 'tctoken-5511900000099-4@s.whatsapp.net.json'), JSON.stringify({ token: 1 }))
    fs.writeFileSync(path.join(dir, 'tctoken-5511900000099:4@s.whatsapp.net.json'), JSON.stringify({ token: 2 }))
    await assert.rejects(importMultiFileAuthState(dir, store, uid('u'), { types: ['future-type'] }), (err) => {
      const files = err.files.map((f) => f.file).sort()
      assert.deepEqual(files, ['sender-key-not-a-sender-key-name.json', 'tctoken-5511900000099:4@s.whatsapp.net.json'])
      return true
    })
    await store.destroy()
  })

  it('an existing session is refused unless replace, which swaps it in one transaction', async () => {
    const dir = await folder()
    const store = createStore()
    const sid = uid('replace')
    const { state, saveCreds } = await useBaileysAuthState(store, sid)
    await saveCreds()
    await state.keys.set({ session: { 'stale.0': { version: 'v1' } } })
    await assert.rejects(importMultiFileAuthState(dir, store, sid), { code: 'STORE_INVALID_ARGUMENT' })
    assert.deepEqual(await store.session(sid).keys.listIds('session'), ['stale.0'])
    const report = await importMultiFileAuthState(dir, store, sid, { replace: true })
    assert.equal(report.replaced, true)
    const ids = await store.session(sid).keys.listIds('session')
    assert.ok(!ids.includes('stale.0') && ids.length > 0, ids.join(', '))
    await store.destroy()
  })

  it('the CLI: usage errors exit 2, a bad folder exits 1 naming the file, nothing written', async () => {
    const dir = await folder()
    const db = path.join(tmp, `${uid('cli')}.sqlite`)
    assert.equal(cli('--help').status, 0)
    assert.match(cli('--help').stdout, /import-baileys <folder> --to <backend> --session <id>/)
    assert.equal(cli().status, 2)
    assert.equal(cli('import-baileys', dir, '--to', db).status, 2, '--session is required')
    assert.equal(cli('import-baileys', dir, '--session', 's').status, 2, '--to is required')
    assert.equal(cli('import-baileys', dir, '--to', 'ftp://x', '--session', 's').status, 2)
    assert.equal(cli('frobnicate').status, 2)
    const victim = fs.readdirSync(dir).find((n) => n.startsWith('pre-key-'))
    fs.writeFileSync(path.join(dir, victim), '')
    const r = cli('import-baileys', dir, '--to', `sqlite:${db}`, '--session', 's')
    assert.equal(r.status, 1)
    assert.ok(r.stderr.includes(victim) && r.stderr.includes('STORE_CORRUPTED'), r.stderr)
    const backend = createSqliteStore({ path: db })
    assert.deepEqual(await backend.stores.keys('s').types(), [])
    await backend.destroy()
    const ok = cli('import-baileys', dir, '--to', db, '--session', 's', '--skip-unparseable', '--json')
    assert.equal(ok.status, 0, ok.stderr)
    const report = JSON.parse(ok.stdout)
    assert.deepEqual(report.skipped.map((f) => f.file), [victim])
    assert.ok(report.counts.session > 0)
  })
})
