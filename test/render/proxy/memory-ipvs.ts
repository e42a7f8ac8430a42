/**
 * Test support: an in-memory IPVS driver for fake nodes that have none yet (golden cases,
 * engine tests of the proxy). It keeps the services and real servers the plans applied,
 * observes exactly those (foreign services seeded with `foreign` are never observed, so they
 * survive by construction, as the real driver's ownership filter guarantees), and shows
 * `ipvsadm --restore`-style text for dry-run output. Used only until test/support/fake-node.ts
 * carries the IPVS driver over its semantic fake.
 */
import type { Driver, Script } from "../../../src/apply/driver.ts";
import type { EngineDeps } from "../../../src/agent/engine.ts";
import type { HostFacts } from "../../../src/model/host.ts";
import type { NodePlan } from "../../../src/model/plan.ts";
import type { IpvsReal, IpvsService } from "../../../src/model/state.ts";
import { patchTable, sortedTable } from "../../../src/model/table.ts";
import { ipvsRealLine, ipvsServiceLine, ipvsServiceName } from "../../../src/render/proxy/ipvsadm-text.ts";

export class MemoryIpvs {
  services: ReadonlyMap<string, IpvsService> = new Map();
  reals: ReadonlyMap<string, IpvsReal> = new Map();
  writes = 0;
  constructor(readonly foreign: readonly string[] = []) {}

  driver(): Driver {
    return {
      name: "ipvs-memory",
      tables: ["ipvsServices", "ipvsReals"],
      observe: async () => ({ ipvsServices: sortedTable(this.services), ipvsReals: sortedTable(this.reals) }),
      scripts: (plan: NodePlan): Script[] => {
        if (plan.ipvsServices.length + plan.ipvsReals.length === 0) return [];
        const lines: string[] = [];
        for (const c of plan.ipvsServices) {
          if (c.op === "delete") lines.push(`-D ${ipvsServiceName(c.before)}`);
          else lines.push(ipvsServiceLine(c.after).replace(/^-A/, c.op === "update" ? "-E" : "-A"));
        }
        const svc = (key: string) => plan.ipvsServices.find((c) => c.key === key && c.op !== "delete")?.op === undefined ? this.services.get(key) : (plan.ipvsServices.find((c) => c.key === key) as { after: IpvsService }).after;
        for (const c of plan.ipvsReals) {
          const s = svc(c.op === "delete" ? c.before.service : c.after.service);
          if (s === undefined) continue;
          if (c.op === "delete") lines.push(`-d ${ipvsServiceName(s)} -r ${c.before.address.includes(":") ? `[${c.before.address}]` : c.before.address}:${c.before.port}`);
          else lines.push(ipvsRealLine(s, c.after).replace(/^-a/, c.op === "update" ? "-e" : "-a"));
        }
        const text = `${lines.join("\n")}\n`;
        return [{
          order: 35,
          title: "ipvsadm --restore",
          text: `ipvsadm --restore <<'EOF'\n${text}EOF\n`,
          run: async () => {
            this.writes++;
            this.services = patchTable(this.services, plan.ipvsServices);
            const gone = new Set(plan.ipvsServices.filter((c) => c.op === "delete").map((c) => c.key));
            this.reals = new Map([...patchTable(this.reals, plan.ipvsReals)].filter(([, r]) => !gone.has(r.service)));
          },
        }];
      },
    };
  }
}

/** Adds the memory IPVS driver when no driver owns the IPVS tables, and the case's `ipvs` host fact. */
export function withIpvs<T extends { readonly deps: EngineDeps }>(node: T, ipvs?: HostFacts["ipvs"]): T & { readonly ipvs?: MemoryIpvs } {
  const has = node.deps.drivers.some((d) => d.tables.includes("ipvsServices"));
  const memory = has ? undefined : new MemoryIpvs();
  const readHost = async (): Promise<HostFacts> => ({ ...(await node.deps.readHost()), ...(ipvs !== undefined ? { ipvs } : {}) });
  return { ...node, deps: { ...node.deps, drivers: memory ? [...node.deps.drivers, memory.driver()] : node.deps.drivers, readHost }, ...(memory ? { ipvs: memory } : {}) };
}
