// The sandbox backend contract, run against the real Docker engine.
import { afterAll, beforeAll } from "vitest"
import { describeBackendContract } from "../orchestrator/testing/backend-contract.ts"
import {
  dockerBackend,
  ensureImages,
  loopbackUrl,
  sweepSession,
  userWorkspace,
} from "./support/docker-session.ts"

beforeAll(() => ensureImages())
afterAll(sweepSession)

describeBackendContract("docker", async () => ({
  backend: dockerBackend(),
  workspace: () => userWorkspace(),
  // Containers reach the host's 0.0.0.0 through host.docker.internal; the RunSpec names loopback, as a user's
  // perstack.toml does, and the backend translates it.
  llmHost: "0.0.0.0",
  llmUrlFor: loopbackUrl,
}))
