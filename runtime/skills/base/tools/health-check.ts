// healthCheck: shows the base skill is alive, and where its workspace is.
import { z } from "zod"
import { defineBaseTool } from "../base-tool.ts"
import { jsonResult } from "../tool-result.ts"

const megabytes = (bytes: number) => `${Math.round(bytes / 1024 / 1024)}MB`

export const healthCheckTool = defineBaseTool({
  name: "healthCheck",
  description:
    'Check that the built-in tools are working. Returns {status: "ok", workspace, uptime, memory, pid}; workspace is the folder all file tools and exec work in.',
  inputSchema: z.object({}),
  async run(_args, { workspace }) {
    const memory = process.memoryUsage()
    return jsonResult({
      status: "ok",
      workspace,
      uptime: `${Math.floor(process.uptime())}s`,
      memory: { heapUsed: megabytes(memory.heapUsed), heapTotal: megabytes(memory.heapTotal) },
      pid: process.pid,
    })
  },
})
