'use strict'
// Crash safety of the Signal cache: a child writes sessions and reports every
// acknowledged write; it is SIGKILLed at a random moment; the store reopened
// on the same data must hold every acknowledged write (or a newer one).
// 'sync': every resolved write. 'deferred': every write before a completed flush().
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const path = require('node:path')
const { describe, it, before, after } = require('node:test')

const { factories } = require('./helpers/backends')
const { storeFromSpec } = require('./helpers/specs')

const CHILD = path.join(__dirname, 'fixtures', 'crash-writer.js')
const WRITERS = 4

/** Runs the child until it has reported `minAcks` lines, then kills it after a random delay. */
function runAndKill(config, minAcks) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let acks = 0
    let armed = false
    child.stdout.on('data', (chunk) => {
      stdout += chunk
      acks = stdout.split('\n').filter((l) => l.startsWith('ack') || l.startsWith('flushed')).length
      if (!armed && acks >= minAcks) {
        armed = true
        setTimeout(() => child.kill('SIGKILL'), 20 + Math.floor(Math.random() * 300))
      }
    })
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('exit', (code, signal) => {
      clearTimeout(guard)
      if (signal !== 'SIGKILL') return reject(new Error(`child exited (${code}) before the kill:\n${stdout}\n${stderr}`))
      if (stdout.includes('\nerror ') || stdout.startsWith('error ')) return reject(new Error(`child failed:\n${stdout}`))
      resolve(stdout)
    })
  })
}

/** The highest acknowledged n per writer (only complete lines count). */
function acknowledged(stdout, kind) {
  const last = {}
  const lines = stdout.split('\n')
  lines.pop() // the last line may be cut off by the kill
  for (const line of lines) {
    const [tag, w, n] = line.split(' ')
    if (tag === kind) last[w] = Math.max(last[w] ?? 0, Number(n))
  }
  return last
}

for (const factory of factories().filter((f) => typeof f.spec === 'function')) {
  describe(`crash safety [${factory.name}]`, { timeout: 180_000 }, () => {
    before(async () => {
      if (factory.setup) await factory.setup()
    })
    after(async () => {
      if (factory.teardown) await factory.teardown()
    })

    for (const [durability, kind] of [['sync', 'ack'], ['deferred', 'flushed']]) {
      it(`every ${durability === 'sync' ? 'acknowledged write' : 'write flushed before'} survives SIGKILL (${durability})`, async () => {
        const spec = factory.spec()
        const stdout = await runAndKill({ spec, durability, writers: WRITERS }, durability === 'sync' ? 200 : 8)
        const acked = acknowledged(stdout, kind)
        assert.ok(Object.keys(acked).length > 0, `no write was acknowledged:\n${stdout.slice(0, 500)}`)
        const store = storeFromSpec(spec)
        try {
          const s = store.session('crash-session')
          for (const [w, n] of Object.entries(acked)) {
            const got = await s.session.getSession({ user: `peer${w}`, server: 's.whatsapp.net', device: 0 })
            assert.ok(got, `writer ${w}: acknowledged write ${n} is missing`)
            assert.ok(got.n >= n, `writer ${w}: stored n=${got.n} is older than acknowledged n=${n}`)
          }
        } finally {
          await store.destroy()
        }
      })
    }
  })
}
