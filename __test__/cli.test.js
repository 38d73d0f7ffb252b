'use strict'
// The wastore CLI against real servers: migrate (SQLite -> PostgreSQL,
// PostgreSQL -> Redis) of 100 sessions with every domain populated, killed
// halfway and resumed, every record compared; export + import byte-identical;
// sessions / stats; usage and failure exits.

const assert = require('node:assert/strict')
const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { after, before, describe, it } = require('node:test')

const wastore = require('..')
const { populate, exportLines } = require('./helpers/populate')
const redisHelpers = require('./helpers/redis')

const CLI = path.join(__dirname, '..', 'bin', 'wastore.js')
const PG = process.env.WASTORE_TEST_PG_URL || 'postgres://wastore@127.0.0.1:5432/wastore_test'
const REDIS = redisHelpers.TEST_URL
const RUN = `cli${process.pid}`
const SESSIONS = Array.from({ length: 100 }, (_, i) => `tenant-${String(i).padStart(3, '0')}`)

let tmp
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wastore-cli-'))
})
after(async () => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
  await redisHelpers.deleteKeysUnder(`${RUN}_`, REDIS)
})

function cli(args, options = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, cwd: tmp, ...options })
}

/** Runs the CLI and SIGKILLs it once a stderr line matches `when`. Resolves when it is dead. */
function killWhen(args, when) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    let killed = false
    child.stderr.on('data', (d) => {
      stderr += d
      if (!killed && when.test(stderr)) {
        killed = true
        child.kill('SIGKILL')
      }
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(stderr)
      else reject(new Error(`the CLI exited (${code}) before the kill:\n${stderr}`))
    })
  })
}

/** Every record of every session compares equal: the canonical exports are identical line by line. */
async function assertSameRecords(source, target, ids) {
  for (const id of ids) {
    const [a, b] = await Promise.all([exportLines(source, id), exportLines(target, id)])
    assert.ok(a.length > 20, `session ${id} has records of every kind (${a.length})`)
    assert.deepEqual(b, a, `session ${id}: every record equal`)
    for (const line of a) assert.deepEqual(JSON.parse(b[a.indexOf(line)]), JSON.parse(line))
  }
}

/** Kills a migration halfway, resumes it, checks every record, then runs it again (a no-op). */
async function migrateResumed(args, source, openTarget) {
  const first = await killWhen(args, /^50\/100 /m)
  assert.match(first, /^1\/100 tenant-000: copied \d+ records, counts verified$/m, first)
  const states = fs.readdirSync(tmp).filter((f) => f.startsWith('.wastore-migrate-') && f.endsWith('.json'))
  assert.equal(states.length, 1, `one state file after the kill: ${states}`)
  const state = JSON.parse(fs.readFileSync(path.join(tmp, states[0]), 'utf8'))
  assert.ok(state.done.length >= 50 && state.done.length < 100, `state: ${state.done.length} sessions done`)

  const resumed = cli(args)
  assert.equal(resumed.status, 0, `resume: exit ${resumed.status}\n${resumed.stderr}`)
  assert.match(resumed.stderr, /resuming from .*\(\d+ sessions done\)/)
  assert.match(resumed.stderr, /already copied, \d+ records verified/)
  assert.match(resumed.stdout, /migrated 100 session\(s\) .*: \d+ copied \(\d+ records\), \d+ already there, 0 with problems/)
  for (const domain of ['auth', 'signal', 'preKey', 'session', 'identity', 'senderKey', 'appState', 'privacyToken', 'messages', 'threads', 'contacts', 'keys', 'retry', 'groupMetadata', 'chatMetadata', 'deviceList', 'messageSecret']) {
    assert.match(resumed.stdout, new RegExp(`^${domain} +\\d+$`, 'm'), `verified count of ${domain}`)
  }
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.startsWith('.wastore-migrate-') && f.endsWith('.json')), [], 'the state file is removed when done')

  const target = openTarget()
  try {
    await assertSameRecords(source, target, SESSIONS)
    const listed = []
    let page
    do {
      page = await target.listSessions({ after: listed[listed.length - 1], limit: 1000 })
      listed.push(...page)
    } while (page.length === 1000)
    assert.deepEqual(listed.filter((id) => id.startsWith('tenant-')), SESSIONS)
    // The copy is usable through the domains.
    const auth = target.stores.auth('tenant-042')
    assert.ok(await auth.load(), 'auth state of tenant-042 on the target')
  } finally {
    await target.destroy()
  }

  const again = cli(args)
  assert.equal(again.status, 0, again.stderr)
  assert.match(again.stdout, /: 0 copied \(0 records\), 100 already there, 0 with problems/, 'a second run is a no-op')
}

describe('wastore migrate', () => {
  const db = () => path.join(tmp, 'wa.db')
  const pgPrefix = `${RUN}_m_`
  const redisPrefix = `${RUN}_r:`

  it('SQLite -> PostgreSQL: 100 sessions, every domain, killed halfway and resumed', async () => {
    await populate(wastore.createSqliteStore({ path: db() }), SESSIONS)
    const args = ['migrate', '--from', `sqlite:${db()}`, '--to', PG, '--to-prefix', pgPrefix, '--all', '--batch', '7']
    const source = wastore.createSqliteStore({ path: db() })
    try {
      await migrateResumed(args, source, () => wastore.createPostgresStore({ connectionString: PG, tablePrefix: pgPrefix }))
    } finally {
      await source.destroy()
    }
  })

  it('PostgreSQL -> Redis: the same 100 sessions, killed halfway and resumed', async () => {
    const args = ['migrate', '--from', PG, '--from-prefix', pgPrefix, '--to', REDIS, '--to-prefix', redisPrefix, '--all', '--batch', '9']
    const source = wastore.createPostgresStore({ connectionString: PG, tablePrefix: pgPrefix })
    try {
      await migrateResumed(args, source, () => wastore.createRedisStore({ url: REDIS, keyPrefix: redisPrefix }))
    } finally {
      await source.destroy()
    }
  })

  it('--sessions copies only those; a target holding other data is refused (exit 5) unless --replace', async () => {
    const to = path.join(tmp, 'partial.db')
    const target = wastore.createSqliteStore({ path: to })
    await target.stores.auth('tenant-001').save({ other: true })
    await target.destroy()
    const args = ['migrate', '--from', `sqlite:${db()}`, '--to', `sqlite:${to}`, '--sessions', 'tenant-000,tenant-001']
    const refused = cli(args)
    assert.equal(refused.status, 5, refused.stderr)
    assert.match(refused.stderr, /session 'tenant-001': the target already holds data this migration did not write .*--replace/)
    const replaced = cli([...args, '--replace'])
    assert.equal(replaced.status, 0, replaced.stderr)
    const [source, copy] = [wastore.createSqliteStore({ path: db() }), wastore.createSqliteStore({ path: to })]
    try {
      await assertSameRecords(source, copy, ['tenant-000', 'tenant-001'])
      assert.deepEqual(await copy.listSessions(), ['tenant-000', 'tenant-001'])
    } finally {
      await Promise.all([source.destroy(), copy.destroy()])
    }
    const missing = cli(['migrate', '--from', `sqlite:${db()}`, '--to', `sqlite:${to}`, '--sessions', 'nobody'])
    assert.equal(missing.status, 4, missing.stderr)
    assert.match(missing.stderr, /session 'nobody' has no data in --from/)
  })
})

describe('wastore export / import', () => {
  it('round-trips byte-identically, across backends', async () => {
    const db = path.join(tmp, 'wa.db')
    const file = path.join(tmp, 'tenant-007.jsonl')
    const exported = cli(['export', `sqlite:${db}`, '--session', 'tenant-007', '--out', file])
    assert.equal(exported.status, 0, exported.stderr)
    const original = fs.readFileSync(file)
    const lines = original.toString('utf8').trimEnd().split('\n')
    assert.deepEqual(JSON.parse(lines[0]), { format: 'wastore-backup', version: 1 })
    assert.deepEqual(JSON.parse(lines[lines.length - 1]), { format: 'wastore-backup', end: true, records: lines.length - 2 })

    const prefix = `${RUN}_x_`
    const imported = cli(['import', PG, '--prefix', prefix], { input: original })
    assert.equal(imported.status, 0, imported.stderr)
    assert.match(imported.stderr, /imported \d+ records into 1 session\(s\): tenant-007/)
    const again = cli(['export', PG, '--prefix', prefix, '--session', 'tenant-007'])
    assert.equal(again.status, 0, again.stderr)
    assert.ok(Buffer.from(again.stdout, 'utf8').equals(original), 'the export of the import is byte-identical')

    const other = path.join(tmp, 'restored.db')
    const renamed = cli(['import', `sqlite:${other}`, '--file', file, '--session', 'restored'])
    assert.equal(renamed.status, 0, renamed.stderr)
    const back = cli(['export', `sqlite:${other}`, '--session', 'restored'])
    assert.equal(back.stdout, original.toString('utf8').replaceAll('"session":"tenant-007"', '"session":"restored"'))

    const busy = cli(['import', `sqlite:${other}`, '--file', file, '--session', 'restored'])
    assert.equal(busy.status, 5, busy.stderr)
    assert.match(busy.stderr, /already hold data .*--replace .*--merge .*; nothing was written/)
    assert.equal(cli(['import', `sqlite:${other}`, '--file', file, '--session', 'restored', '--merge']).status, 0)
    assert.equal(cli(['export', `sqlite:${other}`, '--session', 'restored']).stdout, back.stdout, 'importing again changes nothing')
  })

  it('a cut, corrupt or newer backup writes nothing (exit 1)', () => {
    const db = path.join(tmp, 'wa.db')
    const text = cli(['export', `sqlite:${db}`, '--session', 'tenant-008']).stdout
    const lines = text.trimEnd().split('\n')
    const target = path.join(tmp, 'never.db')
    const cases = [
      [lines.slice(0, -1).join('\n'), /no trailer line, so it was cut short/],
      [[...lines.slice(0, 3), ...lines.slice(4)].join('\n'), /trailer counts \d+ records but the file holds \d+/],
      [[lines[0], lines[1].replace('"kind":"', '"kind":"x'), ...lines.slice(2)].join('\n'), /line 2/],
      [['{"format":"wastore-backup","version":99}', ...lines.slice(1)].join('\n'), /format version 99.*upgrade wastore/],
      ['hello\n', /not a wastore backup header/]
    ]
    for (const [input, message] of cases) {
      const r = cli(['import', `sqlite:${target}`], { input })
      assert.equal(r.status, 1, r.stderr)
      assert.match(r.stderr, message)
      assert.match(r.stderr, /nothing was written/)
    }
    // Nothing was written: the file was never created, or holds no session.
    const check = cli(['sessions', `sqlite:${target}`])
    assert.ok(check.status === 4 || /^no sessions/.test(check.stdout), `${check.status}: ${check.stdout}${check.stderr}`)
  })
})

describe('wastore sessions / stats', () => {
  it('lists sessions with per-domain counts, and sizes per domain', () => {
    const db = path.join(tmp, 'wa.db')
    const listed = cli(['sessions', `sqlite:${db}`])
    assert.equal(listed.status, 0, listed.stderr)
    const rows = listed.stdout.trimEnd().split('\n')
    assert.equal(rows.length, 100)
    assert.match(rows[0], /^tenant-000\t\d+ records\tauth:1 signal:\d+ preKey:\d+ session:2 identity:1 senderKey:2 /)
    const json = JSON.parse(cli(['sessions', `sqlite:${db}`, '--json']).stdout)
    assert.equal(json.sessions.length, 100)
    assert.equal(json.sessions[5].domains.auth, 1)

    const stats = JSON.parse(cli(['stats', `sqlite:${db}`, '--json']).stdout)
    assert.equal(stats.sessions, 100)
    const auth = stats.domains.find((d) => d.domain === 'auth')
    assert.equal(auth.records, 100)
    assert.ok(auth.bytes > 0)
    const one = cli(['stats', `sqlite:${db}`, '--session', 'tenant-003'])
    assert.equal(one.status, 0, one.stderr)
    assert.match(one.stdout, /session 'tenant-003', \d+ records\ndomain +records +bytes\nauth +1 +\d+/)
  })
})

describe('CLI errors', () => {
  it('--help on every command', () => {
    const top = cli(['--help'])
    assert.equal(top.status, 0)
    for (const command of ['migrate', 'sessions', 'stats', 'export', 'import', 'import-baileys']) {
      assert.match(top.stdout, new RegExp(`^  wastore ${command} `, 'm'))
      const r = cli([command, '--help'])
      assert.equal(r.status, 0, `${command} --help`)
      assert.match(r.stdout, new RegExp(`^Usage:\\n  wastore ${command}`))
      assert.match(r.stdout, /Exit codes:/)
    }
  })

  it('unknown backend URL, unreachable server, missing session: clear messages, documented exits', () => {
    const unknown = cli(['sessions', 'ftp://example.com/x'])
    assert.equal(unknown.status, 2)
    assert.match(unknown.stderr, /unknown backend 'ftp:' .*use sqlite:<path>, postgres:\/\/, mysql:\/\/, redis:\/\/, mongodb:\/\//)
    assert.match(unknown.stderr, /Run 'wastore sessions --help'/)

    for (const url of ['postgres://wastore:secret@127.0.0.1:1/none', 'mysql://root@127.0.0.1:1/none', 'redis://127.0.0.1:1/']) {
      const down = cli(['stats', url])
      assert.equal(down.status, 3, `${url}: ${down.stderr}`)
      assert.match(down.stderr, /cannot reach backend .*127\.0\.0\.1:1.*\n.*Is the server running/)
      assert.ok(!down.stderr.includes('secret'), 'the password is not printed')
    }
    const migrateDown = cli(['migrate', '--from', `sqlite:${path.join(tmp, 'wa.db')}`, '--to', 'postgres://wastore@127.0.0.1:1/none', '--all'])
    assert.equal(migrateDown.status, 3, migrateDown.stderr)
    assert.match(migrateDown.stderr, /cannot reach --to postgres:/)

    const missing = cli(['export', `sqlite:${path.join(tmp, 'wa.db')}`, '--session', 'nobody'])
    assert.equal(missing.status, 4)
    assert.match(missing.stderr, /session 'nobody' has no data in .*wastore sessions/)
    const noFile = cli(['stats', `sqlite:${path.join(tmp, 'missing.db')}`])
    assert.equal(noFile.status, 4)
    assert.match(noFile.stderr, /missing\.db does not exist/)

    for (const [args, message] of [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['migrate', '--from', 'sqlite:a.db', '--all'], /--to <backend> is required/],
      [['migrate', '--from', 'sqlite:a.db', '--to', 'sqlite:b.db'], /choose the sessions/],
      [['migrate', '--from', 'sqlite:a.db', '--to', 'sqlite:b.db', '--all', '--batch', '0'], /--batch must be an integer from 1 to 10000/],
      [['export', 'sqlite:a.db'], /choose the sessions/],
      [['stats', 'sqlite:a.db', '--bogus'], /unknown option --bogus/]
    ]) {
      const r = cli(args)
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, message)
    }
  })
})
