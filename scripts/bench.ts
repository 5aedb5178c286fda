// `npm run bench`: runs every benchmark in scripts/bench/ (or those named on the command line) and prints figures.
// Benchmarks print; they assert nothing. BENCH_RUNS sets the repetitions (default 15).
import { readdir } from "node:fs/promises"
import path from "node:path"

interface Benchmark {
  title: string
  run(runs: number): Promise<void>
}

const dir = path.join(import.meta.dirname, "bench")
const wanted = process.argv.slice(2)
const runs = Number(process.env.BENCH_RUNS ?? 15)
const files = (await readdir(dir)).filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts")).sort()

process.stdout.write(`Node ${process.version} on ${process.arch}, BENCH_RUNS=${runs}\n`)
for (const file of files) {
  const name = file.replace(/\.ts$/, "")
  if (wanted.length > 0 && !wanted.includes(name)) continue
  const benchmark = (await import(path.join(dir, file))) as Benchmark
  process.stdout.write(`\n=== ${name}: ${benchmark.title}\n`)
  await benchmark.run(runs)
}
