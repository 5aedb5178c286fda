// OpenAI-style error bodies, `{"error":{"message","type","param","code"}}`, with the type and code the status implies.

const KINDS: ReadonlyMap<number, { type: string; code: string | null; message: string }> = new Map([
  [400, { type: "invalid_request_error", code: null, message: "Bad request" }],
  [401, { type: "invalid_request_error", code: "invalid_api_key", message: "Incorrect API key provided" }],
  [
    403,
    { type: "invalid_request_error", code: "unsupported_country_region_territory", message: "Forbidden" },
  ],
  [404, { type: "invalid_request_error", code: "unknown_url", message: "Not found" }],
  [413, { type: "invalid_request_error", code: "request_too_large", message: "Request too large" }],
  [429, { type: "requests", code: "rate_limit_exceeded", message: "Rate limit reached" }],
])

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: null; code: string | null }
}

export function openAiErrorBody(status: number, message?: string): OpenAiErrorBody {
  const kind = KINDS.get(status) ?? {
    type: status >= 500 ? "server_error" : "invalid_request_error",
    code: null,
    message: status >= 500 ? "The server had an error while processing your request" : "Request failed",
  }
  return { error: { message: message ?? kind.message, type: kind.type, param: null, code: kind.code } }
}
