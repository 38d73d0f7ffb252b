'use strict'
// Backends named on the command line: URLs or SQLite paths.

const { UsageError, CliError, EXIT } = require('./errors')

const SCHEMES = 'sqlite:<path>, postgres://, mysql://, redis://, mongodb://'

/** The URL without its password, for messages and state files. */
function redact(target) {
  try {
    const url = new URL(target)
    if (url.password) url.password = '***'
    return url.protocol === 'sqlite:' ? target : url.toString()
  } catch {
    return target
  }
}

/** `sqlite`, `postgres`, `mysql`, `redis`, `mongo`, or throws a usage error naming `flag`. */
function schemeOf(target, flag) {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(target)?.[1]?.toLowerCase()
  // A plain path (a one-letter "scheme" is a Windows drive) or sqlite:<path>.
  if (scheme === undefined || scheme.length === 1 || scheme === 'sqlite') return 'sqlite'
  if (scheme === 'postgres' || scheme === 'postgresql') return 'postgres'
  if (scheme === 'mysql' || scheme === 'mariadb') return 'mysql'
  if (scheme === 'redis' || scheme === 'rediss') return 'redis'
  if (scheme === 'mongodb' || scheme === 'mongodb+srv') return 'mongo'
  throw new UsageError(`${flag}: unknown backend '${scheme}:' in '${redact(target)}' (use ${SCHEMES})`)
}

/**
 * Opens the backend `target` names. `prefix` is the table prefix (SQL), key
 * prefix (Redis) or collection prefix (MongoDB) of the store the app opens.
 * `mustExist`: an SQLite file that does not exist is an error (reading commands).
 */
function openBackend(wastore, target, { flag = 'backend', prefix, mustExist = false } = {}) {
  const kind = schemeOf(target, flag)
  const factory = {
    sqlite: 'createSqliteStore',
    postgres: 'createPostgresStore',
    mysql: 'createMysqlStore',
    redis: 'createRedisStore',
    mongo: 'createMongoStore'
  }[kind]
  if (typeof wastore[factory] !== 'function') throw new UsageError(`${flag}: ${kind} is not available in this wastore build (no ${factory})`)
  let options
  if (kind === 'sqlite') {
    const scheme = /^sqlite:/i.test(target)
    const file = scheme ? target.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '') : target
    if (!file) throw new UsageError(`${flag}: sqlite: needs a file path, e.g. sqlite:./wa.db`)
    if (prefix !== undefined) throw new UsageError(`${flag}: a prefix does not apply to SQLite (its table names are fixed)`)
    if (mustExist && file !== ':memory:' && !require('node:fs').existsSync(file)) {
      throw new CliError(EXIT.NOT_FOUND, `${flag}: the SQLite file ${file} does not exist (check the path)`)
    }
    options = { path: file }
  } else if (kind === 'postgres') {
    options = { connectionString: target, ...(prefix === undefined ? {} : { tablePrefix: prefix }) }
  } else if (kind === 'mysql') {
    options = { connectionString: target.replace(/^mariadb:/i, 'mysql:'), ...(prefix === undefined ? {} : { tablePrefix: prefix }) }
  } else if (kind === 'redis') {
    options = { url: target, ...(prefix === undefined ? {} : { keyPrefix: prefix }) }
  } else {
    let database
    try {
      database = decodeURIComponent(new URL(target).pathname.replace(/^\//, '')) || 'wastore'
    } catch {
      throw new UsageError(`${flag}: '${redact(target)}' is not a valid mongodb:// URL`)
    }
    options = { uri: target, database, ...(prefix === undefined ? {} : { collectionPrefix: prefix }) }
  }
  try {
    return wastore[factory](options)
  } catch (err) {
    if (err && err.code === 'STORE_INVALID_CONFIG') throw new UsageError(`${flag} '${redact(target)}': ${err.message}`)
    throw err
  }
}

/** Rewords a connection failure so it names the backend and says what to check. */
function explain(err, target, flag) {
  if (err && err.code === 'STORE_CONNECTION_FAILED') {
    return new CliError(
      EXIT.UNREACHABLE,
      `cannot reach ${flag} ${redact(target)}: ${err.message}\n  Is the server running and the URL (host, port, user, password, database) right?`,
      { cause: err }
    )
  }
  return err
}

module.exports = { openBackend, explain, redact, schemeOf, SCHEMES }
