import { describe, expect, it } from "vitest"
import { DEFAULT_LIMITS } from "../container/resource-limits.ts"
import { containerCreateOptions, containerEnv } from "./container-config.ts"

const plan = {
  image: "perstack/sandbox:test",
  name: "perstack-run-1",
  user: "1000:1000",
  env: { OPENAI_API_KEY: "sk-x", PATH: "/host/bin", HOME: "/root", NODE_EXTRA_CA_CERTS: "/host/ca.pem" },
  labels: { "ai.perstack.run": "run-1" },
  hostWorkspace: "/home/me/ws",
  hostSpecDir: "/home/me/ws/perstack/sandboxes/perstack-run-1",
  limits: DEFAULT_LIMITS,
  network: "bridge" as const,
}

describe("containerCreateOptions", () => {
  it("hardens by default: init, read-only root, no capabilities, no new privileges, limits, no log driver", () => {
    const options = containerCreateOptions(plan)
    expect(options).toMatchObject({
      Image: "perstack/sandbox:test",
      User: "1000:1000",
      WorkingDir: "/workspace",
      Tty: false,
      OpenStdin: true,
      StdinOnce: true,
      Cmd: [
        "node",
        "--max-semi-space-size=1",
        "/opt/perstack/runtime/perstack-runtime.js",
        "/run/perstack/run-spec.json",
      ],
      HostConfig: {
        Init: true,
        ReadonlyRootfs: true,
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        PidsLimit: 512,
        Memory: 2 * 1024 ** 3,
        MemorySwap: 2 * 1024 ** 3,
        NanoCpus: 2e9,
        NetworkMode: "bridge",
        ExtraHosts: ["host.docker.internal:host-gateway"],
        LogConfig: { Type: "none" },
      },
    })
    expect(options.HostConfig?.Tmpfs).toEqual({
      "/tmp": "rw,nosuid,nodev,size=1g",
      "/home/perstack": "rw,nosuid,nodev,size=256m,uid=1000,gid=1000,mode=0700",
      "/workspace/perstack": "ro,nosuid,nodev,noexec,size=4k",
    })
    expect(options.HostConfig?.Mounts).toEqual([
      { Type: "bind", Source: "/home/me/ws", Target: "/workspace", ReadOnly: false },
      {
        Type: "bind",
        Source: "/home/me/ws/perstack/sandboxes/perstack-run-1",
        Target: "/run/perstack",
        ReadOnly: true,
      },
    ])
  })

  it("cuts the network entirely for network none (no host alias either)", () => {
    const options = containerCreateOptions({ ...plan, network: "none" })
    expect(options.HostConfig?.NetworkMode).toBe("none")
    expect(options.HostConfig?.ExtraHosts).toBeUndefined()
  })
})

describe("containerEnv", () => {
  it("replaces the host's PATH, HOME and TMPDIR, asks for acknowledgements on stdin, marks the sandbox, and trusts a CA bundle only when mounted", () => {
    expect(containerEnv(plan)).toEqual([
      "OPENAI_API_KEY=sk-x",
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "HOME=/home/perstack",
      "TMPDIR=/tmp",
      "PERSTACK_ACK=stdin",
      "PERSTACK_SANDBOX=1",
    ])
    expect(containerEnv({ ...plan, hostCaBundle: "/host/ca.pem" })).toContain(
      "NODE_EXTRA_CA_CERTS=/run/perstack-ca/ca.pem",
    )
  })
})
