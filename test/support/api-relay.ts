/**
 * Test support: an API server on this process's loopback made reachable from inside network
 * namespaces without touching any host interface or route: netns 127.0.0.1:`nsPort` → a relay
 * process in that netns → a unix socket (path-based unix sockets are not network-namespaced)
 * → this process → 127.0.0.1:`apiPort`. TLS passes through untouched. `close()` kills the
 * relay processes it started (by pid) and closes the socket.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { type Server, connect, createServer } from "node:net";

export interface ApiRelay {
  /** Starts the in-netns end for `ns` (resolves once it listens on 127.0.0.1:`nsPort`). */
  into(ns: string, nsPort: number): Promise<void>;
  close(): Promise<void>;
}

/** Listens on the unix socket `sock` and forwards each connection to 127.0.0.1:`apiPort`. */
export async function apiRelay(sock: string, apiPort: number): Promise<ApiRelay> {
  const srv: Server = createServer((c) => {
    const u = connect(apiPort, "127.0.0.1");
    c.pipe(u).pipe(c);
    c.on("error", () => u.destroy());
    u.on("error", () => c.destroy());
    c.on("close", () => u.destroy());
    u.on("close", () => c.destroy());
  });
  await new Promise<void>((resolve) => srv.listen(sock, () => resolve()));
  const procs: ChildProcess[] = [];
  return {
    async into(ns, nsPort) {
      const code = `const net=require("net");net.createServer(c=>{const u=net.connect(${JSON.stringify(sock)});c.pipe(u).pipe(c);` +
        `for(const [a,b] of [[c,u],[u,c]]){a.on("error",()=>b.destroy());a.on("close",()=>b.destroy());}}).listen(${nsPort},"127.0.0.1",()=>console.log("ready"));`;
      const p = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
      procs.push(p);
      await new Promise<void>((resolve, reject) => {
        p.stdout!.once("data", () => resolve());
        p.once("exit", (c) => reject(new Error(`netns relay in ${ns} exited with ${c}`)));
      });
    },
    async close() {
      for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}
