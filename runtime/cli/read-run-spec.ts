// Reads and validates the RunSpec from a file or stdin; every problem named by its key path.
import { readFile } from "node:fs/promises"
import { PerstackError } from "../errors/perstack-error.ts"
import { type RunSpec, runSpecSchema } from "../protocol/run-spec.ts"

async function readStdin(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk)
  return Buffer.concat(chunks).toString("utf8")
}

const keyPath = (path: readonly PropertyKey[]) =>
  path
    .map((key, index) => (typeof key === "number" ? `[${key}]` : `${index === 0 ? "" : "."}${String(key)}`))
    .join("")

export async function readRunSpec(options: {
  file?: string
  stdin: NodeJS.ReadableStream
}): Promise<RunSpec> {
  const source = options.file && options.file !== "-" ? options.file : "stdin"
  let text: string
  try {
    text = source === "stdin" ? await readStdin(options.stdin) : await readFile(source, "utf8")
  } catch (error) {
    throw new PerstackError(
      "runSpec.unreadable",
      `cannot read the RunSpec from ${source}: ${(error as Error).message}`,
      {
        cause: error,
      },
    )
  }
  if (text.trim() === "") throw new PerstackError("runSpec.invalid", `the RunSpec from ${source} is empty`)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new PerstackError(
      "runSpec.invalid",
      `the RunSpec from ${source} is not JSON: ${(error as Error).message}`,
    )
  }
  const result = runSpecSchema.safeParse(json)
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `  ${keyPath(issue.path) || "(root)"}: ${issue.message}`,
    )
    throw new PerstackError(
      "runSpec.invalid",
      `the RunSpec from ${source} is invalid:\n${problems.join("\n")}`,
    )
  }
  return result.data
}
