/**
 * The Kubernetes API server double for tests: `startApiDouble()` gives a listening double and a
 * kubeconfig file for it; `reserveApiDouble()` gives one whose port is fixed but which is not
 * listening yet (the "API server down at start" case). `dispose()` stops it and removes files.
 */
import { createServer } from "node:net";
import { kubeconfigText, tempDir, type TempDir } from "./kubeconfig.ts";
import { ApiServerDouble, type DoubleOptions } from "./server.ts";

export { ALL_VERBS, ApiServerDouble, type DoubleOptions, type RequestRecord, type Verb } from "./server.ts";
export { mergePatch } from "./write.ts";
export { RESOURCES, type ResourceName } from "./resources.ts";
export type { KubeObject } from "./store.ts";
export { kubeconfigText, tempDir, type TempDir } from "./kubeconfig.ts";
export * from "./objects.ts";

export interface DoubleHandle {
  readonly api: ApiServerDouble;
  /** A kubeconfig file pointing at the double. */
  readonly kubeconfig: string;
  readonly dir: TempDir;
  /** Closes the double and removes its files. */
  dispose(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (listen on 0, read, close). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** A double on a fixed free port, not listening yet, with its kubeconfig written. */
export async function reserveApiDouble(opts: DoubleOptions = {}): Promise<DoubleHandle> {
  const api = new ApiServerDouble(await freePort(), opts);
  const dir = tempDir();
  const kubeconfig = dir.write("kubeconfig", kubeconfigText(api.url));
  return {
    api, kubeconfig, dir,
    dispose: async () => {
      await api.close();
      dir.remove();
    },
  };
}

/** A listening double with its kubeconfig written. */
export async function startApiDouble(opts: DoubleOptions = {}): Promise<DoubleHandle> {
  const h = await reserveApiDouble(opts);
  await h.api.listen();
  return h;
}
export { eventually, sleep } from "./wait.ts";
