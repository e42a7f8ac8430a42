/**
 * Test support: makes an API server double listening on 127.0.0.1 of the test's own namespace
 * reachable at 127.0.0.1:`nsPort` inside a node netns, without any host interface or route:
 * netns 127.0.0.1:nsPort → relay process in the netns → unix socket (path-based unix sockets
 * are not network-namespaced) → this process → the double's port.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { type Server, connect, createServer } from "node:net";
import { join } from "node:path";

export interface NsApiRelay {
  /** Stops the relay process and closes the unix socket server. */
  close(): Promise<void>;
}

/** Joins two sockets both ways; either closing or failing closes the other. */
function splice(a: import("node:net").Socket, b: import("node:net").Socket): void {
  a.pipe(b).pipe(a);
  for (const [x, y] of [[a, b], [b, a]] as const) {
    x.on("error", () => y.destroy());
    x.on("close", () => y.destroy());
  }
}

/** Starts the relay (socket file in `dir`); resolves once the netns side listens. */
export async function startNsApiRelay(ns: string, dir: string, apiPort: number, nsPort: number): Promise<NsApiRelay> {
  const sock = join(dir, `api-${nsPort}.sock`);
  const unix: Server = await new Promise((resolve) => {
    const srv = createServer((c) => splice(c, connect(apiPort, "127.0.0.1")));
    srv.listen(sock, () => resolve(srv));
  });
  const code = `const net=require("net");net.createServer(c=>{const u=net.connect(${JSON.stringify(sock)});c.pipe(u).pipe(c);` +
    `for(const [a,b] of [[c,u],[u,c]]){a.on("error",()=>b.destroy());a.on("close",()=>b.destroy());}}).listen(${nsPort},"127.0.0.1",()=>console.log("ready"));`;
  const proc: ChildProcess = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.once("data", () => resolve());
    proc.once("exit", (c) => reject(new Error(`netns relay exited with ${c}`)));
  });
  return {
    close: async () => {
      if (proc.exitCode === null) proc.kill("SIGKILL");
      await new Promise<void>((r) => unix.close(() => r()));
    },
  };
}
