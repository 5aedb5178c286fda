import http from "node:http"
import type { AddressInfo } from "node:net"
import { describe, expect, it } from "vitest"
import { HttpAckChannel } from "./http-ack-channel.ts"

/** A stand-in gateway answering each ack request with the next status of `statuses`. */
async function gateway(statuses: number[]) {
  const seen: string[] = []
  const server = http.createServer((request, response) => {
    seen.push(`${request.url} ${request.headers.authorization}`)
    response.writeHead(statuses.shift() ?? 500)
    response.end()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1`,
    seen,
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

describe("HttpAckChannel", () => {
  it("asks again after 204 until the gateway answers 200, with the run's token", async () => {
    await using server = await gateway([204, 204, 200])
    await new HttpAckChannel(server.url, "pgw-run").wait("ev 1")
    expect(server.seen).toEqual(Array(3).fill("/perstack/acks/ev%201 Bearer pgw-run"))
  })

  it("stops the run when the gateway says its run is over, or is gone", async () => {
    await using server = await gateway([410])
    await expect(new HttpAckChannel(server.url, "pgw-run").wait("e")).rejects.toMatchObject({
      code: "run.orchestratorLost",
    })
    await expect(new HttpAckChannel("http://127.0.0.1:9/v1", "pgw-run").wait("e")).rejects.toMatchObject({
      code: "run.orchestratorLost",
    })
  })
})
