// The real single-node cluster of scripts/k8s (kube-apiserver, etcd, the Job, garbage-collector and TTL
// controllers, kube-scheduler and a kubelet running pods on the local Docker engine), for the e2e tests: started
// once per test file if it is not already up, and stopped (host left as found) if the file started it. The
// project's own k8s/base is applied, and the backend talks to the API as its ServiceAccount (the Role's verbs,
// nothing more).
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { chown, mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { homedir } from "node:os"
import path from "node:path"
import { promisify } from "node:util"
import { KubeConfig } from "@kubernetes/client-node"

const exec = promisify(execFile)
const repo = path.resolve(import.meta.dirname, "../..")
const STATE = process.env.PERSTACK_K8S_STATE ?? "/tmp/perstack-k8s"

export interface Cluster {
  /** what `scripts/k8s/up.sh` prints: KUBECONFIG (admin), the namespace, the claim, the gateway host */
  env: Record<string, string>
  /** the ServiceAccount's kubeconfig (k8s/base's Role) */
  kubeconfigFile: string
  kubeConfig: KubeConfig
  kubectl(...args: string[]): Promise<string>
  /** a workspace inside the claim's folder, owned by the pods' user */
  workspace(): Promise<{ dir: string; [Symbol.asyncDispose](): Promise<void> }>
  stop(): Promise<void>
}

/** Why the cluster cannot run here, or undefined when it can (binaries built, root, Docker). */
export function clusterUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "the test cluster's kubelet needs root"
  const cache = process.env.PERSTACK_CACHE ?? path.join(homedir(), ".cache/perstack")
  if (!existsSync(path.join(cache, "k8s")))
    return `no cluster binaries in ${cache}/k8s: run scripts/k8s/build.sh (~7-24 min, once)`
  return undefined
}

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const match of text.matchAll(/^export (\w+)=(.*)$/gm)) env[match[1] as string] = match[2] as string
  return env
}

export async function startCluster(): Promise<Cluster> {
  const wasUp = existsSync(path.join(STATE, "apiserver.pid"))
  const up = await exec("bash", [path.join(repo, "scripts/k8s/up.sh")], { maxBuffer: 16 * 1024 * 1024 })
  const env = parseEnv(up.stdout)
  const kubectl = async (...args: string[]) =>
    (
      await exec(env.PERSTACK_KUBECTL as string, args, {
        env: { ...process.env, KUBECONFIG: env.KUBECONFIG },
      })
    ).stdout
  await kubectl("apply", "-k", path.join(repo, "k8s/base"))
  // The ServiceAccount's token (1.20's token controller writes it into a Secret of its own).
  let token = ""
  for (let attempt = 0; attempt < 100 && !token; attempt++) {
    const secret = await kubectl(
      "-n",
      env.PERSTACK_K8S_NAMESPACE as string,
      "get",
      "serviceaccount",
      "perstack",
      "-o",
      "jsonpath={.secrets[0].name}",
    )
    if (secret) {
      token = Buffer.from(
        await kubectl(
          "-n",
          env.PERSTACK_K8S_NAMESPACE as string,
          "get",
          "secret",
          secret,
          "-o",
          "jsonpath={.data.token}",
        ),
        "base64",
      ).toString("utf8")
    }
    if (!token) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  if (!token) throw new Error("the perstack ServiceAccount got no token")
  const admin = await readFile(env.KUBECONFIG as string, "utf8")
  const kubeconfigFile = path.join(STATE, "perstack-sa.kubeconfig")
  await writeFile(
    kubeconfigFile,
    admin.replace(/users: .*/, `users: [{name: admin, user: {token: "${token}"}}]`),
    { mode: 0o600 },
  )
  const kubeConfig = new KubeConfig()
  kubeConfig.loadFromFile(kubeconfigFile)
  return {
    env,
    kubeconfigFile,
    kubeConfig,
    kubectl,
    async workspace() {
      const dir = await mkdtemp(path.join(env.PERSTACK_K8S_CLAIM_MOUNT as string, "ws-"))
      await chown(dir, 1000, 1000)
      return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) }
    },
    async stop() {
      if (!wasUp || process.env.CI) await exec("bash", [path.join(repo, "scripts/k8s/down.sh")])
    },
  }
}
