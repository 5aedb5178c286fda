// Two projects: fast co-located unit tests, and e2e tests against real Docker / Kubernetes.
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["runtime/**/*.test.ts", "orchestrator/**/*.test.ts", "scripts/**/*.test.ts"],
          setupFiles: ["./runtime/testing/stdout-guard.ts"],
          // A hang detector, not a measure: generous, since every test starts real processes on a loaded 2-core machine.
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["e2e/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
})
