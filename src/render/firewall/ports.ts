/**
 * NetworkPolicy ports (`spec.ingress[i].ports`, `spec.egress[i].ports`) validated and turned
 * into match specs, and named ports resolved on pods. Pure.
 *
 * Guarantees:
 * - protocol must be TCP, UDP or SCTP (the projection defaults a missing one to TCP);
 *   anything else is a problem naming the field;
 * - a numeric port is 1-65535; `endPort` ≥ port makes a range `port:endPort`; as the API
 *   server validates it, an `endPort` below the port, beside a named port or without a port
 *   is a problem (upstream ignores it; matching only `port` would allow less, or other, than
 *   written, so the direction fails closed instead); a named port must be an IANA_SVC_NAME;
 * - a port without number is a protocol-only match; a named port is resolved per destination
 *   pod on its container ports of the same protocol and name (`resolveNamedPort`);
 * - `ports` missing or empty means every port and protocol (one `all` spec).
 *
 * @category render
 */
import type { ContainerPort, PolicyPort } from "../../model/cluster.ts";
import { ianaSvcNameProblem } from "../../model/k8s-names.ts";

export type Protocol = "tcp" | "udp" | "sctp";

/** One port entry of a rule, ready to render. */
export type PortSpec =
  | { readonly kind: "all" }
  | { readonly kind: "proto"; readonly proto: Protocol }
  | { readonly kind: "number"; readonly proto: Protocol; readonly port: number; readonly endPort?: number }
  | { readonly kind: "named"; readonly proto: Protocol; readonly name: string; readonly field: string };

const PROTOCOLS: Readonly<Record<string, Protocol>> = { TCP: "tcp", UDP: "udp", SCTP: "sctp" };

/** The rule's port specs and the problems found (each `<field>: <why>`). */
export function compilePorts(ports: readonly PolicyPort[] | undefined, field: string): { specs: PortSpec[]; problems: string[] } {
  if (ports === undefined || ports.length === 0) return { specs: [{ kind: "all" }], problems: [] };
  const specs: PortSpec[] = [];
  const problems: string[] = [];
  ports.forEach((p, j) => {
    const f = `${field}.ports[${j}]`;
    const proto = PROTOCOLS[p.protocol];
    if (proto === undefined) {
      problems.push(`${f}.protocol: unknown protocol ${JSON.stringify(p.protocol)} (want TCP, UDP or SCTP)`);
      return;
    }
    if (p.port === undefined) {
      if (p.endPort !== undefined) { problems.push(`${f}.port: is required when endPort is set`); return; }
      specs.push({ kind: "proto", proto });
      return;
    }
    if (typeof p.port === "string") {
      if (/^\d+$/.test(p.port)) {
        problems.push(`${f}.port: ${JSON.stringify(p.port)} is a number written as a string`);
        return;
      }
      const bad = ianaSvcNameProblem(p.port);
      if (bad !== undefined) { problems.push(`${f}.port: ${JSON.stringify(p.port)} ${bad}`); return; }
      if (p.endPort !== undefined) { problems.push(`${f}.endPort: may not be set when port is a name`); return; }
      specs.push({ kind: "named", proto, name: p.port, field: `${f}.port` });
      return;
    }
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      problems.push(`${f}.port: ${p.port} is not a port (1-65535)`);
      return;
    }
    if (p.endPort !== undefined && p.endPort < p.port) {
      problems.push(`${f}.endPort: ${p.endPort} must be greater than or equal to port ${p.port}`);
      return;
    }
    const endPort = p.endPort !== undefined && p.endPort > p.port ? p.endPort : undefined;
    specs.push({ kind: "number", proto, port: p.port, ...(endPort !== undefined ? { endPort } : {}) });
  });
  return { specs, problems };
}

/** The number a pod exposes under `name` for `proto`, or undefined. */
export function resolveNamedPort(ports: readonly ContainerPort[], name: string, proto: Protocol): number | undefined {
  for (const p of ports) if (p.name === name && PROTOCOLS[p.protocol] === proto) return p.containerPort;
  return undefined;
}

/** The `--dport` value of a numeric spec: `80` or `80:90`. */
export function dportText(spec: { readonly port: number; readonly endPort?: number }): string {
  return spec.endPort !== undefined ? `${spec.port}:${spec.endPort}` : `${spec.port}`;
}
