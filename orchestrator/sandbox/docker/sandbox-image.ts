// The image a sandbox runs: perstack/sandbox at this product's version, so an image of another version is never
// used by mistake. Present in the engine, or the run does not start.
import type Docker from "dockerode"
import { RUNTIME_VERSION } from "../../../runtime/version.ts"
import { imageMissing } from "./docker-errors.ts"

export const DEFAULT_SANDBOX_IMAGE = `perstack/sandbox:${RUNTIME_VERSION}`

/** Throws `docker.imageMissing`, saying how to build it; never pulls (the image is built, not fetched). */
export async function checkImage(docker: Docker, image: string): Promise<void> {
  try {
    await docker.getImage(image).inspect()
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) {
      throw imageMissing(image, image === DEFAULT_SANDBOX_IMAGE)
    }
    throw error
  }
}
