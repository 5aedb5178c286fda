// Test support: an image like perstack/sandbox whose runtime entry is a fixture program (which may then run the
// real runtime, kept beside it as real-runtime.js).
import { execFile } from "node:child_process"
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { promisify } from "node:util"

const exec = promisify(execFile)
const docker = () => (process.platform === "linux" ? "/usr/bin/docker" : "docker")

/** Builds `perstack/test-fixture:<name>` FROM the minimal sandbox image; returns its name. */
export async function buildFixtureImage(options: {
  name: string
  entry: string
  base?: string
}): Promise<string> {
  const image = `perstack/test-fixture:${options.name}`
  const context = await mkdtemp(path.join(tmpdir(), "perstack-fixture-"))
  try {
    await copyFile(options.entry, path.join(context, "entry.mjs"))
    await writeFile(
      path.join(context, "Dockerfile"),
      [
        `FROM ${options.base ?? "perstack/sandbox:0.1.0-minimal"}`,
        "USER root",
        "RUN mv /opt/perstack/runtime/perstack-runtime.js /opt/perstack/runtime/real-runtime.js",
        "COPY entry.mjs /opt/perstack/runtime/perstack-runtime.js",
        "RUN chmod a+r /opt/perstack/runtime/perstack-runtime.js",
        "USER 1000:1000",
        "",
      ].join("\n"),
    )
    await exec(
      docker(),
      ["build", "--quiet", "--label", "ai.perstack.test-fixture=1", "-t", image, context],
      {
        env: { ...process.env, DOCKER_BUILDKIT: "1" },
      },
    )
    return image
  } finally {
    await rm(context, { recursive: true, force: true })
  }
}

export async function removeFixtureImage(image: string): Promise<void> {
  await exec(docker(), ["image", "rm", "--force", image]).catch(() => undefined)
}
