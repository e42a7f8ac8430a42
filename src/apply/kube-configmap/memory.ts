/**
 * An in-memory ConfigMapApi (tests, the fake node): one store of ConfigMaps with a
 * resourceVersion bumped on every write, and a log of the writes made (to count them).
 * `conflictNext` makes the next N updates answer "conflict" after bumping the version (as if
 * another writer got in first), so retry paths can be driven.
 *
 * @category apply
 */
import type { ConfigMapApi } from "./api.ts";

export class MemoryConfigMapApi implements ConfigMapApi {
  private readonly store = new Map<string, { data: Record<string, string>; resourceVersion: string }>();
  private rv = 100;
  /** Every write: verb, `ns/name`, the data written and the precondition (update only). */
  readonly writes: { verb: "create" | "update"; key: string; data: Record<string, string>; resourceVersion?: string }[] = [];
  /** Updates still to answer "conflict" (another writer changes `conflictChange` keys first; null deletes one). */
  conflictNext = 0;
  conflictChange: Record<string, string | null> = {};
  gets = 0;

  constructor(seed: Readonly<Record<string, Readonly<Record<string, string>>>> = {}) {
    for (const [k, data] of Object.entries(seed)) this.store.set(k, { data: { ...data }, resourceVersion: String(++this.rv) });
  }

  /** The current data of `ns/name` (a copy), or undefined. */
  data(namespace: string, name: string): Record<string, string> | undefined {
    const c = this.store.get(`${namespace}/${name}`);
    return c === undefined ? undefined : { ...c.data };
  }

  /** Replaces the data as another client would (new resourceVersion). */
  put(namespace: string, name: string, data: Readonly<Record<string, string>>): void {
    this.store.set(`${namespace}/${name}`, { data: { ...data }, resourceVersion: String(++this.rv) });
  }

  delete(namespace: string, name: string): void {
    this.store.delete(`${namespace}/${name}`);
  }

  async get(namespace: string, name: string) {
    this.gets++;
    const c = this.store.get(`${namespace}/${name}`);
    return c === undefined ? undefined : { data: { ...c.data }, resourceVersion: c.resourceVersion };
  }

  async create(namespace: string, name: string, data: Readonly<Record<string, string>>): Promise<"ok" | "conflict"> {
    const key = `${namespace}/${name}`;
    if (this.store.has(key)) return "conflict";
    this.writes.push({ verb: "create", key, data: { ...data } });
    this.store.set(key, { data: { ...data }, resourceVersion: String(++this.rv) });
    return "ok";
  }

  async update(namespace: string, name: string, data: Readonly<Record<string, string>>, resourceVersion: string): Promise<"ok" | "conflict" | "gone"> {
    const key = `${namespace}/${name}`;
    const cur = this.store.get(key);
    if (cur === undefined) return "gone";
    if (this.conflictNext > 0) {
      this.conflictNext--;
      const data = { ...cur.data };
      for (const [k, v] of Object.entries(this.conflictChange)) {
        if (v === null) delete data[k];
        else data[k] = v;
      }
      this.store.set(key, { data, resourceVersion: String(++this.rv) });
      return "conflict";
    }
    if (cur.resourceVersion !== resourceVersion) return "conflict";
    this.writes.push({ verb: "update", key, data: { ...data }, resourceVersion });
    this.store.set(key, { data: { ...data }, resourceVersion: String(++this.rv) });
    return "ok";
  }
}
