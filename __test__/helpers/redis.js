'use strict'
// A minimal RESP2 client over node:net, for the tests only: inspect keys
// (PTTL, TYPE, …) and delete a test run's own keys (SCAN + UNLINK by prefix).
// The suite adds no npm dependency for this.

const net = require('node:net')

const TEST_URL = process.env.WASTORE_TEST_REDIS_URL || 'redis://127.0.0.1:6379/'

/** Escapes glob metacharacters so a prefix matches literally in SCAN MATCH. */
function globEscape(text) {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`)
}

function encode(args) {
  const parts = [Buffer.from(`*${args.length}\r\n`)]
  for (const arg of args) {
    const buf = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg))
    parts.push(Buffer.from(`$${buf.length}\r\n`), buf, Buffer.from('\r\n'))
  }
  return Buffer.concat(parts)
}

/** Parses one reply at `pos`; returns [value, next] or null when more bytes are needed. */
function parse(buf, pos) {
  const eol = buf.indexOf('\r\n', pos)
  if (eol < 0) return null
  const type = String.fromCharCode(buf[pos])
  const line = buf.toString('utf8', pos + 1, eol)
  const next = eol + 2
  switch (type) {
    case '+':
      return [line, next]
    case '-':
      return [Object.assign(new Error(line), { redis: true }), next]
    case ':':
      return [Number(line), next]
    case '$': {
      const len = Number(line)
      if (len < 0) return [null, next]
      if (buf.length < next + len + 2) return null
      return [buf.subarray(next, next + len), next + len + 2]
    }
    case '*': {
      const count = Number(line)
      if (count < 0) return [null, next]
      const items = []
      let at = next
      for (let i = 0; i < count; i += 1) {
        const item = parse(buf, at)
        if (!item) return null
        items.push(item[0])
        at = item[1]
      }
      return [items, at]
    }
    default:
      throw new Error(`unexpected RESP type ${type}`)
  }
}

/** Opens a connection to `url` (redis://[user[:password]@]host[:port][/db]). */
async function connect(url = TEST_URL) {
  const u = new URL(url)
  const socket = net.connect({ host: u.hostname || '127.0.0.1', port: Number(u.port || 6379) })
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  let buffer = Buffer.alloc(0)
  const waiting = []
  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk])
    for (;;) {
      const reply = parse(buffer, 0)
      if (!reply) break
      buffer = buffer.subarray(reply[1])
      const w = waiting.shift()
      if (w) reply[0] instanceof Error ? w.reject(reply[0]) : w.resolve(reply[0])
    }
  })
  socket.on('error', (err) => {
    while (waiting.length) waiting.shift().reject(err)
  })
  const call = (...args) =>
    new Promise((resolve, reject) => {
      waiting.push({ resolve, reject })
      socket.write(encode(args))
    })
  if (u.password) await call('AUTH', ...(u.username ? [decodeURIComponent(u.username)] : []), decodeURIComponent(u.password))
  const db = u.pathname.replace(/^\//, '')
  if (db) await call('SELECT', db)
  return {
    call,
    /** Every key starting with `prefix` (as strings). */
    async keys(prefix) {
      const found = new Set()
      let cursor = '0'
      do {
        const [next, keys] = await call('SCAN', cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', 1000)
        cursor = next.toString()
        for (const k of keys) found.add(k.toString())
      } while (cursor !== '0')
      return [...found].sort()
    },
    /** Deletes every key starting with `prefix`; returns how many. */
    async deletePrefix(prefix) {
      const keys = await this.keys(prefix)
      for (let i = 0; i < keys.length; i += 500) await call('UNLINK', ...keys.slice(i, i + 500))
      return keys.length
    },
    close() {
      socket.end()
    }
  }
}

/** Connects, deletes every key starting with `prefix` (a test run's own), disconnects. */
async function deleteKeysUnder(prefix, url = TEST_URL) {
  const con = await connect(url)
  try {
    return await con.deletePrefix(prefix)
  } finally {
    con.close()
  }
}

module.exports = { connect, deleteKeysUnder, globEscape, TEST_URL }
