/**
 * Test support: waiting for BGP sessions and routes through our GoBGP client.
 */
import { type GobgpClient } from "../../src/apply/gobgp/client.ts";
import { type IpFamily, type ObservedPath, parseDestinations, wireFamily } from "../../src/apply/gobgp/paths.ts";
import { peerFromWire } from "../../src/apply/gobgp/peers.ts";
import { waitFor } from "./gobgp.ts";

/** Resolves when `client`'s peer at `address` is ESTABLISHED; throws (with the last state) after `timeoutMs`. */
export async function establishedWith(client: GobgpClient, address: string, timeoutMs = 30_000): Promise<void> {
  let last = "absent";
  try {
    await waitFor(`session to ${address}`, async () => {
      const [p] = await client.listPeer(address);
      last = p ? peerFromWire(p).state : "absent";
      return last === "established" ? true : undefined;
    }, timeoutMs, 100);
  } catch {
    throw new Error(`session to ${address} not established within ${timeoutMs} ms (state ${last})`);
  }
}

/** Resolves with the path for `prefix` in `client`'s global RIB once `pred` holds for it. */
export function gobgpRoute(client: GobgpClient, prefix: string, family: IpFamily = "ipv4", pred: (p: ObservedPath) => boolean = () => true, timeoutMs = 10_000): Promise<ObservedPath> {
  return waitFor(`${prefix} in gobgpd`, async () => parseDestinations(await client.listPath(wireFamily(family))).find((p) => p.prefix === prefix && pred(p)), timeoutMs, 20);
}
