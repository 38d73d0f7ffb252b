'use strict'
// Exit codes scripts can rely on, and the errors that carry them.

const EXIT = Object.freeze({
  OK: 0,
  /** The operation failed: a backend read or write failed, or an input file is corrupt. */
  FAILED: 1,
  /** Bad usage: unknown command or option, a missing value, an unknown backend URL. */
  USAGE: 2,
  /** A backend server could not be reached (STORE_CONNECTION_FAILED). */
  UNREACHABLE: 3,
  /** A session named on the command line holds no data. */
  NOT_FOUND: 4,
  /** migrate: counts differ after the copy, or the target already holds other data for a session. */
  MISMATCH: 5
})

/** Bad command-line usage (exit 2). */
class UsageError extends Error {}

/** A failure with a chosen exit code and a message that says what to fix. */
class CliError extends Error {
  constructor(exitCode, message, options) {
    super(message, options)
    this.exitCode = exitCode
  }
}

/** The exit code for an error thrown by a wastore call. */
function exitCodeOf(err) {
  if (err instanceof UsageError) return EXIT.USAGE
  if (err instanceof CliError) return err.exitCode
  if (err && err.code === 'STORE_CONNECTION_FAILED') return EXIT.UNREACHABLE
  if (err && err.code === 'STORE_INVALID_CONFIG') return EXIT.USAGE
  return EXIT.FAILED
}

module.exports = { EXIT, UsageError, CliError, exitCodeOf }
