// Whole-file writes that a reader never sees half done: write a temp file beside the target, then rename.
import { randomBytes } from "node:crypto"
import { mkdir, rename, rm, writeFile } from "node:fs/promises"
import path from "node:path"
import { storageError } from "./store-errors.ts"

export async function writeFileAtomic(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true })
  const temp = `${file}.${randomBytes(6).toString("hex")}.tmp`
  try {
    await writeFile(temp, content, { flush: true })
    await rename(temp, file)
  } catch (error) {
    await rm(temp, { force: true })
    throw storageError(error, file)
  }
}

export function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  return writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`)
}
