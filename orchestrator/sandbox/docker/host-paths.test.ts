import { describe, expect, it } from "vitest"
import { containerIdsInMountinfo } from "./host-paths.ts"

const id = "85bc4c17797e81b803e65434cb85774afa7217edbbd767c2754e5063c059b5fa"
const other = "48f5bb3b5fdf0ccb274adce63dfc74a72cce2c2440e196787e81aa6be0d57466"

describe("containerIdsInMountinfo", () => {
  it("finds the container whose /etc/hostname, /etc/hosts and /etc/resolv.conf Docker mounted", () => {
    const inside = [
      `223 206 254:0 /var/lib/docker/containers/${id}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda rw`,
      `224 206 254:0 /var/lib/docker/containers/${id}/hostname /etc/hostname rw,relatime - ext4 /dev/vda rw`,
      `225 206 254:0 /var/lib/docker/containers/${id}/hosts /etc/hosts rw,relatime - ext4 /dev/vda rw`,
    ].join("\n")
    expect(containerIdsInMountinfo(inside)).toEqual([id])
  })

  it("ignores other containers' mounts seen from the host (a pod's shared /dev/shm)", () => {
    const host = `81 42 0:42 / /var/lib/docker/containers/${other}/mounts/shm rw,nosuid - tmpfs shm rw,size=65536k`
    expect(containerIdsInMountinfo(host)).toEqual([])
  })
})
