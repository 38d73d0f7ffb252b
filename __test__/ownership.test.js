'use strict'
// Session ownership across real processes, on every backend a child can
// reopen from a spec (SQLite, PostgreSQL, MariaDB, Redis, MongoDB):
// a second process is refused with STORE_SESSION_LOCKED naming the holder;
// after the holder is SIGKILLed its lease expires and another takes over;
// a holder SIGSTOPped past its lease is refused when it resumes and writes.
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const os = require('node:os')
const path = require('node:path')
const { describe, it, before, after } = require('node:test')

const { factories } = require('./helpers/backends')

const CHILD = path.join(__dirname, 'fixtures', 'owner.js')
const LEASE_MS = 1500
const RENEW_MS = 300
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** One child process holding (or trying to hold) a session. */
class Owner {
  constructor(spec, sessionId) {
    this.child = spawn(process.execPath, [CHILD, JSON.stringify({ spec, sessionId, leaseMs: LEASE_MS, renewMs: RENEW_MS })], {
      stdio: ['pipe', 'pipe', 'pipe']
    })
    this.lines = []
    this.waiting = []
    this.stderr = ''
    let buffer = ''
    this.child.stdout.on('data', (chunk) => {
      buffer += chunk
      let nl
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        const waiter = this.waiting.shift()
        if (waiter) waiter(line)
        else this.lines.push(line)
      }
    })
    this.child.stderr.on('data', (chunk) => {
      this.stderr += chunk
    })
    this.exited = new Promise((resolve) => this.child.on('exit', resolve))
  }

  line() {
    if (this.lines.length > 0) return Promise.resolve(this.lines.shift())
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from child ${this.child.pid}:\n${this.stderr}`)), 30_000)
      this.waiting.push((line) => {
        clearTimeout(timer)
        resolve(line)
      })
    })
  }

  async ready() {
    const line = await this.line()
    assert.match(line, /^ready \d+$/, this.stderr)
    return this
  }

  async send(command) {
    this.child.stdin.write(`${command}\n`)
    return JSON.parse(await this.line())
  }

  kill(signal) {
    this.child.kill(signal)
  }

  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL')
      await this.exited
    }
  }
}

async function start(spec, sessionId) {
  return new Owner(spec, sessionId).ready()
}

function assertLocked(reply, holder, what) {
  assert.equal(reply.ok, false, `${what}: expected STORE_SESSION_LOCKED, got ${JSON.stringify(reply)}`)
  assert.equal(reply.code, 'STORE_SESSION_LOCKED', `${what}: ${reply.message}`)
  if (holder) {
    assert.deepEqual(reply.holder, { host: os.hostname(), pid: holder.child.pid }, `${what}: ${reply.message}`)
    assert.ok(reply.expiresAt > Date.now() - 60_000, `${what}: expiresAt ${reply.expiresAt}`)
    assert.match(reply.message, new RegExp(`pid ${holder.child.pid}`))
  }
}

/** Retries `command` until it succeeds (the lease expiring), failing after `ms`. */
async function eventually(owner, command, ms) {
  const deadline = Date.now() + ms
  for (;;) {
    const reply = await owner.send(command)
    if (reply.ok || Date.now() > deadline) return reply
    assert.equal(reply.code, 'STORE_SESSION_LOCKED', reply.message)
    await sleep(100)
  }
}

for (const factory of factories().filter((f) => typeof f.spec === 'function')) {
  describe(`session ownership [${factory.name}]`, { timeout: 120_000 }, () => {
    const owners = []
    const open = async (spec, sid) => {
      const o = await start(spec, sid)
      owners.push(o)
      return o
    }
    before(async () => {
      if (factory.setup) await factory.setup()
    })
    after(async () => {
      await Promise.all(owners.map((o) => o.stop()))
      if (factory.teardown) await factory.teardown()
    })

    it('a second process is refused with STORE_SESSION_LOCKED naming the holder, and gets in once the holder destroys its session', async () => {
      const spec = factory.spec()
      const a = await open(spec, 'acct')
      assert.deepEqual(await a.send('write a1'), { ok: true })
      const b = await open(spec, 'acct')
      assertLocked(await b.send('write b1'), a, 'write of the second process')
      assertLocked(await b.send('read'), a, 'read of the second process')
      // Other sessions of the same database are not affected.
      const other = await open(spec, 'another-acct')
      assert.deepEqual(await other.send('write o1'), { ok: true })
      // The holder's lease is renewed past its length.
      await sleep(LEASE_MS * 1.5)
      assertLocked(await b.send('write b2'), a, 'after the lease length, renewed')
      assert.deepEqual(await a.send('read'), { ok: true, value: { auth: 'a1', signal: 'a1' } })
      // session.destroy() releases: the other process gets in at once.
      assert.deepEqual(await a.send('destroy'), { ok: true })
      assert.deepEqual(await b.send('write b3'), { ok: true })
      assert.deepEqual(await b.send('read'), { ok: true, value: { auth: 'b3', signal: 'b3' } })
      assertLocked(await a.send('read'), b, 'the first process, now second')
      // store.destroy() releases too.
      assert.deepEqual(await b.send('storeDestroy'), { ok: true })
      assert.deepEqual(await a.send('write a2'), { ok: true })
    })

    it('after the holder is SIGKILLed, its lease expires and another process takes the session over', async () => {
      const spec = factory.spec()
      const a = await open(spec, 'acct')
      assert.deepEqual(await a.send('write a1'), { ok: true })
      a.kill('SIGKILL')
      await a.exited
      const b = await open(spec, 'acct')
      const killedAt = Date.now()
      assertLocked(await b.send('write b1'), a, 'right after the kill')
      const reply = await eventually(b, 'write b2', LEASE_MS * 4)
      assert.deepEqual(reply, { ok: true }, `takeover: ${JSON.stringify(reply)}`)
      assert.ok(Date.now() - killedAt < LEASE_MS * 4)
      assert.deepEqual(await b.send('read'), { ok: true, value: { auth: 'b2', signal: 'b2' } }, 'the dead holder wrote nothing after')
    })

    it('a holder SIGSTOPped past its lease is refused when it resumes and writes; nothing it sends lands', async () => {
      const spec = factory.spec()
      const a = await open(spec, 'acct')
      assert.deepEqual(await a.send('write a1'), { ok: true })
      a.kill('SIGSTOP')
      const b = await open(spec, 'acct')
      const reply = await eventually(b, 'write b1', LEASE_MS * 4)
      assert.deepEqual(reply, { ok: true }, `takeover of a paused holder: ${JSON.stringify(reply)}`)
      a.kill('SIGCONT')
      const late = await a.send('write a2')
      assertLocked(late, b, 'the resumed holder')
      assert.match(late.message, /lost its lease/)
      assertLocked(await a.send('read'), null, 'lost for good')
      assert.deepEqual(await b.send('read'), { ok: true, value: { auth: 'b1', signal: 'b1' } })
      // The new holder keeps working after the old one gave up.
      assert.deepEqual(await b.send('write b2'), { ok: true })
      assert.deepEqual(await b.send('read'), { ok: true, value: { auth: 'b2', signal: 'b2' } })
    })
  })
}
