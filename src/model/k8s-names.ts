/**
 * Kubernetes name syntax, as the API server validates it (apimachinery `validation`), for the
 * names we read: port names. Each check returns why a name is invalid, or undefined when it is
 * valid. Pure.
 *
 * - IANA_SVC_NAME (`IsValidPortName`: container ports, NetworkPolicy named ports): 1–15
 *   characters of `a-z`, `0-9` and `-`, at least one letter, no `-` at either end, no `--`.
 * - DNS-1123 label (`IsDNS1123Label`: Service and EndpointSlice port names): 1–63 characters
 *   of `a-z`, `0-9` and `-`, starting and ending with a letter or digit.
 *
 * @category models
 */

/** Why `name` is not an IANA_SVC_NAME, or undefined. */
export function ianaSvcNameProblem(name: string): string | undefined {
  if (name.length > 15) return "is not a port name: must be no more than 15 characters";
  if (!/^[a-z0-9-]+$/.test(name)) return "is not a port name: must contain only lowercase letters, digits and '-'";
  if (!/[a-z]/.test(name)) return "is not a port name: must contain at least one letter";
  if (name.startsWith("-") || name.endsWith("-") || name.includes("--")) return "is not a port name: must not begin or end with '-' nor contain '--'";
  return undefined;
}

/** Why `name` is not a DNS-1123 label, or undefined. */
export function dns1123LabelProblem(name: string): string | undefined {
  if (name.length > 63) return "is not a DNS-1123 label: must be no more than 63 characters";
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) return "is not a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit";
  return undefined;
}

/**
 * Why `name` cannot be an object's `metadata.name` or `metadata.namespace`, or undefined. The
 * API server asks for a DNS-1123 subdomain (a label for namespaces); we accept upper-case
 * letters too (older snapshots and fixtures use them) but refuse what no API server would
 * store and what would break our own output: empty, longer than 253, whitespace, control
 * characters, `/` and any character outside letters, digits, `-` and `.`, or a non-alphanumeric
 * first or last character.
 */
export function objectNameProblem(name: string): string | undefined {
  if (name.length > 253) return "is not a valid name: must be no more than 253 characters";
  if (!/^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$/.test(name)) return "is not a valid name: letters, digits, '-' and '.', starting and ending with a letter or digit";
  return undefined;
}
