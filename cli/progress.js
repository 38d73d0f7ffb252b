'use strict'
// Progress on stderr: a redrawn bar on a terminal, plain lines otherwise
// (one per finished unit, so logs and pipes stay readable).

const WIDTH = 30
const REDRAW_MS = 100

class Progress {
  /** `total`: records to copy; `units`: sessions. */
  constructor(stream, { total, units }) {
    this.stream = stream
    this.tty = Boolean(stream.isTTY) && process.env.TERM !== 'dumb'
    this.total = total
    this.units = units
    this.done = 0
    this.unitsDone = 0
    this.current = ''
    this.drawn = 0
  }

  /** `n` more records copied for the session `current`. */
  advance(n, current) {
    this.done += n
    this.current = current
    if (this.tty && Date.now() - this.drawn >= REDRAW_MS) this.draw()
  }

  /** A session finished: a line (above the bar on a terminal). */
  finish(text) {
    this.unitsDone += 1
    this.line(`${this.unitsDone}/${this.units} ${text}`)
  }

  line(text) {
    if (this.tty) {
      this.stream.write(`\r\x1b[K${text}\n`)
      this.draw()
    } else {
      this.stream.write(`${text}\n`)
    }
  }

  draw() {
    this.drawn = Date.now()
    const share = this.total > 0 ? Math.min(1, this.done / this.total) : 1
    const filled = Math.round(share * WIDTH)
    const bar = `${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}`
    const name = this.current.length > 24 ? `${this.current.slice(0, 23)}…` : this.current
    this.stream.write(
      `\r\x1b[K[${bar}] ${Math.floor(share * 100)}% ${this.done}/${this.total} records, ${this.unitsDone}/${this.units} sessions ${name}`
    )
  }

  /** Removes the bar (terminal only). */
  end() {
    if (this.tty) this.stream.write('\r\x1b[K')
  }
}

module.exports = { Progress }
