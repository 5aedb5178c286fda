import { describe, expect, it } from "vitest"
import { buildRunSpec } from "../../../runtime/testing/run-spec-builder.ts"
import { createDockerBackend } from "./docker-backend.ts"
import { lockedDownEnv, throughRelay } from "./job-egress.ts"

const egress = { network: "perstack-egress-job-1-abcdef", relayAddress: "172.19.0.2" }

describe("a locked-down sandbox's view of the orchestrator's services", () => {
  it("reaches a service through the relay, on the same port", () => {
    expect(throughRelay("http://172.17.0.1:41234/v1", egress)).toBe("http://172.19.0.2:41234/v1")
    expect(throughRelay("http://127.0.0.1:41234", egress)).toBe("http://172.19.0.2:41234")
  })

  it("drops the host's proxy settings; with a proxy token, points every proxy variable at the egress proxy", () => {
    const env = { OPENAI_API_KEY: "pgw-x", HTTPS_PROXY: "http://corp:3128", no_proxy: "corp.lan" }
    const services = { gateway: "http://172.17.0.1:41234/v1", proxy: "http://172.17.0.1:41999" }
    expect(lockedDownEnv(env, services, egress)).toEqual({ OPENAI_API_KEY: "pgw-x" })
    const proxied = lockedDownEnv(env, { ...services, proxyToken: "ppx-token" }, egress)
    const url = "http://perstack:ppx-token@172.19.0.2:41999"
    expect(proxied).toEqual({
      OPENAI_API_KEY: "pgw-x",
      HTTPS_PROXY: url,
      https_proxy: url,
      HTTP_PROXY: url,
      http_proxy: url,
      NO_PROXY: "172.19.0.2",
      no_proxy: "172.19.0.2",
      NODE_USE_ENV_PROXY: "1",
    })
  })
})

describe("the docker backend's network choice (before any engine is asked)", () => {
  const start = (network: "gateway" | "none", services?: { gateway: string }) =>
    createDockerBackend({ docker: {} as never }).start({
      spec: buildRunSpec({ workspace: "/tmp/ws", llmUrl: "http://127.0.0.1:9/v1" }),
      env: {},
      workspace: "/tmp/ws",
      labels: { jobId: "job-1", runId: "run-1" },
      settings: { network },
      ...(services ? { services } : {}),
    })

  it('refuses network = "none": nothing could reach the LLM, the gateway included', async () => {
    await expect(start("none", { gateway: "http://172.17.0.1:1/v1" })).rejects.toMatchObject({
      code: "sandbox.networkNone",
    })
  })

  it('refuses network = "gateway" when the job has no gateway, saying what to change', async () => {
    await expect(start("gateway")).rejects.toThrow(
      /network = "gateway", but this job's LLM gateway is off .* Turn the gateway on, or use network = "open"/,
    )
  })
})
