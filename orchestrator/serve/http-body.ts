// Reads a request's JSON body under a size cap and validates it; every failure is a 4xx naming what is wrong.
import type { IncomingMessage } from "node:http"
import type { z } from "zod"
import { HttpError } from "./http-error.ts"

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024

async function readCapped(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new HttpError(413, "body.tooLarge", `the request body is over the limit of ${maxBytes} bytes`)
  const declared = Number(request.headers["content-length"])
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge()
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    // Stop reading at once: a client that lied about its length must not make us buffer the rest.
    if (size > maxBytes) throw tooLarge()
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

/** Parses the body as JSON (an empty body is `{}`) and checks it against `schema`. */
export async function readJsonBody<S extends z.ZodType>(
  request: IncomingMessage,
  schema: S,
  maxBytes: number,
): Promise<z.infer<S>> {
  const type = request.headers["content-type"]
  const bytes = await readCapped(request, maxBytes)
  let json: unknown = {}
  if (bytes.length > 0) {
    if (type !== undefined && !/^application\/json\b/i.test(type)) {
      throw new HttpError(415, "body.unsupportedType", `send the body as application/json, not ${type}`)
    }
    try {
      json = JSON.parse(bytes.toString("utf8"))
    } catch (error) {
      throw new HttpError(400, "body.invalidJson", `the body is not JSON: ${(error as Error).message}`)
    }
  }
  const result = schema.safeParse(json)
  if (!result.success) {
    const issue = deepestIssue(result.error.issues)
    const field = issue?.path.join(".") ?? ""
    throw new HttpError(
      400,
      "body.invalid",
      `${field === "" ? "the body" : `"${field}"`}: ${issue?.message ?? "invalid"}`,
      field === "" ? {} : { field },
    )
  }
  return result.data
}

/** The URL's query parameters checked against `schema`: an unknown or repeated one is a 400 naming it. */
export function readQuery<S extends z.ZodType>(url: URL, schema: S): z.infer<S> {
  const params: Record<string, string> = {}
  for (const [key, value] of url.searchParams) {
    if (key in params) throw new HttpError(400, "query.invalid", `"${key}": given twice`, { field: key })
    params[key] = value
  }
  const result = schema.safeParse(params)
  if (result.success) return result.data
  const issue = deepestIssue(result.error.issues)
  const field = issue?.path.join(".") ?? ""
  throw new HttpError(
    400,
    "query.invalid",
    `${field === "" ? "the query" : `"${field}"`}: ${issue?.message ?? "invalid"}`,
    field === "" ? {} : { field },
  )
}

type Issue = z.core.$ZodIssue

/** For a union, the most specific branch's first problem reads better than "invalid input". */
function deepestIssue(issues: readonly Issue[]): Issue | undefined {
  const first = issues[0]
  if (first?.code === "invalid_union" && first.errors.length > 0) {
    const branches = first.errors.map((branch) => deepestIssue(branch)).filter((issue) => issue !== undefined)
    // Prefer a branch that complains about a named key over one that rejects the whole shape.
    return (
      branches.find((issue) => issue.path.length > 0 && issue.code !== "unrecognized_keys") ?? branches[0]
    )
  }
  if (first?.code === "unrecognized_keys") {
    return { ...first, path: [...first.path, first.keys[0] ?? ""], message: "not a known field" }
  }
  return first
}
