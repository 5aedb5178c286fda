// An event log whose last line was cut off (power loss mid-write) is trimmed back to its last complete line.
import { open } from "node:fs/promises"

const CHUNK = 64 * 1024

/** Truncates `file` after its last newline when it does not end with one; returns the bytes cut (0 if none). */
export async function trimTornTail(file: string): Promise<number> {
  const handle = await open(file, "r+").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined
    throw error
  })
  if (!handle) return 0
  try {
    const { size } = await handle.stat()
    if (size === 0) return 0
    const last = Buffer.alloc(1)
    await handle.read(last, 0, 1, size - 1)
    if (last[0] === 0x0a) return 0
    // Walk back to the previous newline; everything after it is the torn line.
    for (let end = size; end > 0; end -= CHUNK) {
      const start = Math.max(0, end - CHUNK)
      const buffer = Buffer.alloc(end - start)
      await handle.read(buffer, 0, buffer.length, start)
      const newline = buffer.lastIndexOf(0x0a)
      if (newline !== -1) {
        await handle.truncate(start + newline + 1)
        return size - (start + newline + 1)
      }
    }
    await handle.truncate(0)
    return size
  } finally {
    await handle.close()
  }
}
