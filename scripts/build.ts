// Bundles the two binaries with esbuild: `perstack` (the orchestrator CLI) and `perstack-runtime` (what runs in a sandbox).
import { chmod, mkdir, rm } from "node:fs/promises"
import path from "node:path"
import { build, type Plugin } from "esbuild"
import { ORCHESTRATOR_NODE_FLAGS, RUNTIME_NODE_FLAGS } from "../runtime/cli/node-flags.ts"

const root = path.resolve(import.meta.dirname, "..")

/**
 * What the CLI bundle leaves to node_modules: the packages only some commands load (the Docker and Kubernetes clients,
 * the terminal UI), whose native add-ons and optional parts stay where npm put them. The rest (zod, smol-toml,
 * commander) is bundled: zod alone is ~95 files, whose loading took ~80 ms of `perstack run` and ~6 MB of its RSS.
 */
const CLI_EXTERNAL = [
  "@kubernetes/client-node",
  "dockerode",
  "ink",
  "react",
  "@modelcontextprotocol/sdk",
  "openai",
]

/**
 * zod's namespace re-exports its 64 locales (`z.locales`), which a bundler cannot shake out of `import { z }`: half
 * the bundled zod's bytes, parsed at every start. The CLI's messages are English (zod sets `en` itself), so the
 * namespace keeps only that one.
 */
/**
 * `import http from "node:http"` loaded through require(): Node 24's ESM facade of node:http reads every export, and
 * that loads undici and http2, which nothing here uses: ~14 MB of RSS in every process (the orchestrator, each
 * runtime). Only ESM imports are rewritten; a bundled CommonJS require() of it is left as it is.
 */
const httpThroughRequire: Plugin = {
  name: "http-through-require",
  setup(build) {
    build.onResolve({ filter: /^(node:)?http$/ }, (args) =>
      args.kind === "import-statement" || args.kind === "dynamic-import"
        ? { path: "node:http", namespace: "http-through-require" }
        : undefined,
    )
    build.onLoad({ filter: /.*/, namespace: "http-through-require" }, () => ({
      contents: [
        `import { createRequire } from "node:module"`,
        `const http = createRequire(import.meta.url)("node:http")`,
        "export default http",
        "export const { Agent, IncomingMessage, Server, ServerResponse, STATUS_CODES, createServer, get, request } = http",
      ].join("\n"),
      loader: "js",
    }))
  },
}

const zodEnglishOnly: Plugin = {
  name: "zod-english-only",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)
        ? { path: path.join(path.dirname(args.importer), "../locales/en.js"), namespace: "zod-locales" }
        : undefined,
    )
    build.onLoad({ filter: /.*/, namespace: "zod-locales" }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)}`,
      resolveDir: path.dirname(args.path),
    }))
  },
}

const entries = [
  // The CLI resolves its heavy dependencies (see CLI_EXTERNAL) from node_modules at run time, and bundles the light
  // ones every command loads. Split, so that the terminal UI (Ink, React) is a chunk of its own, loaded only by
  // `perstack start` and the interactive `perstack log`.
  {
    entry: "orchestrator/cli/bin.ts",
    out: "dist/perstack.js",
    bundleDependencies: "light" as const,
    executable: true,
    chunks: "cli-chunks",
  },
  // The library: run() and friends, for applications that embed Perstack.
  { entry: "orchestrator/index.ts", out: "dist/index.js", bundleDependencies: false, executable: false },
  // `perstack/runtime`: the run() the product docs show (upstream @perstack/runtime's), over the library's run().
  {
    entry: "orchestrator/api/runtime/index.ts",
    out: "dist/runtime-api.js",
    bundleDependencies: false,
    executable: false,
  },
  // The protocol schemas, for applications that read our events and checkpoints.
  {
    entry: "runtime/protocol/index.ts",
    out: "dist/protocol.js",
    bundleDependencies: false,
    executable: false,
  },
  // perstack/react: hooks and activities for applications (web or Ink). React and zod stay imports, so the
  // application's own React is the one used; nothing in it needs Node's built-ins, so it is built for any platform.
  {
    entry: "orchestrator/react/index.ts",
    out: "dist/react.js",
    bundleDependencies: false,
    executable: false,
    platform: "neutral" as const,
  },
]

await mkdir(path.join(root, "dist"), { recursive: true })
// Chunk names carry content hashes: clear old ones so the sandbox image copies only what runs.
await rm(path.join(root, "dist/runtime"), { recursive: true, force: true })
await rm(path.join(root, "dist/cli-chunks"), { recursive: true, force: true })

// The runtime runs in every sandbox: one self-contained folder (no node_modules), minified, split so that
// what the first LLM request does not need (the MCP SDK) loads only when a tool is first called.
await build({
  entryPoints: { "perstack-runtime": path.join(root, "runtime/cli/bin.ts") },
  outdir: path.join(root, "dist/runtime"),
  bundle: true,
  splitting: true,
  minify: true,
  platform: "node",
  format: "esm",
  target: "node22",
  sourcemap: "linked",
  chunkNames: "chunks/[name]-[hash]",
  plugins: [httpThroughRequire],
  // Bundled CommonJS dependencies still call require() for Node's built-ins.
  banner: {
    js: `#!/usr/bin/env -S node ${RUNTIME_NODE_FLAGS.join(" ")}\nimport { createRequire as __perstackCreateRequire } from "node:module"; const require = __perstackCreateRequire(import.meta.url);`,
  },
  logLevel: "warning",
})
await chmod(path.join(root, "dist/runtime/perstack-runtime.js"), 0o755)

// The CLI for the perstack/perstack image: every dependency bundled (no node_modules in the image, 166 MB of it),
// minified, split so each command and backend still loads only its own code. Native optional add-ons stay out
// (ssh2's cpu-features, a .node file: dockerode works without them), and so do React's devtools (never used).
await rm(path.join(root, "dist/image"), { recursive: true, force: true })
await build({
  entryPoints: { perstack: path.join(root, "orchestrator/cli/bin.ts") },
  outdir: path.join(root, "dist/image"),
  bundle: true,
  splitting: true,
  minify: true,
  platform: "node",
  format: "esm",
  target: "node22",
  chunkNames: "image-chunks/[name]-[hash]",
  external: ["cpu-features", "*.node", "react-devtools-core"],
  banner: {
    // Bundled CommonJS still calls require() for Node's built-ins, and reads __dirname (ssh2's WebAssembly loader).
    js: `#!/usr/bin/env -S node ${ORCHESTRATOR_NODE_FLAGS.join(" ")}\nimport { createRequire as __perstackCreateRequire } from "node:module"; import { fileURLToPath as __perstackPath } from "node:url"; const require = __perstackCreateRequire(import.meta.url); const __filename = __perstackPath(import.meta.url); const __dirname = __perstackPath(new URL(".", import.meta.url));`,
  },
  logLevel: "warning",
})
await chmod(path.join(root, "dist/image/perstack.js"), 0o755)
for (const { entry, out, bundleDependencies, executable, chunks, platform } of entries) {
  await build({
    ...(chunks
      ? {
          entryPoints: { [path.basename(out, ".js")]: path.join(root, entry) },
          outdir: path.join(root, path.dirname(out)),
          splitting: true,
          chunkNames: `${chunks}/[name]-[hash]`,
        }
      : { entryPoints: [path.join(root, entry)], outfile: path.join(root, out) }),
    bundle: true,
    ...(bundleDependencies === "light"
      ? {
          external: CLI_EXTERNAL.flatMap((name) => [name, `${name}/*`]),
          plugins: [zodEnglishOnly, httpThroughRequire],
        }
      : { packages: "external" as const, plugins: [httpThroughRequire] }),
    platform: platform ?? "node",
    format: "esm",
    target: "node22",
    sourcemap: "linked",
    // The orchestrator churns through short-lived event objects: a small young generation keeps its peak RSS
    // flat (1M events: 127 MB instead of 161 MB; npm run bench, job-ingest).
    banner: executable ? { js: `#!/usr/bin/env -S node ${ORCHESTRATOR_NODE_FLAGS.join(" ")}` } : undefined,
    logLevel: "warning",
  })
  if (executable) await chmod(path.join(root, out), 0o755)
}
