'use strict'
// Runs every example in examples/ against the local test servers (no
// network beyond loopback) and checks what it reports and what it stored.

const assert = require('node:assert/strict')
const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { after, before, describe, it } = require('node:test')

const wastore = require('..')
const redisHelpers = require('./helpers/redis')
const { parsePrometheus } = require('./helpers/prometheus')

const EXAMPLES = path.join(__dirname, '..', 'examples')
const PG = process.env.WASTORE_TEST_PG_URL || 'postgres://wastore@127.0.0.1:5432/wastore_test'
const REDIS = redisHelpers.TEST_URL
const RUN = `ex${process.pid}`

let tmp
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wastore-examples-'))
})
after(async () => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
  await redisHelpers.deleteKeysUnder(`${RUN}_`, REDIS)
})

function run(file, args, env) {
  const r = spawnSync(process.execPath, [path.join(EXAMPLES, file), ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, ...env }
  })
  assert.equal(r.status, 0, `${file} exited ${r.status} (${r.signal}):\n${r.stdout}${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').pop())
}

describe('examples', () => {
  it('multi-tenant-worker.js: N tenants on one PostgreSQL store, /metrics, SIGTERM flushes and destroys', async () => {
    const prefix = `${RUN}_w_`
    const tenants = ['acme', 'globex', 'initech', 'umbrella']
    const child = spawn(process.execPath, [path.join(EXAMPLES, 'multi-tenant-worker.js')], {
      env: { ...process.env, DATABASE_URL: PG, TABLE_PREFIX: prefix, TENANTS: tenants.join(','), METRICS_PORT: '0', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
    const ready = await new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => {
        stdout += d
        const line = stdout.split('\n').find((l) => l.startsWith('{"ready"'))
        if (line) resolve(JSON.parse(line))
      })
      exited.then(({ code }) => reject(new Error(`the worker exited (${code}) before it was ready:\n${stdout}${stderr}`)))
    })
    assert.deepEqual(ready.tenants, tenants)
    // Every tenant stores a first job before the shutdown (the first PostgreSQL connections take a moment).
    for (let i = 0; tenants.some((t) => !stdout.includes(JSON.stringify({ working: t }))); i += 1) {
      assert.ok(i < 300, `every tenant stored a job within 30 s:\n${stdout}${stderr}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    // The metrics show the work.
    let families
    for (let i = 0; ; i += 1) {
      families = parsePrometheus(await (await fetch(ready.metrics)).text())
      const ops = families.get('wastore_operations_total')
      if (ops && ops.samples.some((s) => s.labels.backend === 'pg' && s.value > 5)) break
      assert.ok(i < 300, 'the tenants called the PostgreSQL backend within 30 s')
      await new Promise((r) => setTimeout(r, 100))
    }
    assert.equal(families.get('wastore_sessions').samples[0].value, tenants.length)

    child.kill('SIGTERM')
    const { code, signal } = await exited
    assert.equal(code, 0, `exit ${code} (${signal}):\n${stdout}${stderr}`)
    const report = JSON.parse(stdout.trim().split('\n').pop())
    assert.equal(report.shutdown, 'SIGTERM')
    assert.equal(report.remaining, 0, 'nothing left unwritten')

    // Everything each tenant did is in PostgreSQL.
    const backend = wastore.createPostgresStore({ connectionString: PG, tablePrefix: prefix })
    try {
      for (const t of tenants) {
        const n = report.counts[t]
        assert.ok(n > 0, `${t} did some work`)
        assert.equal((await backend.stores.auth(t).load()).messages, n, `${t}: creds saved at shutdown`)
        assert.equal((await backend.stores.session(t).getSession({ user: '5511999990000', server: 's.whatsapp.net', device: 0 })).ratchet, n)
        const last = await backend.stores.messages(t).getById(`${t}-${n}`)
        assert.ok(last, `${t}: the last archived message was flushed`)
        assert.equal((await backend.stores.messages(t).listByThread('5511999990000@s.whatsapp.net', 10_000)).length, n)
      }
    } finally {
      await backend.destroy()
    }
  })

  it('mixed-backends.js: auth and Signal on PostgreSQL, caches on Redis, archive on PostgreSQL', async () => {
    const prefix = `${RUN}_m_`
    const out = run('mixed-backends.js', [], { DATABASE_URL: PG, REDIS_URL: REDIS, PREFIX: prefix })
    assert.deepEqual(out.read, { auth: true, session: 1, group: 1, devices: 1, secret: true, message: 5, thread: 'Alice' })
    // (session and identity calls are answered by the Signal cache in front of `state`, not counted as backend calls)
    assert.ok(out.routes.state.includes('auth'), JSON.stringify(out.routes))
    assert.deepEqual(out.routes.archive, ['messages', 'threads'])
    assert.deepEqual(out.routes.caches, ['groupMetadata', 'deviceList', 'messageSecret'])
    // What stays after destroy() (caches are cleared by the session teardown) is where it was routed.
    const state = wastore.createPostgresStore({ connectionString: PG, tablePrefix: prefix })
    const archive = wastore.createPostgresStore({ connectionString: PG, tablePrefix: `${prefix}archive_` })
    try {
      const domains = async (b) => [...new Set((await b.countRecords('main')).filter((c) => c.records > 0).map((c) => c.domain))].sort()
      assert.deepEqual(await domains(state), ['auth', 'identity', 'session'])
      assert.deepEqual(await domains(archive), ['messages', 'threads'])
    } finally {
      await Promise.all([state.destroy(), archive.destroy()])
    }
  })

  it('baileys-bot.mjs --offline: ping/pong through Baileys Signal on useBaileysAuthState, across a restart', () => {
    const out = run('baileys-bot.mjs', ['--offline'], { STORE: `sqlite:${path.join(tmp, 'bot.db')}`, SESSION: 'bot' })
    assert.deepEqual(out, { ok: true, received: 'ping', reply: 'pong', back: 'pong', afterRestart: 'pong' })
  })

  it('zaileys-wiring.js --offline: the zaileys stores on SQLite, bind() events, a restart, exact paging', () => {
    const out = run('zaileys-wiring.js', ['--offline'], { SQLITE_PATH: path.join(tmp, 'zaileys.db'), SESSION: 'z' })
    // 250 synced, one deleted; 10 per second, so the walk crosses ties on every page.
    assert.deepEqual(out, { registrationId: 4242, preKeys: 1, chat: 'example group', messages: 249, pages: 7, status: 4 })
  })
})
