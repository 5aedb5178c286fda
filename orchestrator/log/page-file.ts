// Writes the HTML page where `--html <file>` says: a temp file beside it, renamed over it, so a failed write leaves
// nothing (no half page, no folder made on the way: a path whose folder does not exist is refused).
import { randomBytes } from "node:crypto"
import { rename, rm, writeFile } from "node:fs/promises"
import { PerstackError } from "../../runtime/errors/perstack-error.ts"

export async function writePageFile(file: string, content: string): Promise<void> {
  const temp = `${file}.${randomBytes(6).toString("hex")}.tmp`
  try {
    await writeFile(temp, content, { flag: "wx" })
    await rename(temp, file)
  } catch (error) {
    await rm(temp, { force: true })
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw new PerstackError("log.badOption", `--html ${file}: cannot write the page (${reason})`, {
      cause: error,
    })
  }
}
