/**
 * The in-pod half of DSR (kube-router-features.md §3.7), as upstream does it: for each local
 * endpoint pod of a `kube-router.io/service.dsr: tunnel` Service, enter the pod's network
 * namespace (found through the container runtime: the container's PID) and there make an
 * ipip tunnel `kube-tunnel-if` (IPv6: ip6tnl `kube-tunnel-v6`) with local = the pod IP, up,
 * holding the VIP, with rp_filter 0 on it, on eth0 and on all — so the pod accepts the
 * IPVS-tunnelled packet for the VIP and answers the client directly.
 *
 * Split in a pure part (`podTunnelScript`: the exact commands for one pod) and an effectful
 * one (`reconcileDsrPods`: ask the runtime for the PID, run the commands with `nsenter`).
 * Runtimes: CRI through `crictl --runtime-endpoint <--runtime-endpoint> inspect` (`info.pid`),
 * Docker through `docker inspect` (`State.Pid`) for `docker://` container IDs. Both behind
 * `ContainerRuntime`, so tests use a fake. Never throws: each pod's failure is one error line
 * naming the pod; other pods are still done. Idempotent: the tunnel link is created only
 * when `ip link show` in the pod says it is missing, the address is `replace`d.
 *
 * `dsrDriver` makes this the table `dsrTunnels`: observe reports the tunnels this agent set
 * up (per pod, pod IP, VIP and container: a restarted container is a new row, so it is set up
 * again); reading every pod's namespace each sync would cost one process per pod. A tunnel
 * no longer wanted is forgotten, not torn down (upstream leaves it too: the pod's namespace
 * goes with the pod, and a VIP left on a tunnel link receives nothing once IPVS stops).
 *
 * @category apply
 */
import type { NodePlan } from "../../model/plan.ts";
import { type DsrTunnel, type NodeState, dsrTunnelKey } from "../../model/state.ts";
import { sortedTable } from "../../model/table.ts";
import { type Driver, ORDER, type Script } from "../driver.ts";
import type { Exec } from "../exec.ts";

/** One wanted tunnel (the proxy render's `dsrTunnels` table). */
export type DsrPodTunnel = DsrTunnel;

export interface ContainerRuntime {
  /** The PID of the container's init process (its network namespace is the pod's). */
  pidOf(containerId: string): Promise<number>;
}

/** `crictl` (CRI) for containerd/cri-o IDs, `docker` for `docker://` IDs. */
export function cliRuntime(exec: Exec, runtimeEndpoint: string): ContainerRuntime {
  return {
    async pidOf(containerId) {
      const [scheme, id] = containerId.includes("://") ? containerId.split("://") as [string, string] : ["", containerId];
      if (scheme === "docker") {
        const r = await exec.run("docker", ["inspect", "-f", "{{.State.Pid}}", id]);
        return positivePid(r.stdout.trim(), containerId);
      }
      const args = [...(runtimeEndpoint ? ["--runtime-endpoint", runtimeEndpoint] : []), "inspect", "-o", "json", id];
      const r = await exec.run("crictl", args);
      const pid = (JSON.parse(r.stdout) as { info?: { pid?: number } }).info?.pid;
      return positivePid(String(pid ?? ""), containerId);
    },
  };
}

function positivePid(text: string, id: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`no running process for container ${id} (pid "${text}")`);
  return n;
}

export const TUNNEL_IF = { ipv4: "kube-tunnel-if", ipv6: "kube-tunnel-v6" } as const;

/** The batch run in the pod's netns (`ip -batch`), and the sysctls set there. Pure. */
export function podTunnelScript(t: DsrPodTunnel, linkExists: boolean): { ipBatch: string; sysctls: string[] } {
  const dev = TUNNEL_IF[t.family];
  const lines = [
    ...(linkExists ? [] : [t.family === "ipv4" ? `link add ${dev} type ipip local ${t.podIp}` : `link add ${dev} type ip6tnl mode ipip6 local ${t.podIp}`]),
    `link set ${dev} up`,
    `address replace ${t.vip}/${t.family === "ipv4" ? 32 : 128} dev ${dev}`,
  ];
  const sysctls = t.family === "ipv4"
    ? [`net.ipv4.conf.${dev}.rp_filter=0`, "net.ipv4.conf.eth0.rp_filter=0", "net.ipv4.conf.all.rp_filter=0"]
    : [];
  return { ipBatch: `${lines.join("\n")}\n`, sysctls };
}

/** Sets every wanted tunnel up; returns the pods done and one error line per pod that failed. */
export async function reconcileDsrPods(exec: Exec, runtime: ContainerRuntime, wanted: readonly DsrPodTunnel[]): Promise<{ done: string[]; errors: string[] }> {
  const done: string[] = [];
  const errors: string[] = [];
  for (const t of wanted) {
    const what = `DSR tunnel for ${t.vip} in pod ${t.pod}`;
    if (t.containerId === undefined) { errors.push(`${what}: the pod has no container ID yet`); continue; }
    try {
      const pid = await runtime.pidOf(t.containerId);
      const ns = ["-t", String(pid), "-n"];
      const show = await exec.run("nsenter", [...ns, "ip", "link", "show", TUNNEL_IF[t.family]], { okCodes: [1] });
      const script = podTunnelScript(t, show.code === 0);
      await exec.run("nsenter", [...ns, "ip", "-batch", "-"], { stdin: script.ipBatch, write: true });
      if (script.sysctls.length > 0) await exec.run("nsenter", [...ns, "sysctl", "-w", ...script.sysctls], { write: true });
      done.push(t.pod);
    } catch (e) {
      errors.push(`${what}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  return { done, errors };
}

/** The dry-run text for one tunnel: what runs in the pod's namespace. Pure. */
export function dsrTunnelText(t: DsrPodTunnel): string {
  const s = podTunnelScript(t, false);
  const enter = `nsenter -t $(pid of ${t.containerId ?? "?"}) -n`;
  return [`# pod ${t.pod} (${t.podIp}): VIP ${t.vip}`, `${enter} ip -batch - <<'EOF'`, `${s.ipBatch}EOF`, ...(s.sysctls.length > 0 ? [`${enter} sysctl -w ${s.sysctls.join(" ")}`] : [])].join("\n");
}

/** The DSR tunnel driver (see the module comment); `runtime` finds a container's PID. */
export function dsrDriver(runtime: (exec: Exec) => ContainerRuntime): Driver {
  const done = new Map<string, DsrTunnel>();
  return {
    name: "dsr",
    tables: ["dsrTunnels"],
    async observe(): Promise<Partial<NodeState>> {
      return { dsrTunnels: sortedTable(done) };
    },
    scripts(plan: NodePlan): Script[] {
      const gone = plan.dsrTunnels.flatMap((c) => (c.op === "delete" ? [c.key] : []));
      const wanted = plan.dsrTunnels.flatMap((c) => (c.op === "delete" ? [] : [c.after]));
      if (gone.length + wanted.length === 0) return [];
      const text = [...wanted.map(dsrTunnelText), ...gone.map((k) => `# forget ${k.split("|").slice(0, 3).join(" ")} (pod or VIP gone)`)].join("\n");
      return [{
        order: ORDER.inPod,
        title: "DSR tunnels inside pods",
        text: `${text}\n`,
        run: async (exec: Exec) => {
          for (const k of gone) done.delete(k);
          const r = await reconcileDsrPods(exec, runtime(exec), wanted);
          for (const t of wanted) if (r.done.includes(t.pod)) done.set(dsrTunnelKey(t), t);
          if (r.errors.length > 0) throw new Error(r.errors.join("; "));
        },
      }];
    },
  };
}
