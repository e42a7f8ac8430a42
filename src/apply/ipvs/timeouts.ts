/**
 * IPVS global timeouts (`ipvsadm --set TCP TCPFIN UDP`): observe, scoped to what is desired,
 * and the one-command apply. A field desired as 0 is not managed: observe reports 0 for it
 * and `--set` passes 0, which makes the kernel keep its value.
 *
 * @category apply
 */
import type { NodePlan } from "../../model/plan.ts";
import { IPVS_TIMEOUTS_KEY, type IpvsTimeouts, type NodeState } from "../../model/state.ts";
import type { Script } from "../driver.ts";
import type { Exec } from "../exec.ts";

/** Order of the `--set` script: before the restore (new connections get the new timeouts). */
export const IPVS_TIMEOUTS_ORDER = 34;

/** Parses `ipvsadm -L --timeout` (`Timeout (tcp tcpfin udp): 900 120 300`); throws on anything else. */
export function parseIpvsTimeouts(text: string): IpvsTimeouts {
  const m = /Timeout \(tcp tcpfin udp\):\s*(\d+)\s+(\d+)\s+(\d+)/.exec(text);
  if (m === null) throw new Error(`ipvsadm -L --timeout: unexpected output ${JSON.stringify(text.trim())}`);
  return { tcp: Number(m[1]), tcpfin: Number(m[2]), udp: Number(m[3]) };
}

/** Reads the timeouts when `scope` manages them; fields not managed read as 0. */
export async function observeIpvsTimeouts(exec: Exec, scope: NodeState): Promise<Map<string, IpvsTimeouts>> {
  const want = scope.ipvsTimeouts.get(IPVS_TIMEOUTS_KEY);
  if (want === undefined) return new Map();
  const have = parseIpvsTimeouts((await exec.run("ipvsadm", ["-L", "--timeout"])).stdout);
  const pick = (w: number, h: number) => (w === 0 ? 0 : h);
  return new Map([[IPVS_TIMEOUTS_KEY, { tcp: pick(want.tcp, have.tcp), tcpfin: pick(want.tcpfin, have.tcpfin), udp: pick(want.udp, have.udp) }]]);
}

/** The `ipvsadm --set` script of a plan, if the timeouts change. */
export function ipvsTimeoutScripts(plan: NodePlan): Script[] {
  return plan.ipvsTimeouts.flatMap((c) => {
    if (c.op === "delete") return [];
    const args = ["--set", String(c.after.tcp), String(c.after.tcpfin), String(c.after.udp)];
    return [{
      order: IPVS_TIMEOUTS_ORDER,
      title: "ipvsadm --set (timeouts)",
      text: `ipvsadm ${args.join(" ")}\n`,
      run: async (exec: Exec) => { await exec.run("ipvsadm", args, { write: true }); },
    }];
  });
}
