'use strict'
// Direct SQL on a backend's own tables, for tests that must break stored data
// or make a write fail inside the server: the sqlite3, psql and mariadb/mysql
// command-line clients (services.sh installs the server ones; sqlite3 is part
// of the machine image). Only the tables of one test target are touched.

const { spawnSync } = require('node:child_process')

const hex = (text) => Buffer.from(text, 'utf8').toString('hex')

function run(cmd, args, input) {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', timeout: 30_000 })
  if (r.error) {
    throw new Error(`${cmd} could not run (${r.error.code === 'ENOENT' ? `install ${cmd}` : r.error.message})`)
  }
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr}`)
  return r.stdout
}

function mysqlClient() {
  const r = spawnSync('mariadb', ['--version'], { encoding: 'utf8' })
  return r.error ? 'mysql' : 'mariadb'
}

/**
 * Raw access to the `keys` table of a factory's target, or null for backends
 * without SQL. `bytes(text)` is a byte-string literal in the dialect.
 */
function rawSql(factory, target) {
  if (factory.kind === 'sqlite') {
    return {
      table: 'adapter_keys',
      bytes: (text) => `X'${hex(text)}'`,
      exec: (sql) => run('sqlite3', ['-bail', '-cmd', '.timeout 10000', target.file], sql)
    }
  }
  if (factory.kind === 'postgres') {
    return {
      table: `${factory.prefix}adapter_keys`,
      bytes: (text) => `decode('${hex(text)}', 'hex')`,
      exec: (sql) => run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', factory.url], sql)
    }
  }
  if (factory.kind === 'mysql') {
    const u = new URL(factory.url)
    const args = ['-h', u.hostname, '-P', u.port || '3306', '-u', decodeURIComponent(u.username)]
    if (u.password) args.push(`-p${decodeURIComponent(u.password)}`)
    args.push(decodeURIComponent(u.pathname.slice(1)))
    return {
      table: `${factory.prefix}adapter_keys`,
      bytes: (text) => `X'${hex(text)}'`,
      exec: (sql) => run(mysqlClient(), args, sql)
    }
  }
  return null
}

const quote = (text) => `'${String(text).replace(/'/g, "''")}'`

/** Overwrites the stored value of `(sid, type, id)` with bytes that are not WSV. */
function corruptValue(raw, sid, type, id) {
  raw.exec(
    `UPDATE ${raw.table} SET value = ${raw.bytes('\u0000garbage, not a WSV value')} ` +
      `WHERE session_id = ${quote(sid)} AND key_type = ${raw.bytes(type)} AND key_id = ${raw.bytes(id)};`
  )
}

/**
 * Makes every insert of a key whose id is `id` fail inside the server (a
 * trigger), so a write that reaches that row fails mid-transaction. Returns a
 * function that removes the trigger.
 */
function failInsertsOf(factory, raw, id) {
  const name = `wastore_test_fail_${process.pid}`
  if (factory.kind === 'sqlite') {
    raw.exec(
      `CREATE TRIGGER ${name} BEFORE INSERT ON ${raw.table} WHEN NEW.key_id = ${raw.bytes(id)} ` +
        `BEGIN SELECT RAISE(ABORT, 'injected write failure'); END;`
    )
    return () => raw.exec(`DROP TRIGGER ${name};`)
  }
  if (factory.kind === 'postgres') {
    raw.exec(
      `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected write failure'; END $$;\n` +
        `CREATE TRIGGER ${name} BEFORE INSERT ON ${raw.table} FOR EACH ROW WHEN (NEW.key_id = ${raw.bytes(id)}) EXECUTE FUNCTION ${name}();`
    )
    return () => raw.exec(`DROP TRIGGER ${name} ON ${raw.table}; DROP FUNCTION ${name}();`)
  }
  raw.exec(
    `DELIMITER //\nCREATE TRIGGER ${name} BEFORE INSERT ON ${raw.table} FOR EACH ROW BEGIN ` +
      `IF NEW.key_id = ${raw.bytes(id)} THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected write failure'; END IF; END//\nDELIMITER ;\n`
  )
  return () => raw.exec(`DROP TRIGGER ${name};`)
}

module.exports = { rawSql, corruptValue, failInsertsOf }
