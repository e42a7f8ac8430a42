/**
 * ClusterSource: where the agent's cluster state comes from (the Kubernetes API through
 * informers, or a watched snapshot file). A source keeps an immutable ClusterSnapshot up to
 * date and tells listeners which kinds changed; it never renders or touches the kernel.
 *
 * @category sources
 */
import type { ClusterSnapshot, InputWarning } from "../model/cluster.ts";

/** The six kinds every source watches, and `configMaps`: only the ConfigMaps a source is asked for. */
export type SourceKind = "nodes" | "namespaces" | "pods" | "services" | "endpointSlices" | "networkPolicies" | "configMaps";
/** The kinds every source watches in full (the default of the API source). */
export const SOURCE_KINDS: readonly Exclude<SourceKind, "configMaps">[] = ["nodes", "namespaces", "pods", "services", "endpointSlices", "networkPolicies"];
/** Every table of a snapshot. */
export const SNAPSHOT_KINDS: readonly SourceKind[] = [...SOURCE_KINDS, "configMaps"];

/** One applied change: which kind, which key (`name` or `namespace/name`), what happened. */
export interface SourceChange {
  readonly kind: SourceKind;
  readonly key: string;
  readonly type: "added" | "modified" | "deleted" | "relisted";
}

export interface SourceStatus {
  /** True once every kind's initial list has been applied. */
  readonly synced: boolean;
  /** Per kind: ms epoch of the last list/watch event applied (absent before the first). */
  readonly lastEventMs: Readonly<Partial<Record<SourceKind, number>>>;
  /** The latest connection/list problem, one line, cleared on the next success. */
  readonly error?: string;
}

export interface ClusterSource {
  /** Starts listing and watching; resolves once started (not necessarily synced). Never rejects for API errors: they retry. */
  start(): Promise<void>;
  /** Resolves true when every kind's initial list is in, false when `timeoutMs` passes first. */
  waitSynced(timeoutMs: number): Promise<boolean>;
  /** The current snapshot: immutable, structurally shared between versions. */
  snapshot(): ClusterSnapshot;
  /** Objects skipped or defaulted, one warning each (replaced as objects change). */
  warnings(): readonly InputWarning[];
  /** Calls `listener` after each applied change; returns the unsubscribe function. */
  onChange(listener: (change: SourceChange) => void): () => void;
  status(): SourceStatus;
  /** Stops every watch and timer; resolves when nothing is left running. */
  stop(): Promise<void>;
}
