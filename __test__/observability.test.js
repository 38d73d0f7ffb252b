'use strict'
// The `logger` option (pino-compatible, events from Rust with sessionId and
// domain bound) and `store.metrics()` (Prometheus text exposition).

const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { after, before, describe, it } = require('node:test')

const wastore = require('..')
const { uid } = require('./helpers/util')
const { parsePrometheus } = require('./helpers/prometheus')

const PERSISTENT = ['auth', 'signal', 'preKey', 'session', 'identity', 'senderKey', 'appState', 'privacyToken', 'messages', 'threads', 'contacts']
/** Every persistent domain on the backend `main`. */
const onMain = () => Object.fromEntries(PERSISTENT.map((d) => [d, 'main']))

let tmp
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wastore-obs-'))
})
after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
})

/** A pino-like logger recording every call with the bindings of its child chain. */
function recordingLogger() {
  const calls = []
  const make = (bindings) => {
    const log = {}
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) {
      log[level] = (fields, message) => calls.push({ level, bindings, fields, message })
    }
    log.child = (more) => make({ ...bindings, ...more })
    return log
  }
  return { logger: make({}), calls }
}

async function until(what, check, ms = 5000) {
  const end = Date.now() + ms
  for (;;) {
    const got = check()
    if (got) return got
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('logger', () => {
  it('gets a slowOperation event per call at threshold 0, with sessionId and domain bound', async () => {
    const { logger, calls } = recordingLogger()
    const store = wastore.createStore({
      backends: { main: wastore.createSqliteStore({ path: path.join(tmp, `${uid('slow')}.db`) }) },
      providers: onMain(),
      logger,
      slowOperationThresholdMs: 0
    })
    const s = store.session('tenant-a')
    await s.auth.save({ me: 1 })
    await s.messages.getById('nope')
    const slow = await until('slowOperation events', () => {
      const got = calls.filter((c) => c.fields.event === 'slowOperation')
      return got.length >= 2 && got
    })
    const auth = slow.find((c) => c.bindings.domain === 'auth')
    assert.ok(auth, JSON.stringify(slow))
    assert.equal(auth.level, 'warn')
    assert.deepEqual(auth.bindings, { component: 'wastore', sessionId: 'tenant-a', domain: 'auth' })
    assert.equal(auth.fields.operation, 'save')
    assert.equal(auth.fields.backend, 'sqlite')
    assert.equal(auth.fields.thresholdMs, 0)
    assert.equal(typeof auth.fields.durationMs, 'number')
    assert.match(auth.message, /^auth\.save took [\d.]+ ms$/)
    const messages = slow.find((c) => c.bindings.domain === 'messages')
    assert.equal(messages.fields.operation, 'getById')
    await store.destroy()
  })

  it('the default threshold keeps fast calls quiet; a factory logger reports migrations applied', async () => {
    const { logger, calls } = recordingLogger()
    const backend = wastore.createSqliteStore({ path: path.join(tmp, `${uid('mig')}.db`), logger })
    const store = wastore.createStore({ backends: { main: backend }, providers: onMain() })
    await store.session('s').auth.save({ a: 1 })
    const applied = await until('migrationApplied', () => calls.filter((c) => c.fields.event === 'migrationApplied').length && calls)
    const first = applied.find((c) => c.fields.event === 'migrationApplied')
    assert.equal(first.level, 'info')
    assert.equal(first.fields.backend, 'sqlite')
    assert.equal(typeof first.fields.version, 'number')
    assert.ok(!calls.some((c) => c.fields.event === 'slowOperation'), 'no slowOperation under 250 ms')
    await store.destroy()
  })

  it('a logger without child, or one that throws, cannot break the store', async () => {
    const calls = []
    const flat = { warn: (fields, message) => calls.push({ fields, message }) }
    const store = wastore.createStore({ providers: { auth: 'memory' }, logger: flat, slowOperationThresholdMs: 0 })
    await store.session('x').auth.save({ a: 1 })
    const [call] = await until('a flat event', () => calls.length && calls)
    assert.equal(call.fields.sessionId, 'x', 'bindings go into the fields')
    assert.equal(call.fields.domain, 'auth')
    await store.destroy()

    const angry = { child: () => angry, warn: () => { throw new Error('logger bug') } }
    const store2 = wastore.createStore({ providers: { auth: 'memory' }, logger: angry, slowOperationThresholdMs: 0 })
    await store2.session('y').auth.save({ a: 1 })
    await until('the failure counted', () => /wastore_logger_errors_total [1-9]/.test(store2.metrics()))
    assert.deepEqual(await store2.session('y').auth.load(), { a: 1 })
    await store2.destroy()
  })

  it('options are checked', () => {
    assert.throws(() => wastore.createStore({ logger: 'console' }), { code: 'STORE_INVALID_CONFIG', message: /logger must be a logger object/ })
    assert.throws(() => wastore.createStore({ slowOperationThresholdMs: -1 }), { code: 'STORE_INVALID_CONFIG', message: /slowOperationThresholdMs/ })
  })
})

describe('store.metrics()', () => {
  it('parses as Prometheus text and counts what the store did', async () => {
    const store = wastore.createStore({
      backends: { main: wastore.createSqliteStore({ path: path.join(tmp, `${uid('metrics')}.db`) }) },
      providers: onMain(),
      slowOperationThresholdMs: 0
    })
    const s = store.session('m')
    await s.auth.save({ x: 1 })
    await s.session.setSession({ user: 'u', server: 's.whatsapp.net', device: 0 }, { r: 1 })
    await s.messages.upsert({ id: 'a', threadJid: 't@s.whatsapp.net', fromMe: true, timestampMs: 1 })
    await s.flush()
    const families = parsePrometheus(store.metrics())
    assert.equal(families.get('wastore_sessions').samples[0].value, 1)
    const ops = families.get('wastore_operations_total')
    assert.equal(ops.type, 'counter')
    const auth = ops.samples.find((x) => x.labels.backend === 'main' && x.labels.domain === 'auth')
    assert.ok(auth && auth.value >= 1, JSON.stringify(ops.samples))
    assert.ok(families.get('wastore_slow_operations_total').samples.some((x) => x.value >= 1))
    assert.ok(families.has('wastore_signal_cache_flushes_total'))
    assert.equal(families.get('wastore_backend_info').samples.find((x) => x.labels.backend === 'main').labels.kind, 'sqlite')
    await store.destroy()
  })
})

