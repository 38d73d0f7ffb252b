'use strict'
// wastore rotate-key: re-encrypt every stored secret value with the current key.

const fs = require('node:fs')

const { parseArgs } = require('./args')
const { openBackend, explain } = require('./backends')
const { UsageError, CliError, EXIT } = require('./errors')

const USAGE = `Usage:
  wastore rotate-key --to <backend> [--keys-file <file>] [--batch-size <n>] [--prefix <prefix>] [--json]

Re-encrypts every stored secret value of <backend> with the current key of the
key ring (store.rotateEncryptionKey()). The ring is JSON,
  { "keys": { "<id>": "<base64 or hex of 32 bytes>", ... }, "current": "<id>" },
read from the environment variable WASTORE_ENCRYPTION_KEYS or from --keys-file
(never from the command line, where other users could see it). Run it from the
process that owns the sessions, or while no other process writes them.

Options:
  --to <backend>          the backend to rotate (sqlite:, postgres://, mysql://, redis://, mongodb://)
  --keys-file <file>      the key ring JSON file
  --batch-size <n>        records per batch (default 500)
  --prefix <prefix>       table / key / collection prefix, if not the default
  --json                  print the report as JSON
  -h, --help              show this help

Exit codes: 0 rotated, 1 rotation stopped (values re-encrypted so far stay so;
run it again), 2 bad usage, 3 the server is unreachable.
`

const STORED_DOMAINS = ['auth', 'signal', 'preKey', 'session', 'identity', 'senderKey', 'appState', 'privacyToken', 'messages', 'threads', 'contacts', 'keys']

function parse(argv) {
  const a = parseArgs(argv, { valued: ['--to', '--keys-file', '--batch-size', '--prefix'], flags: ['--json'] })
  if (a.flags.has('help')) return { help: true }
  if (a.positional.length) throw new UsageError(`unexpected argument ${a.positional[0]}`)
  if (!a.values.to) throw new UsageError('--to <backend> is required')
  let batchSize
  if (a.values['batch-size'] !== undefined) {
    batchSize = Number(a.values['batch-size'])
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError('--batch-size must be a positive integer')
  }
  return { to: a.values.to, keysFile: a.values['keys-file'], prefix: a.values.prefix, batchSize, json: a.flags.has('json') }
}

/** The key ring: `{ keys, current }` JSON from $WASTORE_ENCRYPTION_KEYS or --keys-file. */
function readKeyRing(keysFile, env) {
  if (keysFile !== undefined && env.WASTORE_ENCRYPTION_KEYS) {
    throw new UsageError('give the key ring in WASTORE_ENCRYPTION_KEYS or --keys-file, not both')
  }
  let text
  let where
  if (keysFile !== undefined) {
    where = keysFile
    try {
      text = fs.readFileSync(keysFile, 'utf8')
    } catch (err) {
      throw new UsageError(`--keys-file: cannot read ${keysFile}: ${err.message}`)
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

async function run(a, io, wastore) {
  const encryption = readKeyRing(a.keysFile, io.env || process.env)
  const backend = openBackend(wastore, a.to, { flag: '--to', prefix: a.prefix })
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
    report = await store.rotateEncryptionKey(a.batchSize === undefined ? undefined : { batchSize: a.batchSize })
  } catch (err) {
    const e = explain(err, a.to, '--to')
    if (e !== err || err instanceof UsageError) throw e
    const code = err && err.code ? `${err.code}: ` : ''
    throw new CliError(EXIT.FAILED, `rotation stopped (values re-encrypted so far stay so; run it again when fixed): ${code}${err && err.message}`)
  } finally {
    if (store) await store.destroy().catch(() => {})
    else await backend.destroy().catch(() => {})
  }
  if (a.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  else {
    io.stdout.write(
      `rotated to key ${JSON.stringify(encryption.current)}: ${report.sessions} sessions, ${report.records} records, ` +
        `${report.reencrypted} re-encrypted (${report.fromPlaintext} were unencrypted)\n`
    )
  }
}

module.exports = { USAGE, parse, run, summary: 're-encrypt stored secrets with the current key' }
