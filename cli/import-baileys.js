'use strict'
// wastore import-baileys: a Baileys useMultiFileAuthState folder into one session.

const path = require('node:path')

const { parseArgs } = require('./args')
const { openBackend, explain } = require('./backends')
const { UsageError, CliError, EXIT } = require('./errors')

const USAGE = `Usage:
  wastore import-baileys <folder> --to <backend> --session <id> [options]

Imports a Baileys useMultiFileAuthState folder (creds.json and every key file)
into one wastore session, in a single transaction. Nothing is written when a
file cannot be parsed (its name is printed), unless --skip-unparseable.

<backend>:
  sqlite:./wa.sqlite | ./wa.sqlite       SQLite file (created if missing)
  postgres://user:pass@host:5432/db      PostgreSQL (also postgresql://)
  mysql://user:pass@host:3306/db         MySQL / MariaDB (also mariadb://)
  redis://host:6379                      Redis
  mongodb://host:27017/db                MongoDB

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

Exit codes: 0 imported, 1 the import failed (nothing written), 2 bad usage,
3 the server is unreachable.
`

function parse(argv) {
  const a = parseArgs(argv, {
    valued: ['--to', '--session', '--prefix'],
    repeatable: ['--type'],
    flags: ['--replace', '--skip-unparseable', '--json']
  })
  if (a.flags.has('help')) return { help: true }
  const [folder, extra] = a.positional
  if (!folder) throw new UsageError('import-baileys needs the folder to import')
  if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`)
  if (!a.values.to) throw new UsageError('--to <backend> is required')
  if (!a.values.session) throw new UsageError('--session <id> is required')
  return { folder, ...a.values, types: a.lists.type, flags: a.flags }
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

async function run(a, io, wastore) {
  const backend = openBackend(wastore, a.to, { flag: '--to', prefix: a.prefix })
  let report
  try {
    report = await wastore.importMultiFileAuthState(path.resolve(a.folder), backend, a.session, {
      replace: a.flags.has('replace'),
      skipUnparseable: a.flags.has('skip-unparseable'),
      types: a.types
    })
  } catch (err) {
    await backend.destroy().catch(() => {}) // the import error is the one to report
    const e = explain(err, a.to, '--to')
    if (e !== err) throw e
    const code = err && err.code ? `${err.code}: ` : ''
    throw new CliError(EXIT.FAILED, `import failed, nothing was written. ${code}${err && err.message ? err.message : err}`, { cause: err.cause })
  }
  printReport(report, a.flags.has('json'), io.stdout)
  try {
    await backend.destroy()
  } catch (err) {
    throw new CliError(EXIT.FAILED, `the import was committed, but closing the backend failed: ${err && err.message}`)
  }
}

module.exports = { USAGE, parse, run, summary: 'import a Baileys useMultiFileAuthState folder into a session' }
