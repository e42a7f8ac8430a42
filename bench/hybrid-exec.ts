/**
 * The host side of a whole node on this host, which has no IPVS, no `dummy` links and no
 * `xt_ipvs`: every command runs for real in the fixture namespace except what the kernel here
 * cannot do, which goes to the semantic fakes (src/apply/ipvs/fake.ts, sysctl/fake.ts):
 *
 * - `ipvsadm …` and the conntrack batch → FakeIpvsadm / FakeConntrack (in memory), except the
 *   IPVS probe `ipvsadm -Ln` (a host with IPVS has /proc/net/ip_vs and runs no probe: answered
 *   empty at once);
 * - `sysctl` keys under `net/ipv4/vs/` → FakeSysctl (the others read and written for real,
 *   one real call; the two outputs joined);
 * - `ip -batch` text creating a `dummy` link creates a `bridge` instead, and the `ip -d -j
 *   addr show` dump reports that link's kind back as `dummy`;
 * - `iptables-restore` text with `-m ipvs ARGS` loads `-m comment --comment "ipvs:ARGS"`
 *   instead, and the saves print it back as `-m ipvs ARGS`.
 *
 * The rewrites are string replaces on the few lines concerned; their cost is charged to ours.
 * Bench only: the proxy's tables sync exactly as on a host with IPVS, minus the kernel's IPVS
 * work itself (which the qemu VM rows measure).
 */
import type { Exec, ExecResult } from "../src/apply/exec.ts";
import { fakeExec } from "../src/apply/fake.ts";
import { FakeConntrack, FakeIpvsadm } from "../src/apply/ipvs/fake.ts";
import { FakeSysctl } from "../src/apply/sysctl/fake.ts";
import { KUBE_DUMMY_IF } from "../src/model/names.ts";

const VS_SYSCTLS: Readonly<Record<string, string>> = {
  "net/ipv4/vs/conntrack": "0",
  "net/ipv4/vs/expire_nodest_conn": "0",
  "net/ipv4/vs/expire_quiescent_template": "0",
  "net/ipv4/vs/conn_reuse_mode": "1",
  "net/ipv4/vs/sloppy_tcp": "0",
};

const isVsKey = (a: string): boolean => /^net[./]ipv4[./]vs[./]/.test(a);
const DUMMY_KIND = new RegExp(`("ifname":"${KUBE_DUMMY_IF}"[^]*?"info_kind":)"bridge"`);

/** `base` (real, in the fixture) with the IPVS-less kernel's gaps filled by fakes (see above). */
export function hybridExec(base: Exec): Exec & { readonly ipvs: FakeIpvsadm } {
  const ipvs = new FakeIpvsadm();
  const fakes = fakeExec(ipvs, new FakeConntrack(), new FakeSysctl(VS_SYSCTLS));
  return {
    ipvs,
    async run(cmd, args, o = {}): Promise<ExecResult> {
      // host-facts.ts probes IPVS with `ipvsadm -Ln` only where /proc/net/ip_vs is missing (here);
      // a host with IPVS has the file and runs nothing: so this probe is answered at once
      if (cmd === "ipvsadm" && args.length === 1 && args[0] === "-Ln") return { code: 0, stdout: "", stderr: "" };
      if (cmd === "ipvsadm" || (cmd === "sh" && args.join(" ").includes("conntrack"))) return fakes.run(cmd, args, o);
      if (cmd === "sysctl") {
        const flags = args.filter((a) => a.startsWith("-"));
        const vs = args.filter((a) => !a.startsWith("-") && isVsKey(a));
        const rest = args.filter((a) => !a.startsWith("-") && !isVsKey(a));
        if (vs.length === 0) return base.run(cmd, args, o);
        const f = await fakes.run(cmd, [...flags, ...vs], o);
        if (rest.length === 0) return f;
        const r = await base.run(cmd, [...flags, ...rest], o);
        return { ...r, stdout: r.stdout + f.stdout, stderr: r.stderr + f.stderr };
      }
      if (cmd === "ip" && o.stdin !== undefined) return base.run(cmd, args, { ...o, stdin: o.stdin.replace(/ type dummy\b/g, " type bridge") });
      if (cmd === "ip" && args.includes("addr") && args.includes("-d")) {
        const r = await base.run(cmd, args, o);
        return r.stdout.includes(`"ifname":"${KUBE_DUMMY_IF}"`) ? { ...r, stdout: r.stdout.replace(DUMMY_KIND, '$1"dummy"') } : r;
      }
      if (/^ip6?tables.*-restore$/.test(cmd) && o.stdin !== undefined) {
        return base.run(cmd, args, { ...o, stdin: o.stdin.replace(/-m ipvs ((?:--v\w+ \S+ ?)+)/g, (_m, a: string) => `-m comment --comment "ipvs:${a.trim()}" `) });
      }
      if (/^ip6?tables.*-save$/.test(cmd)) {
        const r = await base.run(cmd, args, o);
        return r.stdout.includes('"ipvs:') ? { ...r, stdout: r.stdout.replace(/-m comment --comment "ipvs:([^"]*)"/g, "-m ipvs $1") } : r;
      }
      return base.run(cmd, args, o);
    },
  };
}
