// One line of resource figures on stderr at exit (CPU, peak RSS, uptime), for benchmarks and the curious.

export function writeProcessStats(name: string): void {
  const usage = process.resourceUsage()
  const stats = {
    cpuMs: Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000),
    maxRssKb: usage.maxRSS,
    uptimeMs: Math.round(process.uptime() * 1000),
  }
  process.stderr.write(`${name} stats ${JSON.stringify(stats)}\n`)
}
