// Entry point of the `perstack` binary: Node's compile cache on, then the process itself (process-main.ts) loaded.
import module from "node:module"
import path from "node:path"
import { perstackCacheDir } from "../sandbox/local/empty-file.ts"

// The user's own cache folder, not the shared temp folder: what is compiled there is the code this CLI runs next.
// Isolated sandboxes cannot write it (their home is empty); a cache that cannot be made only makes the start slower.
module.enableCompileCache?.(path.join(perstackCacheDir(), "compile-cache", "cli"))
await import("./process-main.ts")
