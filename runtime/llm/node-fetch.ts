// A fetch over node:http(s), the openai client's transport in the runtime. Node's own fetch (undici) parses HTTP
// with WebAssembly, which V8 re-compiles on background threads at unpredictable moments (about half the runs
// peaked 18 MB higher); node:http parses natively. Proxies: NODE_USE_ENV_PROXY=1 works for both.
import http from "node:http"
import https from "node:https"
import { Readable } from "node:stream"

export function nodeFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const url = new URL(input instanceof Request ? input.url : input.toString())
  const method = (init.method ?? "GET").toUpperCase()
  const headers: Record<string, string> = {}
  new Headers(init.headers).forEach((value, key) => {
    headers[key] = value
  })
  const body = init.body
  if (body !== undefined && body !== null && typeof body !== "string" && !(body instanceof Uint8Array)) {
    return Promise.reject(new TypeError("nodeFetch sends string or byte bodies only"))
  }
  return new Promise((resolve, reject) => {
    const request = (url.protocol === "https:" ? https : http).request(url, {
      method,
      headers,
      ...(init.signal ? { signal: init.signal } : {}),
    })
    request.once("response", (response) => {
      const status = response.statusCode ?? 502
      const responseHeaders = new Headers()
      for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) {
        responseHeaders.append(response.rawHeaders[i] ?? "", response.rawHeaders[i + 1] ?? "")
      }
      const noBody = method === "HEAD" || status === 204 || status === 304 || status < 200
      if (noBody) response.resume()
      resolve(
        new Response(noBody ? null : (Readable.toWeb(response) as ReadableStream<Uint8Array>), {
          status,
          statusText: response.statusMessage ?? "",
          headers: responseHeaders,
        }),
      )
    })
    request.once("error", reject)
    request.end(body ?? undefined)
  })
}
