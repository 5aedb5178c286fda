// The product's version, reported in `initializeRuntime` and `perstack --version`.
export const RUNTIME_VERSION = "0.1.0"
