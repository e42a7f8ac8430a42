/**
 * The fixed conformance topology, in network namespaces this file creates and always deletes:
 *
 *   fabric netns `krt-np-<pid>-fab`: bridge br0
 *   node netns   `krt-np-<pid>-n<N>` (N = 1..3): eth0 10.250.0.1N/24 on br0, ip_forward=1,
 *                `kube-bridge` with the pod gateway 10.244.N.1/24, static routes to the other
 *                nodes' pod CIDRs (the router is not run, so the test installs them), ICMP error
 *                rate limits off (so a burst of REJECTed probes all fail fast)
 *   pod netns    `krt-np-<pid>-<ns>-<pod>`: eth0 behind kube-bridge of its node, default route
 *                via the gateway; one long-lived pod-agent.mjs serving TCP+UDP 80/81 and probing
 *                (each node netns runs one too, to probe its local pods from the node)
 *
 * Kubernetes namespaces x, y, z × pods a, b, c; each node hosts one pod of each namespace, so
 * every namespace pair has both same-node and cross-node traffic. Pod IP: 10.244.<node>.<10·ns+pod>
 * (x=1, y=2, z=3; a=1, b=2, c=3), e.g. x/a = 10.244.1.11, y/b = 10.244.3.22.
 *
 * Dual-stack (`new Topology({ ipv6: true })`, netns names `krt-np-<pid>-ds-…`) adds IPv6 to all
 * of it: nodes fd00:250::1N/64, pod CIDRs fd00:10:244:N::/64 (gateway ::1), pod IPs
 * fd00:10:244:<node>::<10·ns+pod>, IPv6 forwarding and routes; pods also serve on IPv6.
 *
 * Nothing here touches the host's own network: every link is created from inside a test netns.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";

export const NAMESPACES = ["x", "y", "z"] as const;
export const PODS = ["a", "b", "c"] as const;
export const NODES = [1, 2, 3] as const;
export type Ns = (typeof NAMESPACES)[number];
export type PodName = (typeof PODS)[number];
export type NodeNum = (typeof NODES)[number];
/** A pod as `ns/pod`, e.g. `x/a`. */
export type PodId = `${Ns}/${PodName}`;
export const ALL_PODS: readonly PodId[] = NAMESPACES.flatMap((ns) => PODS.map((p) => `${ns}/${p}` as PodId));

/** Which node each pod runs on: one pod of every namespace per node. */
export const NODE_OF: Readonly<Record<PodId, NodeNum>> = {
  "x/a": 1, "x/b": 2, "x/c": 3,
  "y/a": 2, "y/b": 3, "y/c": 1,
  "z/a": 3, "z/b": 1, "z/c": 2,
};

export const nodeName = (n: NodeNum) => `node-${n}`;
export const nodeIp = (n: NodeNum) => `10.250.0.1${n}`;
export const podCidr = (n: NodeNum) => `10.244.${n}.0/24`;
/** The pod's IP: 10.244.<node>.<10·ns+pod>. */
export function podIp(id: PodId): string {
  return `10.244.${NODE_OF[id]}.${podHost(id)}`;
}
const podHost = (id: PodId) => {
  const [ns, pod] = id.split("/") as [Ns, PodName];
  return 10 * (NAMESPACES.indexOf(ns) + 1) + PODS.indexOf(pod) + 1;
};
export const nodeIp6 = (n: NodeNum) => `fd00:250::1${n}`;
export const podCidr6 = (n: NodeNum) => `fd00:10:244:${n}::/64`;
/** The pod's IPv6 address (dual-stack topology): fd00:10:244:<node>::<10·ns+pod>. */
export function podIp6(id: PodId): string {
  return `fd00:10:244:${NODE_OF[id]}::${podHost(id)}`;
}

/** The probed port/protocols over IPv4 … */
export const PROBES = ["tcp/80", "tcp/81", "udp/80", "udp/81"] as const;
/** … and over IPv6 (dual-stack topology only). */
export const PROBES6 = ["tcp6/80", "tcp6/81", "udp6/80", "udp6/81"] as const;
export const ALL_PROBES = [...PROBES, ...PROBES6] as const;
export type Probe = (typeof ALL_PROBES)[number];

/** Result of one probe. `how` is "connected"/"reply" or why it failed ("ECONNREFUSED", "timeout", …). */
export interface ProbeResult {
  readonly ok: boolean;
  readonly how: string;
  readonly tries: number;
  readonly ms: number;
}
/** One probe's matrix: from → to → result. */
export type Matrix = Record<PodId, Record<PodId, ProbeResult>>;
/** Observed reachability: probe → from → to → result, for the probes that were run. */
export type Observed = Partial<Record<Probe, Matrix>>;

const AGENT = join(import.meta.dirname, "pod-agent.mjs");

/**
 * Probe timeouts (ms): first try, then the one retry after a timeout. TCP over IPv6 tries
 * first for a shorter time: the kernel drops the ICMPv6 error a REJECT sends for the first SYN
 * (it arrives while connect() still holds the socket), so a rejected IPv6 connect only fails at
 * the SYN retransmission, ~1 s later; the short first try makes that ~1.25 s instead of 1.7 s.
 */
export const PROBE_TIMEOUTS = { t1: 700, t1Tcp6: 250, t2: 2500 } as const;

function run(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}
/** Runs a shell script inside a namespace; throws with its stderr on failure. */
export function nsRun(ns: string, script: string): string {
  try {
    return run("ip", ["netns", "exec", ns, "sh", "-ec", script]);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`in ${ns}: ${script.split("\n")[0]}…: ${err.stderr || err.message}`);
  }
}

/** A long-lived pod-agent.mjs process (in a pod netns, or in a node netns to probe its pods). */
class PodAgent {
  private nextId = 1;
  private readonly pending = new Map<number, (r: ProbeResult) => void>();
  private exited = false;
  readonly ready: Promise<void>;

  constructor(readonly id: string, readonly proc: ChildProcessWithoutNullStreams) {
    let stderr = "";
    proc.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    const lines = createInterface({ input: proc.stdout });
    this.ready = new Promise((resolve, reject) => {
      proc.once("exit", (code) => {
        this.exited = true;
        const err = new Error(`pod agent ${id} exited (${code}): ${stderr.trim()}`);
        reject(err);
        for (const [, done] of this.pending) done({ ok: false, how: `agent exited: ${stderr.trim()}`, tries: 0, ms: 0 });
        this.pending.clear();
      });
      lines.on("line", (line) => {
        const msg = JSON.parse(line) as { ready?: boolean; id?: number } & ProbeResult;
        if (msg.ready) return resolve();
        const done = msg.id !== undefined ? this.pending.get(msg.id) : undefined;
        if (!done) return;
        this.pending.delete(msg.id!);
        done({ ok: msg.ok, how: msg.how, tries: msg.tries, ms: msg.ms });
      });
    });
    this.ready.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
  }

  probe(to: string, probe: Probe): Promise<ProbeResult> {
    if (this.exited) return Promise.resolve({ ok: false, how: "agent exited", tries: 0, ms: 0 });
    const [kind, port] = probe.split("/") as [string, string];
    const proto = kind.startsWith("udp") ? "udp" : "tcp";
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      const t1 = kind === "tcp6" ? PROBE_TIMEOUTS.t1Tcp6 : PROBE_TIMEOUTS.t1;
      this.proc.stdin.write(`${JSON.stringify({ id, to, port: Number(port), proto, t1, t2: PROBE_TIMEOUTS.t2 })}\n`);
    });
  }

  stop(): void {
    if (this.exited || this.proc.pid === undefined) return;
    try { process.kill(this.proc.pid, "SIGKILL"); } catch { /* already gone */ }
  }
}

/** The target address of a probe: IPv6 for the `…6/…` probes. */
const target = (id: PodId, probe: Probe) => (probe.includes("6/") ? podIp6(id) : podIp(id));

/** The built topology: namespace names and the pod agents. Call `destroy()` whatever happens. */
export class Topology {
  readonly ipv6: boolean;
  readonly prefix: string;
  get fabric(): string { return `${this.prefix}-fab`; }
  readonly created: string[] = [];
  private readonly agents = new Map<PodId, PodAgent>();
  private readonly nodeAgents = new Map<NodeNum, PodAgent>();
  private destroyed = false;
  private readonly onExit = () => this.destroy();
  private readonly onSignal = (sig: NodeJS.Signals) => {
    this.destroy();
    process.exit(sig === "SIGINT" ? 130 : 143);
  };

  constructor(opts: { readonly ipv6?: boolean } = {}) {
    this.ipv6 = opts.ipv6 ?? false;
    this.prefix = `krt-np-${process.pid}${this.ipv6 ? "-ds" : ""}`;
  }

  /** The probes this topology can run: IPv4, plus IPv6 when dual-stack. */
  get probes(): readonly Probe[] { return this.ipv6 ? ALL_PROBES : PROBES; }

  nodeNs(n: NodeNum): string { return `${this.prefix}-n${n}`; }
  podNs(id: PodId): string { return `${this.prefix}-${id.replace("/", "-")}`; }

  /** Creates every namespace, link, address and route, then starts the nine pod agents. */
  async build(): Promise<void> {
    process.once("exit", this.onExit);
    process.once("SIGINT", this.onSignal);
    process.once("SIGTERM", this.onSignal);
    const add = (ns: string) => {
      run("ip", ["netns", "add", ns]);
      this.created.push(ns);
      run("ip", ["-n", ns, "link", "set", "lo", "up"]);
    };
    add(this.fabric);
    nsRun(this.fabric, "ip link add br0 type bridge; ip link set br0 up");
    for (const n of NODES) {
      const ns = this.nodeNs(n);
      add(ns);
      const routes = NODES.filter((m) => m !== n).map((m) => `ip route add ${podCidr(m)} via ${nodeIp(m)}`).join("\n");
      // The veth is created from inside the fabric netns, its peer moved straight into the node.
      nsRun(this.fabric, `ip link add h${n} type veth peer name eth0 netns ${ns}; ip link set h${n} master br0 up`);
      nsRun(ns, `
ip addr add ${nodeIp(n)}/24 dev eth0
ip link set eth0 up
ip link add kube-bridge type bridge
ip addr add 10.244.${n}.1/24 dev kube-bridge
ip link set kube-bridge up
echo 1 > /proc/sys/net/ipv4/ip_forward
# REJECT answers with ICMP errors; the kernel rate-limits those per destination (6 at once,
# then 1/s), which would turn most of a burst of rejected probes into timeouts.
echo 0 > /proc/sys/net/ipv4/icmp_ratelimit
echo 100000 > /proc/sys/net/ipv4/icmp_msgs_per_sec
echo 10000 > /proc/sys/net/ipv4/icmp_msgs_burst
[ ! -e /proc/sys/net/bridge/bridge-nf-call-iptables ] || echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables
${routes}`);
      if (this.ipv6) {
        const routes6 = NODES.filter((m) => m !== n).map((m) => `ip -6 route add ${podCidr6(m)} via ${nodeIp6(m)}`).join("\n");
        nsRun(ns, `
echo 1 > /proc/sys/net/ipv6/conf/all/forwarding
echo 0 > /proc/sys/net/ipv6/icmp/ratelimit
[ ! -e /proc/sys/net/bridge/bridge-nf-call-ip6tables ] || echo 1 > /proc/sys/net/bridge/bridge-nf-call-ip6tables
ip -6 addr add ${nodeIp6(n)}/64 dev eth0 nodad
ip -6 addr add fd00:10:244:${n}::1/64 dev kube-bridge nodad
${routes6}`);
      }
    }
    for (const id of ALL_PODS) {
      const ns = this.podNs(id);
      const n = NODE_OF[id];
      const host = `v${id.replace("/", "")}`;
      add(ns);
      nsRun(this.nodeNs(n), `ip link add ${host} type veth peer name eth0 netns ${ns}; ip link set ${host} master kube-bridge up`);
      nsRun(ns, `ip addr add ${podIp(id)}/24 dev eth0; ip link set eth0 up; ip route add default via 10.244.${n}.1`);
      if (this.ipv6) nsRun(ns, `ip -6 addr add ${podIp6(id)}/64 dev eth0 nodad; ip -6 route add default via fd00:10:244:${n}::1`);
    }
    const start = (ns: string, label: string) =>
      new PodAgent(label, spawn("ip", ["netns", "exec", ns, process.execPath, AGENT, ...(this.ipv6 ? ["--ipv6"] : [])], { stdio: ["pipe", "pipe", "pipe"] }));
    for (const id of ALL_PODS) this.agents.set(id, start(this.podNs(id), id));
    for (const n of NODES) this.nodeAgents.set(n, start(this.nodeNs(n), nodeName(n)));
    await Promise.all([...this.agents.values(), ...this.nodeAgents.values()].map((a) => a.ready));
    // Warm-up: a burst of first packets to a neighbour not yet resolved (IPv6 ND on the fabric
    // especially) loses some of them; probe until the open topology answers everywhere (the
    // harness tests then check it really does).
    for (let round = 0; round < 5; round++) {
      const seen = await this.probeAll();
      if (Object.values(seen).every((m) => Object.values(m).every((row) => Object.values(row).every((r) => r.ok)))) break;
    }
  }

  /** Probes the full 9×9 matrix for every port/protocol (and family), all concurrently. */
  async probeAll(): Promise<Observed> {
    const jobs: Promise<void>[] = [];
    const out: Observed = {};
    for (const probe of this.probes) {
      const matrix = {} as Matrix;
      out[probe] = matrix;
      for (const from of ALL_PODS) {
        const row = (matrix[from] = {} as Record<PodId, ProbeResult>);
        const agent = this.agents.get(from)!;
        for (const to of ALL_PODS) jobs.push(agent.probe(target(to, probe), probe).then((r) => { row[to] = r; }));
      }
    }
    await Promise.all(jobs);
    return out;
  }

  /** Each node probes its own (local) pods on every port/protocol: node → pod → probe → result. */
  async probeLocalPods(): Promise<Record<NodeNum, Partial<Record<PodId, Partial<Record<Probe, ProbeResult>>>>>> {
    const out = {} as Record<NodeNum, Partial<Record<PodId, Partial<Record<Probe, ProbeResult>>>>>;
    const jobs: Promise<void>[] = [];
    for (const n of NODES) {
      out[n] = {};
      for (const id of ALL_PODS.filter((p) => NODE_OF[p] === n)) {
        const row: Partial<Record<Probe, ProbeResult>> = (out[n][id] = {});
        for (const probe of this.probes) jobs.push(this.nodeAgents.get(n)!.probe(target(id, probe), probe).then((r) => { row[probe] = r; }));
      }
    }
    await Promise.all(jobs);
    return out;
  }

  /** Kills the agents (by pid) and deletes every namespace created; idempotent, never throws. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.removeListener("exit", this.onExit);
    process.removeListener("SIGINT", this.onSignal);
    process.removeListener("SIGTERM", this.onSignal);
    for (const a of [...this.agents.values(), ...this.nodeAgents.values()]) a.stop();
    for (const ns of [...this.created].reverse()) {
      try { execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" }); } catch { /* already gone */ }
    }
  }
}
