/**
 * Sysctl names. The model keys a sysctl by its `/proc/sys` path with slashes
 * (`net/ipv4/conf/eth0.100/rp_filter`); the `sysctl` tool names it with dots, a dot inside a
 * path component written as `/` (`net.ipv4.conf.eth0/100.rp_filter`), which is also how
 * `sysctl` prints it. The two mappings are inverse bijections. Values are compared with their
 * whitespace normalised: the kernel prints multi-value keys with tabs
 * (`net.ipv4.ip_local_port_range = 32768\t60999`), renderers write single spaces.
 *
 * @category apply
 */

/** `/proc/sys` path (slashes) → `sysctl` name (dots). */
export function sysctlName(path: string): string {
  return path.split("/").map((c) => c.replaceAll(".", "/")).join(".");
}

/** `sysctl` name (dots) → `/proc/sys` path (slashes). */
export function sysctlPath(name: string): string {
  return name.split(".").map((c) => c.replaceAll("/", ".")).join("/");
}

/** A value with runs of whitespace turned into one space and the ends trimmed. */
export function normaliseSysctlValue(value: string): string {
  return value.trim().split(/\s+/).filter((w) => w !== "").join(" ");
}
