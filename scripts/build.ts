// Bundles the two binaries with esbuild: `perstack` (the orchestrator CLI) and `perstack-runtime` (what runs in a sandbox).
import { chmod, mkdir } from "node:fs/promises"
import path from "node:path"
import { build } from "esbuild"

const root = path.resolve(import.meta.dirname, "..")

const entries = [
  // The CLI resolves its dependencies from node_modules at run time.
  { entry: "orchestrator/cli/bin.ts", out: "dist/perstack.js", bundleDependencies: false, executable: true },
  // The protocol schemas, for applications that read our events and checkpoints.
  {
    entry: "runtime/protocol/index.ts",
    out: "dist/protocol.js",
    bundleDependencies: false,
    executable: false,
  },
]

await mkdir(path.join(root, "dist"), { recursive: true })
for (const { entry, out, bundleDependencies, executable } of entries) {
  await build({
    entryPoints: [path.join(root, entry)],
    outfile: path.join(root, out),
    bundle: true,
    packages: bundleDependencies ? undefined : "external",
    platform: "node",
    format: "esm",
    target: "node22",
    sourcemap: "linked",
    banner: executable ? { js: "#!/usr/bin/env node" } : undefined,
    logLevel: "warning",
  })
  if (executable) await chmod(path.join(root, out), 0o755)
}
