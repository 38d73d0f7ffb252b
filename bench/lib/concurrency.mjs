/** Runs `fn(item, index)` over `items` with at most `limit` calls in flight. */
export async function inFlight(items, limit, fn) {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        await fn(items[i], i)
      }
    }),
  )
}
