// Number formatting and Markdown tables for the report.

export const fmtNum = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–')
export const fmtDec = (x, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '–')
/** Milliseconds with about three significant digits. */
export const fmtMs = (x) => (!Number.isFinite(x) ? '–' : x >= 100 ? fmtNum(x) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x >= 0.01 ? x.toFixed(3) : x.toPrecision(2))
export const fmtRatio = (x) => (!Number.isFinite(x) ? '–' : x >= 10 ? `${x.toFixed(1)}×` : x >= 0.1 ? `${x.toFixed(2)}×` : `${x.toPrecision(2)}×`)

/** `median (min–max)`, the median bold; a single run shows the value alone. */
export function fmtSpread(s, f = fmtNum) {
  if (!s || !s.n) return '–'
  return s.n === 1 ? f(s.median) : `**${f(s.median)}** (${f(s.min)}–${f(s.max)})`
}

export function table(header, rows, align = header.map((_, i) => (i === 0 ? 'l' : 'r'))) {
  const line = (cells) => `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`
  return [line(header), `| ${align.map((a) => (a === 'l' ? '---' : '---:')).join(' | ')} |`, ...rows.map(line)].join('\n')
}
