#!/usr/bin/env node
'use strict'
// wastore command line: `wastore <command> --help` for each command.
// Exit codes (every command): 0 done, 1 failed, 2 bad usage, 3 a server is
// unreachable, 4 a named session has no data, 5 migrate/import: the target differs.

const { EXIT, UsageError, exitCodeOf } = require('../cli/errors')

const COMMANDS = {
  migrate: require('../cli/migrate'),
  sessions: require('../cli/inspect').sessions,
  stats: require('../cli/inspect').stats,
  export: require('../cli/backup').exportCommand,
  import: require('../cli/backup').importCommand,
  'import-baileys': require('../cli/import-baileys'),
  'rotate-key': require('../cli/rotate-key')
}

const USAGE = `Usage: wastore <command> [options]     (wastore <command> --help for details)

Commands:
${Object.values(COMMANDS)
  .map((c) => `  ${c.USAGE.split('\n')[1].trim()}\n      ${c.summary}`)
  .join('\n')}

Backends are URLs or paths:
  sqlite:./wa.db | ./wa.db                SQLite file
  postgres://user:pass@host:5432/db       PostgreSQL (also postgresql://)
  mysql://user:pass@host:3306/db          MySQL / MariaDB (also mariadb://)
  redis://host:6379                       Redis
  mongodb://host:27017/db                 MongoDB

Examples:
  wastore sessions sqlite:./wa.db
  wastore migrate --from sqlite:./wa.db --to postgres://localhost/wa --all
  wastore export postgres://localhost/wa --session main > main.jsonl
  wastore import redis://localhost:6379 < main.jsonl
  wastore import-baileys ./auth_info --to sqlite:./wa.db --session main

Exit codes:
  0  done
  1  the operation failed (a backend read or write, a corrupt input file)
  2  bad usage (unknown command or option, missing value, unknown backend URL)
  3  a backend server is unreachable
  4  a session named on the command line holds no data
  5  migrate / import: a target session differs or already holds data
`

async function main(argv, io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }) {
  const [command, ...rest] = argv
  try {
    if (command === undefined) {
      io.stderr.write(USAGE)
      return EXIT.USAGE
    }
    if (command === '--help' || command === '-h' || command === 'help') {
      io.stdout.write(USAGE)
      return EXIT.OK
    }
    const cmd = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : null
    if (!cmd) throw new UsageError(`unknown command '${command}' (commands: ${Object.keys(COMMANDS).join(', ')})`)
    const args = cmd.parse(rest)
    if (args.help) {
      io.stdout.write(cmd.USAGE)
      return EXIT.OK
    }
    await cmd.run(args, io, require('..'))
    return EXIT.OK
  } catch (err) {
    const code = exitCodeOf(err)
    const help = COMMANDS[command] ? `wastore ${command} --help` : 'wastore --help'
    if (code === EXIT.USAGE) {
      io.stderr.write(`wastore: ${err.message}\nRun '${help}' for usage.\n`)
    } else {
      const prefix = err && err.code && !String(err.message).includes(err.code) ? `${err.code}: ` : ''
      io.stderr.write(`wastore: ${prefix}${err && err.message ? err.message : err}\n`)
      if (err && err.cause && err.cause.message) io.stderr.write(`  cause: ${err.cause.message}\n`)
    }
    return code
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code
  })
}

module.exports = { main, COMMANDS, EXIT }
