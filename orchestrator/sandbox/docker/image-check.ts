// Whether the engine holds a sandbox's image: present, or the run does not start (the image is built, not pulled).
import type Docker from "dockerode"
import { DEFAULT_SANDBOX_IMAGE } from "../container/sandbox-image.ts"
import { imageMissing } from "./docker-errors.ts"

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
