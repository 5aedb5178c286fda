// The job store grows with the work, not with its square: a tool result is written the same few times whether the
// run ends after it or goes on for many steps, and the whole conversation still reads back from the store.
import { readdir, readFile, writeFile } from "node:fs/promises"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { startExpertScript } from "../testing/expert-script.ts"
import { configText, makeJobWorkspace, runTestJob } from "../testing/job-harness.ts"

const STEPS = 6

async function occurrences(dir: string, needle: string): Promise<number> {
  let count = 0
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const text = await readFile(path.join(entry.parentPath, entry.name), "utf8")
    count += text.split(needle).length - 1
  }
  return count
}

describe("the job store", () => {
  it("holds each tool result a fixed number of times, however many steps come after it", async () => {
    await using ws = await makeJobWorkspace()
    for (let step = 1; step <= STEPS; step++)
      await writeFile(path.join(ws.dir, `f${step}.txt`), `marker-${step}-${"x".repeat(2000)}\n`)
    await using llm = await startExpertScript({
      reader: [
        ...Array.from({ length: STEPS }, (_, index) => ({
          toolCalls: [{ name: "readTextFile", arguments: { path: `f${index + 1}.txt` } }],
        })),
        { text: "read them all" },
      ],
    })
    const result = await runTestJob(ws, {
      toml: configText(llm.url, `[experts."reader"]\ninstruction = "Read."\n`),
      expertKey: "reader",
      query: "Read the files one by one",
    })
    expect(result.status).toBe("completed")
    const store = path.join(ws.dir, "perstack")
    const counts = []
    for (let step = 1; step <= STEPS; step++) counts.push(await occurrences(store, `marker-${step}-`))
    // The first result is followed by five more steps, the last by none: both are stored alike.
    expect(new Set(counts).size, `times each result is in the store: ${counts.join(", ")}`).toBe(1)
    // ...and it is still all there: the last checkpoint reads back whole, every result in it.
    const last = await ws.store.readCheckpoint(result.job.id, result.checkpoint?.id ?? "")
    expect(last?.messages).toHaveLength(2 + 2 * STEPS + 1)
    expect(last).toEqual(result.checkpoint)
    for (let step = 1; step <= STEPS; step++)
      expect(JSON.stringify(last?.messages)).toContain(`marker-${step}-`)
  })
})
