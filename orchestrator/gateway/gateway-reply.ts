// How the gateway reads a caller's token and answers a request it refuses: an OpenAI-style error body.

import type { ServerResponse } from "node:http"
import type { ErrorCode } from "../../runtime/errors/error-codes.ts"

export function sendError(response: ServerResponse, status: number, code: ErrorCode, message: string): void {
  if (response.headersSent) {
    response.destroy()
    return
  }
  const body = JSON.stringify({ error: { message, type: code, code, param: null } })
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  })
  response.end(body)
}

export function bearer(header: string | undefined): string | undefined {
  return header?.startsWith("Bearer ") ? header.slice(7).trim() : undefined
}

export const sendInvalidToken = (response: ServerResponse): void =>
  sendError(response, 401, "gateway.invalidToken", "the gateway token is unknown, or its run has ended")
