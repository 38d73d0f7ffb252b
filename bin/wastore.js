#!/usr/bin/env node
'use strict'
// wastore command line:
//   wastore import-baileys <folder> --to <backend> --session <id>
//   wastore rotate-key --to <backend> (keys from $WASTORE_ENCRYPTION_KEYS or --keys-file)
// Exit codes: 0 done, 1 the command failed, 2 bad usage.

const path = require('node:path')

const USAGE = `Usage:
  wastore import-baileys <folder> --to <backend> --session <id> [options]
  wastore rotate-key --to <backend> [--keys-file <file>] [--batch-size <n>] [--prefix <prefix>] [--json]

Imports a Baileys useMultiFileAuthState folder (creds.json and every key file)
into one wastore session, in a single transaction. Nothing is written when a
file cannot be parsed (its name is printed), unless --skip-unparseable.

<backend>:
  sqlite:./wa.sqlite | ./wa.sqlite       SQLite file (created if missing)
  postgres://user:pass@host:5432/db      PostgreSQL (also postgresql://)
  mysql://user:pass@host:3306/db         MySQL / MariaDB (also mariadb://)
  redis://host:6379                      Redis (when this wastore build has it)
  mongodb://host:27017/db                MongoDB (when this wastore build has it)

rotate-key re-encrypts every stored secret value of <backend> with the current
key of the key ring (store.rotateEncryptionKey()). The ring is JSON,
{ "keys": { "<id>": "<base64 or hex of 32 bytes>", ... }, "current": "<id>" },
read from the environment variable WASTORE_ENCRYPTION_KEYS or from --keys-file
(never from the command line, where other users could see it).

Options:
  --to <backend>          where to write (required)
  --session <id>          the wastore session id to write (required)
  --prefix <prefix>       table prefix (SQL), key prefix (Redis) or collection prefix (MongoDB)
                          of the store your app opens, if not the default
  --replace               replace the session if it already holds auth state
  --skip-unparseable      import the rest when some key files cannot be parsed
  --type <name>           also import files of this key type (repeatable)
  --keys-file <file>      rotate-key: the key ring JSON file
  --batch-size <n>        rotate-key: records per batch (default 500)
  --json                  print the report as JSON
  -h, --help              show this help
`

class UsageError extends Error {}

/** `--keys-file` → `keysFile`. */
const key = (flag) => flag.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase())

function parseArgs(argv) {
  const out = { positional: [], types: [], flags: new Set() }
  const valued = new Set(['--to', '--session', '--prefix', '--type', '--keys-file', '--batch-size'])
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1
    const name = eq > 0 ? arg.slice(0, eq) : arg
    if (valued.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i]
      if (value === undefined || value === '') throw new UsageError(`${name} needs a value`)
      if (name === '--type') out.types.push(value)
      else if (out[key(name)] !== undefined) throw new UsageError(`${name} given twice`)
      else out[key(name)] = value
    } else if (['--replace', '--skip-unparseable', '--json', '--help', '-h'].includes(arg)) {
      out.flags.add(arg === '-h' ? '--help' : arg)
    } else if (arg.startsWith('-') && arg !== '-') {
      throw new UsageError(`unknown option ${arg}`)
    } else {
      out.positional.push(arg)
    }
  }
  return out
}

/** A backend from a URL or an SQLite path; the factory must exist in this build. */
function openBackend(wastore, target, prefix) {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(target)?.[1]?.toLowerCase()
  const need = (factory, what) => {
    if (typeof wastore[factory] !== 'function') {
      throw new UsageError(`${what} is not available in this wastore build (no ${factory})`)
    }
    return wastore[factory]
  }
  // A plain path (a one-letter "scheme" is a Windows drive) or sqlite:<path>.
  if (scheme === undefined || scheme.length === 1 || scheme === 'sqlite') {
    const file = scheme === 'sqlite' ? target.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '') : target
    if (!file) throw new UsageError('--to sqlite: needs a file path, e.g. sqlite:./wa.sqlite')
    if (prefix !== undefined) throw new UsageError('--prefix does not apply to SQLite (its table names are fixed)')
    return need('createSqliteStore', 'SQLite')({ path: file })
  }
  const server = (factory, what, extra) =>
    need(factory, what)({ connectionString: target, ...(prefix === undefined ? {} : { tablePrefix: prefix }), ...extra })
  if (scheme === 'postgres' || scheme === 'postgresql') return server('createPostgresStore', 'PostgreSQL')
  if (scheme === 'mysql' || scheme === 'mariadb') {
    return server('createMysqlStore', 'MySQL', { connectionString: target.replace(/^mariadb:/i, 'mysql:') })
  }
  if (scheme === 'redis' || scheme === 'rediss') {
    return need('createRedisStore', 'Redis')({ url: target, ...(prefix === undefined ? {} : { keyPrefix: prefix }) })
  }
  if (scheme === 'mongodb' || scheme === 'mongodb+srv') {
    const database = decodeURIComponent(new URL(target).pathname.replace(/^\//, '')) || 'wastore'
    return need('createMongoStore', 'MongoDB')({
      uri: target,
      database,
      ...(prefix === undefined ? {} : { collectionPrefix: prefix })
    })
  }
  throw new UsageError(`--to: unknown backend scheme '${scheme}:' (use sqlite:, postgres://, mysql://, redis://, mongodb://)`)
}

function printReport(report, asJson, out) {
  if (asJson) {
    out.write(`${JSON.stringify(report, null, 2)}\n`)
    return
  }
  out.write(`imported into session ${JSON.stringify(report.sessionId)}${report.replaced ? ' (replaced)' : ''}:\n`)
  out.write('  creds: 1\n')
  for (const [type, n] of Object.entries(report.counts)) out.write(`  ${type}: ${n}\n`)
  out.write(`  total keys: ${report.keys}\n`)
  for (const s of report.skipped) out.write(`  skipped ${s.file}: ${s.reason}\n`)
  for (const name of report.ignored) out.write(`  ignored ${name} (not a .json file)\n`)
}

async function importBaileys(args, io) {
  const [folder, ...rest] = args.positional
  if (!folder) throw new UsageError('import-baileys needs the folder to import')
  if (rest.length) throw new UsageError(`unexpected argument ${rest[0]}`)
  if (!args.to) throw new UsageError('--to <backend> is required')
  if (!args.session) throw new UsageError('--session <id> is required')
  const wastore = require('..')
  const backend = openBackend(wastore, args.to, args.prefix)
  let report
  try {
    report = await wastore.importMultiFileAuthState(path.resolve(folder), backend, args.session, {
      replace: args.flags.has('--replace'),
      skipUnparseable: args.flags.has('--skip-unparseable'),
      types: args.types
    })
  } finally {
    if (report === undefined) await backend.destroy().catch(() => {}) // the import error is the one to report
  }
  printReport(report, args.flags.has('--json'), io.stdout)
  try {
    await backend.destroy()
  } catch (err) {
    throw new ClosingError(err)
  }
}

/** The key ring: `{ keys, current }` JSON from $WASTORE_ENCRYPTION_KEYS or --keys-file. */
function readKeyRing(args, env) {
  const fs = require('node:fs')
  if (args.keysFile !== undefined && env.WASTORE_ENCRYPTION_KEYS) {
    throw new UsageError('give the key ring in WASTORE_ENCRYPTION_KEYS or --keys-file, not both')
  }
  let text
  let where
  if (args.keysFile !== undefined) {
    where = args.keysFile
    try {
      text = fs.readFileSync(args.keysFile, 'utf8')
    } catch (err) {
      throw new UsageError(`--keys-file: cannot read ${args.keysFile}: ${err.message}`)
    }
  } else if (env.WASTORE_ENCRYPTION_KEYS) {
    where = 'WASTORE_ENCRYPTION_KEYS'
    text = env.WASTORE_ENCRYPTION_KEYS
  } else {
    throw new UsageError('rotate-key needs the key ring: set WASTORE_ENCRYPTION_KEYS or pass --keys-file')
  }
  let ring
  try {
    ring = JSON.parse(text)
  } catch (err) {
    throw new UsageError(`${where} is not JSON: ${err.message}`)
  }
  if (!ring || typeof ring !== 'object' || typeof ring.keys !== 'object' || typeof ring.current !== 'string') {
    throw new UsageError(`${where} must be { "keys": { "<id>": "<key>" }, "current": "<id>" }`)
  }
  return { keys: ring.keys, current: ring.current }
}

const STORED_DOMAINS = ['auth', 'signal', 'preKey', 'session', 'identity', 'senderKey', 'appState', 'privacyToken', 'messages', 'threads', 'contacts', 'keys']

async function rotateKey(args, io) {
  if (args.positional.length) throw new UsageError(`unexpected argument ${args.positional[0]}`)
  if (!args.to) throw new UsageError('--to <backend> is required')
  let batchSize
  if (args.batchSize !== undefined) {
    batchSize = Number(args.batchSize)
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError('--batch-size must be a positive integer')
  }
  const encryption = readKeyRing(args, io.env || process.env)
  const wastore = require('..')
  const backend = openBackend(wastore, args.to, args.prefix)
  let store
  let report
  try {
    store = wastore.createStore({
      backends: { main: backend },
      providers: Object.fromEntries(STORED_DOMAINS.map((d) => [d, 'main'])),
      encryption,
      signalCache: false,
      writeBehind: false
    })
    report = await store.rotateEncryptionKey(batchSize === undefined ? undefined : { batchSize })
  } finally {
    if (store) await store.destroy().catch(() => {})
    else await backend.destroy().catch(() => {})
  }
  if (args.flags.has('--json')) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  else {
    io.stdout.write(
      `rotated to key ${JSON.stringify(encryption.current)}: ${report.sessions} sessions, ${report.records} records, ` +
        `${report.reencrypted} re-encrypted (${report.fromPlaintext} were unencrypted)\n`
    )
  }
}

/** Rotation stopped; what it re-encrypted before stays re-encrypted, and it can be run again. */
class RotationError extends Error {
  constructor(cause) {
    super(`rotation stopped (values re-encrypted so far stay so; run it again when fixed): ${cause && cause.message}`)
  }
}

/** The import was committed, but closing the backend failed. */
class ClosingError extends Error {
  constructor(cause) {
    super(`the import was committed, but closing the backend failed: ${cause && cause.message}`, { cause })
  }
}

async function main(argv, io = { stdout: process.stdout, stderr: process.stderr }) {
  try {
    const [command, ...rest] = argv
    if (command === undefined) {
      io.stderr.write(USAGE)
      return 2
    }
    if (command === '--help' || command === '-h' || command === 'help') {
      io.stdout.write(USAGE)
      return 0
    }
    if (command !== 'import-baileys' && command !== 'rotate-key') throw new UsageError(`unknown command '${command}'`)
    const args = parseArgs(rest)
    if (args.flags.has('--help')) {
      io.stdout.write(USAGE)
      return 0
    }
    if (command === 'rotate-key') {
      try {
        await rotateKey(args, io)
      } catch (err) {
        if (err instanceof UsageError) throw err
        throw Object.assign(new RotationError(err), { code: err && err.code })
      }
      return 0
    }
    await importBaileys(args, io)
    return 0
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`wastore: ${err.message}\nRun 'wastore --help' for usage.\n`)
      return 2
    }
    const code = err && err.code ? `${err.code}: ` : ''
    const what = err instanceof ClosingError || err instanceof RotationError ? '' : 'import failed, nothing was written. '
    io.stderr.write(`wastore: ${what}${code}${err && err.message ? err.message : err}\n`)
    if (err && err.cause && err.cause.message) io.stderr.write(`  cause: ${err.cause.message}\n`)
    return 1
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code
  })
}

module.exports = { main, parseArgs }
