'use strict'
// wastore export / wastore import: the portable JSONL backup format.
//
// A backup is a header line, one line per record, and a trailer with the
// record count (see the README's "Backup format"). Values are the stored
// bytes in base64: binary data is lossless and encrypted values stay
// encrypted. `import` checks the whole input (header, trailer, every line)
// before it writes anything.

const fs = require('node:fs')
const path = require('node:path')

const { parseArgs, sessionList } = require('./args')
const { openBackend, explain, redact } = require('./backends')
const { UsageError, CliError, EXIT } = require('./errors')
const { allSessions, countRecords, total } = require('./records')

const FORMAT = 'wastore-backup'
const PAGE = 1000

const BACKEND_HELP = `<backend>: sqlite:./wa.db | postgres://user:pass@host:5432/db | mysql://... |
           redis://host:6379 | mongodb://host:27017/db`

const EXPORT_USAGE = `Usage:
  wastore export <backend> (--session <id,id,...> | --all) [--out <file>] [--prefix <prefix>]

Writes a backup of the sessions (every domain, every record) to stdout, or to
--out (written to <file>.tmp, renamed when complete).

Options:
  --session <id,...>  the sessions to export
  --all               every session of <backend>
  --out <file>        write here instead of stdout
  --prefix <prefix>   table / key / collection prefix, if not the default
  -h, --help          show this help

${BACKEND_HELP}

Exit codes: 0 written, 1 failed, 2 bad usage, 3 the server is unreachable,
4 a --session has no data (or the SQLite file does not exist).
`

const IMPORT_USAGE = `Usage:
  wastore import <backend> [--file <file>] [--session <id>] [--replace | --merge] [--prefix <prefix>]

Restores a backup made by 'wastore export' (read from stdin, or --file). The
whole input is checked first: nothing is written when it is cut short,
corrupt, or from a newer wastore. A target session that already holds data
is not touched unless --replace or --merge.

Options:
  --file <file>       read the backup from this file instead of stdin
  --session <id>      import into this session id (a backup of one session only)
  --replace           clear each target session first
  --merge             write the records over what the target session holds
  --prefix <prefix>   table / key / collection prefix, if not the default
  -h, --help          show this help

${BACKEND_HELP}

Exit codes: 0 imported, 1 failed (the input is corrupt or a write failed),
2 bad usage, 3 the server is unreachable, 5 a target session holds data
(nothing was written).
`

function parseExport(argv) {
  const a = parseArgs(argv, { valued: ['--session', '--out', '--prefix'], flags: ['--all'] })
  if (a.flags.has('help')) return { help: true }
  const [backend, extra] = a.positional
  if (!backend) throw new UsageError('export needs the backend to read, e.g. wastore export sqlite:./wa.db --session main > main.jsonl')
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`)
  if (a.values.session === undefined && !a.flags.has('all')) throw new UsageError('choose the sessions: --session id or --all')
  if (a.values.session !== undefined && a.flags.has('all')) throw new UsageError('--session and --all exclude each other')
  return {
    backend,
    prefix: a.values.prefix,
    out: a.values.out,
    sessions: a.values.session === undefined ? null : sessionList(a.values.session, '--session')
  }
}

function parseImport(argv) {
  const a = parseArgs(argv, { valued: ['--session', '--file', '--prefix'], flags: ['--replace', '--merge'] })
  if (a.flags.has('help')) return { help: true }
  const [backend, extra] = a.positional
  if (!backend) throw new UsageError('import needs the backend to write, e.g. wastore import postgres://localhost/wa < main.jsonl')
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`)
  if (a.flags.has('replace') && a.flags.has('merge')) throw new UsageError('--replace and --merge exclude each other')
  return { backend, prefix: a.values.prefix, file: a.values.file, session: a.values.session, replace: a.flags.has('replace'), merge: a.flags.has('merge') }
}

/** Writes `text` to a stream, waiting when it is full. */
function write(stream, text) {
  return stream.write(text) ? Promise.resolve() : new Promise((resolve, reject) => {
    const done = (err) => {
      stream.off('drain', done)
      stream.off('error', done)
      if (err) reject(err)
      else resolve()
    }
    stream.once('drain', done)
    stream.once('error', done)
  })
}

async function runExport(a, io, wastore) {
  if (!a.out && io.stdout.isTTY) throw new UsageError('refusing to write a backup to the terminal: redirect it (> backup.jsonl) or pass --out <file>')
  const backend = openBackend(wastore, a.backend, { flag: 'backend', prefix: a.prefix, mustExist: true })
  let out = io.stdout
  let tmp = null
  try {
    const ids = a.sessions ?? (await allSessions(backend).catch((err) => Promise.reject(explain(err, a.backend, 'backend'))))
    for (const id of ids) {
      const counts = await countRecords(backend, id).catch((err) => Promise.reject(explain(err, a.backend, 'backend')))
      if (total(counts) === 0) throw new CliError(EXIT.NOT_FOUND, `session '${id}' has no data in ${redact(a.backend)}; list its sessions with: wastore sessions ${redact(a.backend)}`)
    }
    if (a.out) {
      tmp = `${path.resolve(a.out)}.tmp`
      out = fs.createWriteStream(tmp)
    }
    let records = 0
    await write(out, `${wastore.backupHeader()}\n`)
    for (const id of ids) {
      let after
      do {
        const page = await backend.exportRecords(id, { after, limit: PAGE })
        if (page.lines.length) await write(out, `${page.lines.join('\n')}\n`)
        records += page.lines.length
        after = page.next ?? undefined
      } while (after !== undefined)
    }
    await write(out, `${wastore.backupTrailer(records)}\n`)
    if (tmp) {
      await new Promise((resolve, reject) => out.end((err) => (err ? reject(err) : resolve())))
      fs.renameSync(tmp, path.resolve(a.out))
      tmp = null
    }
    io.stderr.write(`exported ${ids.length} session(s), ${records} records\n`)
  } finally {
    if (tmp) {
      out.destroy()
      fs.rmSync(tmp, { force: true })
    }
    await backend.destroy().catch(() => {})
  }
}

async function readInput(a, io) {
  if (a.file) {
    try {
      return fs.readFileSync(a.file, 'utf8')
    } catch (err) {
      throw new CliError(EXIT.FAILED, `cannot read --file ${a.file}: ${err.message}`)
    }
  }
  if (io.stdin.isTTY) throw new UsageError('import reads the backup from stdin: redirect a file (< backup.jsonl) or pass --file <file>')
  const chunks = []
  for await (const chunk of io.stdin) chunks.push(chunk)
  return Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))).toString('utf8')
}

/** The record lines of a backup, after checking its header and trailer. */
function recordLines(text, version) {
  const lines = text.split('\n')
  if (lines.length && lines[lines.length - 1] === '') lines.pop()
  const corrupt = (msg) => new CliError(EXIT.FAILED, `the backup is not usable: ${msg}; nothing was written`)
  let header
  try {
    header = JSON.parse(lines[0] ?? '')
  } catch {
    throw corrupt("line 1 is not a wastore backup header (is this a file made by 'wastore export'?)")
  }
  if (!header || header.format !== FORMAT || !Number.isInteger(header.version)) throw corrupt("line 1 is not a wastore backup header (is this a file made by 'wastore export'?)")
  if (header.version > version) throw corrupt(`it is format version ${header.version}, this wastore reads up to ${version}: upgrade wastore`)
  let trailer
  try {
    trailer = JSON.parse(lines[lines.length - 1])
  } catch {
    trailer = null
  }
  if (lines.length < 2 || !trailer || trailer.format !== FORMAT || trailer.end !== true) throw corrupt('it has no trailer line, so it was cut short (copy the whole file)')
  const records = lines.slice(1, -1)
  if (trailer.records !== records.length) throw corrupt(`the trailer counts ${trailer.records} records but the file holds ${records.length}, so lines are missing`)
  return records
}

async function runImport(a, io, wastore) {
  const text = await readInput(a, io)
  const lines = recordLines(text, wastore.BACKUP_FORMAT_VERSION)
  const backend = openBackend(wastore, a.backend, { flag: 'backend', prefix: a.prefix })
  const reach = (p) => p.catch((err) => Promise.reject(explain(err, a.backend, 'backend')))
  try {
    // Decode every line first: a corrupt line anywhere writes nothing.
    const sessions = []
    for (let i = 0; i < lines.length; i += 10_000) {
      const r = await backend.importRecords(lines.slice(i, i + 10_000), { firstLine: i + 2, dryRun: true }).catch((err) => {
        throw new CliError(EXIT.FAILED, `the backup is not usable: ${err.message}; nothing was written`, { cause: err })
      })
      for (const s of r.sessions) if (!sessions.includes(s)) sessions.push(s)
    }
    if (a.session !== undefined && sessions.length > 1) {
      throw new UsageError(`--session renames one session, but this backup holds ${sessions.length} (${sessions.slice(0, 3).join(', ')}${sessions.length > 3 ? ', …' : ''})`)
    }
    const targets = a.session !== undefined ? [a.session] : sessions
    const busy = []
    for (const id of targets) {
      const n = total(await reach(countRecords(backend, id)))
      if (n > 0) busy.push(`'${id}' (${n} records)`)
    }
    if (busy.length && !a.replace && !a.merge) {
      throw new CliError(EXIT.MISMATCH, `target session(s) ${busy.join(', ')} already hold data in ${redact(a.backend)}; pass --replace to clear them first or --merge to write over them; nothing was written`)
    }
    if (a.replace) for (const id of targets) await reach(backend.clearSession(id))
    for (let i = 0; i < lines.length; i += PAGE) {
      await reach(backend.importRecords(lines.slice(i, i + PAGE), { firstLine: i + 2, sessionId: a.session }))
    }
    io.stderr.write(`imported ${lines.length} records into ${targets.length} session(s): ${targets.join(', ')}\n`)
  } finally {
    await backend.destroy().catch(() => {})
  }
}

module.exports = {
  exportCommand: { USAGE: EXPORT_USAGE, parse: parseExport, run: runExport, summary: 'write a backup of sessions (JSONL) to stdout' },
  importCommand: { USAGE: IMPORT_USAGE, parse: parseImport, run: runImport, summary: 'restore a backup from stdin' }
}
