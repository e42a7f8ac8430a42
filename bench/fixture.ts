/**
 * The kernel fixture: a fresh "node" network namespace whose `eth0` carries node 0's IP on
 * the node subnet, the far end of the veth pair sitting in a second ("peer") namespace, so
 * routes `via` other node IPs are on a live connected subnet. Namespaces come from
 * test/support/netns.ts (`krt-<tag>-<pid>-<n>`); every one made here is tracked, so a
 * signal handler can delete whatever is still alive (`dropAllFixtures`).
 */
import { PEER_IP } from "./addressing.ts";
import { NODE_IFACE } from "./setup.ts";
import { addNetns, delNetns, nsSh, sh } from "../test/support/netns.ts";

/** Tags of the namespaces made here (main.ts sweeps `krt-<tag>-<child pid>-*` after a child). */
export const FIXTURE_TAGS = ["bnode", "bpeer"] as const;

export interface NodeFixture {
  /** The node namespace (where kube-router and the bare tools run). */
  readonly node: string;
  /** The namespace holding the far end of the node's uplink. */
  readonly peer: string;
}

const live = new Set<string>();

function drop(name: string): void {
  try {
    delNetns(name);
  } catch { /* already gone */ }
  live.delete(name);
}

/** Makes a fixture for a node at `ip/prefix`. Pair with `dropFixture` in a finally. */
export function makeFixture(ip: string, prefix: number): NodeFixture {
  const node = addNetns(FIXTURE_TAGS[0]);
  live.add(node);
  const peer = addNetns(FIXTURE_TAGS[1]);
  live.add(peer);
  try {
    sh(`ip link add ${NODE_IFACE} netns ${node} type veth peer name ${NODE_IFACE} netns ${peer}`);
    nsSh(node, `ip addr add ${ip}/${prefix} dev ${NODE_IFACE} && ip link set ${NODE_IFACE} up`);
    nsSh(peer, `ip addr add ${PEER_IP}/${prefix} dev ${NODE_IFACE} && ip link set ${NODE_IFACE} up`);
  } catch (e) {
    dropFixture({ node, peer });
    throw e;
  }
  return { node, peer };
}

/** Deletes both namespaces of a fixture (never throws). */
export function dropFixture(f: NodeFixture): void {
  drop(f.node);
  drop(f.peer);
}

/** Deletes every fixture namespace still alive (signal and error paths). */
export function dropAllFixtures(): void {
  for (const name of [...live]) drop(name);
}
