// The docker backend's failures a user can fix, each saying how.
import { PerstackError } from "../../../runtime/errors/perstack-error.ts"

/** The engine did not answer: where we looked, and how to get one. */
export function dockerUnavailable(where: string, cause: unknown): PerstackError {
  const reason = cause instanceof Error ? cause.message : String(cause)
  return new PerstackError(
    "docker.unavailable",
    `cannot reach the Docker engine at ${where} (${reason}). Start Docker (e.g. \`sudo systemctl start docker\`, or \`scripts/docker-engine.sh\` from a Perstack checkout, which installs and starts Debian's engine), set DOCKER_HOST to the engine's address, or run without containers: --sandbox local`,
    { cause },
  )
}

/** The sandbox image is not in the engine (no registry is asked: a missing image is a build step not taken). */
export function imageMissing(image: string, isDefault: boolean): PerstackError {
  const fix = isDefault
    ? "build it from a Perstack checkout with `make images` (or `scripts/build-images.sh`), or `docker build -f sandbox-image/Dockerfile -t " +
      `${image} .\` after \`npm run build\``
    : `build or pull it (\`docker pull ${image}\`), or change [experts."<key>".sandbox] image; it must hold Node 22.22+ and the runtime at /opt/perstack/runtime (build it FROM perstack/sandbox)`
  return new PerstackError(
    "docker.imageMissing",
    `the sandbox image ${image} is not in the Docker engine: ${fix}`,
  )
}

/**
 * A run whose sandbox would have no network cannot reach its LLM (the gateway included: a container without
 * interfaces reaches nothing), so it is refused before it starts.
 */
export function networkNone(expertKey: string, llmUrl: string | undefined): PerstackError {
  return new PerstackError(
    "sandbox.networkNone",
    `Expert "${expertKey}" has [experts."${expertKey}".sandbox] network = "none": its container would have no network at all, so it could not reach the LLM${llmUrl ? ` at ${llmUrl}` : ""}. Use network = "gateway" (the default with the LLM gateway: the gateway and the skills' allowedDomains, nothing else) or "open" for this Expert`,
  )
}

/** network = "gateway" means "the LLM gateway only": without the gateway there is nothing it could reach. */
export function networkNeedsGateway(expertKey: string): PerstackError {
  return new PerstackError(
    "sandbox.networkNeedsGateway",
    `Expert "${expertKey}" has [experts."${expertKey}".sandbox] network = "gateway", but this job's LLM gateway is off (--no-gateway or gateway: false), so its locked-down container could reach no LLM. Turn the gateway on, or use network = "open" for this Expert`,
  )
}
