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

/** Checks each image once per backend; a failed check is forgotten, so a run after `docker build` sees the image. */
export function imageChecks(): (docker: Docker, image: string) => Promise<void> {
  const images = new Map<string, Promise<void>>()
  return (docker, image) => {
    let checked = images.get(image)
    if (!checked) {
      checked = checkImage(docker, image)
      images.set(image, checked)
      checked.catch(() => images.delete(image))
    }
    return checked
  }
}
