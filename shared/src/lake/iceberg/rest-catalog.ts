/**
 * An Iceberg REST catalog client (the Iceberg REST Catalog API: config, namespaces, tables, commits),
 * so every table is registered and committed through a catalog server that Spark, Trino, Snowflake
 * and PyIceberg read too. Tributary still writes the data files, manifests and manifest lists in the
 * lake; the server validates each commit's requirements and writes the metadata file. A table that
 * already exists in the lake's embedded catalog is registered with its history, not created anew.
 */
import { backoffDelayMs } from "../../backoff.ts";
import { sleep } from "../../sleep.ts";
import type { LakeStore } from "../store.ts";
import {
  type CreateTable,
  EmbeddedCatalog,
  type IcebergCatalog,
  type LoadedTable,
  type TableIdent,
  tableKey,
} from "./catalog.ts";
import { CommitConflictError, parseMetadata, type TableRequirement, type TableUpdate } from "./metadata.ts";

export interface RestCatalogOptions {
  /** The catalog's base URI, e.g. `http://127.0.0.1:8181` (the API lives under `/v1`). */
  readonly uri: string;
  readonly warehouse: string;
  /** Bearer token for every request. */
  readonly token?: string | undefined;
  /** Bound of one HTTP request. */
  readonly timeoutMs?: number;
}

/** The catalog answered with an error (or not at all) for a reason other than a commit conflict. */
export class IcebergRestError extends Error {
  override readonly name = "IcebergRestError";
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

interface LoadTableResult {
  readonly "metadata-location": string;
  readonly metadata: unknown;
}

const READ_ATTEMPTS = 4;

export class RestCatalog implements IcebergCatalog {
  readonly kind = "rest" as const;
  private prefix: Promise<string> | undefined;
  private readonly namespaces = new Set<string>();
  private readonly embedded: EmbeddedCatalog;

  constructor(
    readonly store: LakeStore,
    private readonly opts: RestCatalogOptions,
  ) {
    this.embedded = new EmbeddedCatalog(store);
  }

  /** Tributary's tables keep their metadata in the lake, where the embedded catalog keeps it too. */
  tableLocation(id: TableIdent): string {
    return this.store.url(tableKey(id));
  }

  async load(id: TableIdent): Promise<LoadedTable | undefined> {
    const a = await this.call("GET", await this.tablePath(id), undefined, `load ${show(id)}`, [404]);
    return a.status === 404 ? undefined : loaded(a.body);
  }

  async create(id: TableIdent, table: CreateTable): Promise<LoadedTable> {
    await this.ensureNamespace(id.namespace);
    const base = `${await this.base()}/namespaces/${encodeURIComponent(id.namespace)}`;
    // A table the embedded catalog already holds keeps its history: register its newest metadata.
    const existing = await this.embedded.load(id);
    const a =
      existing === undefined
        ? await this.call(
            "POST",
            `${base}/tables`,
            {
              name: id.name,
              location: this.tableLocation(id),
              schema: table.schema,
              "partition-spec": table.spec,
              "write-order": { "order-id": 0, fields: [] },
              properties: table.properties,
              "stage-create": false,
            },
            `create ${show(id)}`,
            [409],
          )
        : await this.call(
            "POST",
            `${base}/register`,
            { name: id.name, "metadata-location": existing.metadataLocation },
            `register ${show(id)}`,
            [409],
          );
    if (a.status !== 409) return loaded(a.body);
    // A racing creator won: use its table.
    const now = await this.load(id);
    if (now === undefined)
      throw new IcebergRestError(`${show(id)}: exists and does not, per the catalog`, 409);
    return now;
  }

  async commit(
    id: TableIdent,
    _base: LoadedTable,
    requirements: readonly TableRequirement[],
    updates: readonly TableUpdate[],
  ): Promise<LoadedTable> {
    const what = `commit to ${show(id)}`;
    let a: Answer;
    try {
      a = await this.send(
        "POST",
        await this.tablePath(id),
        { identifier: { namespace: [id.namespace], name: id.name }, requirements, updates },
        what,
      );
    } catch (err) {
      // No answer: the commit may or may not have landed.
      return this.reconcile(id, updates, what, err);
    }
    if (a.status === 200) return loaded(a.body);
    if (a.status === 409) throw new CommitConflictError(`${show(id)}: ${errorMessage(a.body)}`);
    // The spec's "commit state unknown" answers: look at the table to learn which.
    if (a.status >= 500) return this.reconcile(id, updates, what, errorMessage(a.body));
    throw this.failure(what, a);
  }

  /** After a commit whose outcome is unknown: success if the table now holds its snapshot, else a conflict (retry). */
  private async reconcile(
    id: TableIdent,
    updates: readonly TableUpdate[],
    what: string,
    cause: unknown,
  ): Promise<LoadedTable> {
    const snapshot = updates.find((u) => u.action === "add-snapshot")?.snapshot["snapshot-id"];
    const now = await this.load(id);
    if (now !== undefined && snapshot !== undefined) {
      if (now.metadata.snapshots?.some((s) => s["snapshot-id"] === snapshot)) return now;
    }
    throw new CommitConflictError(`${what}: outcome unknown (${String(cause)}), the table does not hold it`);
  }

  private async ensureNamespace(namespace: string): Promise<void> {
    if (this.namespaces.has(namespace)) return;
    await this.call(
      "POST",
      `${await this.base()}/namespaces`,
      { namespace: [namespace], properties: {} },
      `create namespace ${namespace}`,
      [409],
    );
    this.namespaces.add(namespace);
  }

  private async tablePath(id: TableIdent): Promise<string> {
    return `${await this.base()}/namespaces/${encodeURIComponent(id.namespace)}/tables/${encodeURIComponent(id.name)}`;
  }

  /** `<uri>/v1[/<prefix>]`, the prefix from the catalog's config (once per client). */
  private base(): Promise<string> {
    this.prefix ??= (async () => {
      const a = await this.call(
        "GET",
        `${this.opts.uri}/v1/config?warehouse=${encodeURIComponent(this.opts.warehouse)}`,
        undefined,
        "read the catalog config",
      );
      const c = a.body as { defaults?: Record<string, string>; overrides?: Record<string, string> };
      const prefix = c.overrides?.prefix ?? c.defaults?.prefix;
      return prefix ? `${this.opts.uri}/v1/${prefix}` : `${this.opts.uri}/v1`;
    })().catch((err) => {
      this.prefix = undefined;
      throw err;
    });
    return this.prefix;
  }

  /** An idempotent call (reads, creates that answer 409 when repeated): retried on no answer or 503, bounded. */
  private async call(
    method: "GET" | "POST",
    url: string,
    body: unknown,
    what: string,
    expected: readonly number[] = [],
  ): Promise<Answer> {
    for (let attempt = 0; ; attempt++) {
      let a: Answer | undefined;
      let err: unknown;
      try {
        a = await this.send(method, url, body, what);
      } catch (e) {
        err = e;
      }
      if (a !== undefined && (a.status < 300 || expected.includes(a.status))) return a;
      const retry = a === undefined || a.status === 503 || a.status === 429;
      if (!retry || attempt + 1 >= READ_ATTEMPTS) throw a === undefined ? err : this.failure(what, a);
      await sleep(backoffDelayMs({ initialMs: 200, maxMs: 2000 }, attempt));
    }
  }

  private async send(method: "GET" | "POST", url: string, body: unknown, what: string): Promise<Answer> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (this.opts.token) headers.Authorization = `Bearer ${this.opts.token}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (cause) {
      throw new IcebergRestError(
        `Iceberg REST catalog ${this.opts.uri}: ${what}: no answer (${String(cause)})`,
        undefined,
      );
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      // Not JSON (a proxy's error page): keep the text for the message.
    }
    return { status: res.status, body: parsed };
  }

  private failure(what: string, a: Answer): IcebergRestError {
    const hint = a.status === 401 || a.status === 403 ? " (check ICEBERG_REST_TOKEN)" : "";
    return new IcebergRestError(
      `Iceberg REST catalog ${this.opts.uri}: ${what}: HTTP ${a.status}: ${errorMessage(a.body)}${hint}`,
      a.status,
    );
  }
}

function show(id: TableIdent): string {
  return `${id.namespace}.${id.name}`;
}

function loaded(body: unknown): LoadedTable {
  const r = body as LoadTableResult;
  return {
    metadata: parseMetadata(r["metadata-location"], JSON.stringify(r.metadata)),
    metadataLocation: r["metadata-location"],
  };
}

function errorMessage(body: unknown): string {
  const e = (body as { error?: { message?: string; type?: string } } | undefined)?.error;
  if (e?.message) return e.type ? `${e.type}: ${e.message}` : e.message;
  return typeof body === "string" ? body.slice(0, 300) : JSON.stringify(body ?? null).slice(0, 300);
}
