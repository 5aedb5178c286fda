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

/**
 * The first line of a stream; what follows it is pushed back, unread, and the stream is left open (an iterator
 * that stops early would destroy it).
 */
function readFirstLine(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const done = (text: string) => {
      stream.off("data", onData)
      stream.off("end", onEnd)
      stream.off("error", reject)
      stream.pause()
      resolve(text)
    }
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk
      const newline = bytes.indexOf(0x0a)
      if (newline === -1) {
        chunks.push(bytes)
        return
      }
      chunks.push(bytes.subarray(0, newline))
      // Stopped before the rest goes back: a flowing stream would hand what is unshifted straight back to onData.
      const line = Buffer.concat(chunks).toString("utf8")
      done(line)
      if (newline + 1 < bytes.length) stream.unshift(bytes.subarray(newline + 1))
    }
    const onEnd = () => done(Buffer.concat(chunks).toString("utf8"))
    stream.on("data", onData)
    stream.once("end", onEnd)
    stream.once("error", reject)
    // A stream paused by an earlier read (the run's variables, then the RunSpec) does not flow again by itself.
    stream.resume()
  })
}

export async function readRunSpec(options: {
  file?: string
  stdin: NodeJS.ReadableStream
  /** stdin carries the RunSpec on its first line, then acknowledgements (see ack-channel.ts) */
  firstLineOnly?: boolean
}): Promise<RunSpec> {
  const source = options.file && options.file !== "-" ? options.file : "stdin"
  let text: string
  try {
    text =
      source !== "stdin"
        ? await readFile(source, "utf8")
        : options.firstLineOnly
          ? await readFirstLine(options.stdin)
          : await readStdin(options.stdin)
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

/** `{"env": {"NAME": "value", ...}}` on stdin's first line: a warm sandbox's run variables (see main.ts). */
export async function readRunEnv(stdin: NodeJS.ReadableStream): Promise<Record<string, string>> {
  const line = await readFirstLine(stdin)
  let env: unknown
  try {
    env = (JSON.parse(line) as { env?: unknown }).env
  } catch (error) {
    throw new PerstackError(
      "runSpec.invalid",
      `the run's variables on stdin are not JSON: ${(error as Error).message}`,
    )
  }
  const valid =
    typeof env === "object" && env !== null && Object.values(env).every((value) => typeof value === "string")
  if (!valid)
    throw new PerstackError(
      "runSpec.invalid",
      'the run\'s variables on stdin: expected {"env": {NAME: "value"}}',
    )
  return env as Record<string, string>
}
