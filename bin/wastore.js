#!/usr/bin/env node
'use strict'
// wastore command line. Today one command:
//   wastore import-baileys <folder> --to <backend> --session <id>
// Exit codes: 0 done, 1 the import failed (nothing written), 2 bad usage.

const path = require('node:path')

const USAGE = `Usage:
  wastore import-baileys <folder> --to <backend> --session <id> [options]

Imports a Baileys useMultiFileAuthState folder (creds.json and every key file)
into one wastore session, in a single transaction. Nothing is written when a
file cannot be parsed (its name is printed), unless --skip-unparseable.

<backend>:
  sqlite:./wa.sqlite | ./wa.sqlite       SQLite file (created if missing)
  postgres://user:pass@host:5432/db      PostgreSQL (also postgresql://)
  mysql://user:pass@host:3306/db         MySQL / MariaDB (also mariadb://)
  redis://host:6379                      Redis (when this wastore build has it)
  mongodb://host:27017/db                MongoDB (when this wastore build has it)

Options:
  --to <backend>          where to write (required)
  --session <id>          the wastore session id to write (required)
  --prefix <prefix>       table prefix (SQL), key prefix (Redis) or collection prefix (MongoDB)
                          of the store your app opens, if not the default
  --replace               replace the session if it already holds auth state
  --skip-unparseable      import the rest when some key files cannot be parsed
  --type <name>           also import files of this key type (repeatable)
  --json                  print the report as JSON
  -h, --help              show this help
`

class UsageError extends Error {}

function parseArgs(argv) {
  const out = { positional: [], types: [], flags: new Set() }
  const valued = new Set(['--to', '--session', '--prefix', '--type'])
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1
    const name = eq > 0 ? arg.slice(0, eq) : arg
    if (valued.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i]
      if (value === undefined || value === '') throw new UsageError(`${name} needs a value`)
      if (name === '--type') out.types.push(value)
      else if (out[name.slice(2)] !== undefined) throw new UsageError(`${name} given twice`)
      else out[name.slice(2)] = value
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
    if (command !== 'import-baileys') throw new UsageError(`unknown command '${command}'`)
    const args = parseArgs(rest)
    if (args.flags.has('--help')) {
      io.stdout.write(USAGE)
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
    const what = err instanceof ClosingError ? '' : 'import failed, nothing was written. '
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
