/**
 * iptables backend choice (nft or legacy), the way kubernetes-sigs/iptables-wrappers (which
 * kube-router's image uses) decides it: use the backend that already holds the host's rules,
 * so our rules land where kubelet's and kube-proxy's are.
 *
 * Detection only runs the four `*-save` tools with no `-t`: they are read-only. (Never
 * `iptables-legacy -S` or `iptables-legacy-save -t mangle`: those instantiate legacy tables in
 * the namespace, which would make the next detection pick legacy.)
 *
 * @category apply
 */
import type { Family } from "../../model/state.ts";
import type { Exec } from "../exec.ts";

export type BackendMode = "nft" | "legacy";

/** The tools of one backend, per family. */
export interface IptablesBackend {
  readonly mode: BackendMode;
  /** e.g. `iptables-nft-save`, `ip6tables-legacy-save` */
  readonly save: Readonly<Record<Family, string>>;
  /** e.g. `iptables-nft-restore`, `ip6tables-legacy-restore` */
  readonly restore: Readonly<Record<Family, string>>;
}

/** The backend value for an explicit mode. Pure; never fails. */
export function iptablesBackend(mode: BackendMode): IptablesBackend {
  return {
    mode,
    save: { ipv4: `iptables-${mode}-save`, ipv6: `ip6tables-${mode}-save` },
    restore: { ipv4: `iptables-${mode}-restore`, ipv6: `ip6tables-${mode}-restore` },
  };
}

/** Chains kubelet (1.17+) creates in the mangle table of the backend it uses. */
const KUBELET_HINTS: ReadonlySet<string> = new Set(["KUBE-IPTABLES-HINT", "KUBE-KUBELET-CANARY"]);

/** What one backend's saves show: rule lines (`-A …`) and whether kubelet's hint chain exists. */
export interface BackendEvidence {
  readonly rules: number;
  readonly hint: boolean;
}

/**
 * Reads the evidence from `iptables-save`-format text (any number of tables). Pure.
 * The hint counts only when declared in the mangle table, as iptables-wrappers checks it.
 */
export function backendEvidence(saveText: string): BackendEvidence {
  let rules = 0;
  let hint = false;
  let table = "";
  for (const line of saveText.split("\n")) {
    if (line.startsWith("*")) table = line.slice(1).trim();
    else if (line.startsWith("-A ")) rules++;
    else if (line.startsWith(":") && table === "mangle" && KUBELET_HINTS.has(line.slice(1).split(" ")[0] ?? "")) hint = true;
  }
  return { rules, hint };
}

/**
 * The decision, pure: kubelet's hint in nft ⇒ nft; else hint in legacy ⇒ legacy; else the
 * backend with strictly more rules; a tie (including an empty host) ⇒ nft.
 */
export function chooseBackend(nft: BackendEvidence, legacy: BackendEvidence): BackendMode {
  if (nft.hint) return "nft";
  if (legacy.hint) return "legacy";
  return legacy.rules > nft.rules ? "legacy" : "nft";
}

/** Runs one saver; a missing tool or a failing one counts as empty (as iptables-wrappers' `|| true`). */
async function saveOrEmpty(exec: Exec, cmd: string): Promise<string> {
  try {
    return (await exec.run(cmd, [])).stdout;
  } catch {
    return "";
  }
}

/**
 * The backend to use. `override` "nft" or "legacy" is taken as is (no tool runs); otherwise
 * runs `iptables-{nft,legacy}-save` and `ip6tables-{nft,legacy}-save` through `exec` (read-only)
 * and applies `chooseBackend`. Never throws: a saver that fails counts as an empty backend.
 */
export async function detectBackend(exec: Exec, override?: BackendMode | "auto"): Promise<IptablesBackend> {
  if (override === "nft" || override === "legacy") return iptablesBackend(override);
  const evidence = async (mode: BackendMode): Promise<BackendEvidence> => {
    const b = iptablesBackend(mode);
    const text = (await saveOrEmpty(exec, b.save.ipv4)) + "\n" + (await saveOrEmpty(exec, b.save.ipv6));
    return backendEvidence(text);
  };
  const nft = await evidence("nft");
  const legacy = await evidence("legacy");
  return iptablesBackend(chooseBackend(nft, legacy));
}
