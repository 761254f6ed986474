/**
 * The lake on any S3 API: Bun's S3Client (multipart above `partSize`); an upload becomes visible only
 * when it completes. `ifAbsent` is a conditional PUT (`If-None-Match: *`), `copy` a server-side
 * CopyObject and `move` a CopyObject then DELETE, signed here with SigV4 because Bun's client exposes
 * neither.
 */
import { createHash, createHmac } from "node:crypto";
import { S3Client, type S3ListObjectsOptions, type S3ListObjectsResponse } from "bun";
import { type BackoffPolicy, backoffDelayMs } from "../backoff.ts";
import type { Config } from "../config.ts";
import { checkKey, LakeConflictError, type LakeObject, LakeStoreBase, LakeStoreError } from "./store-base.ts";

const PART_SIZE = 8 * 1024 * 1024;
const LIST_RETRIES = 4;
const LIST_BACKOFF: BackoffPolicy = { initialMs: 50, maxMs: 1000 };

/** S3 API: path-style requests to `config.s3.endpoint`, keys under `prefix/` in `bucket`. */
export class S3LakeStore extends LakeStoreBase {
  readonly kind = "s3" as const;
  readonly root: string;
  private readonly client: S3Client;

  constructor(
    private readonly s3: Config["s3"],
    readonly bucket: string,
    readonly prefix: string,
  ) {
    super();
    this.root = prefix ? `s3://${bucket}/${prefix}` : `s3://${bucket}`;
    this.client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      bucket,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      partSize: PART_SIZE,
      queueSize: 4,
      retry: 3,
    });
  }

  /** Key in the bucket for a lake key. */
  objectKey(key: string): string {
    return this.prefix ? `${this.prefix}/${checkKey(key)}` : checkKey(key);
  }

  private lakeKey(objectKey: string): string {
    return this.prefix ? objectKey.slice(this.prefix.length + 1) : objectKey;
  }

  url(key: string): string {
    return `s3://${this.bucket}/${this.objectKey(key)}`;
  }

  async putFile(localPath: string, key: string): Promise<number> {
    const file = Bun.file(localPath);
    try {
      // Bun switches to a multipart upload above partSize; the object appears when it completes.
      await this.client.write(this.objectKey(key), file, { type: "application/octet-stream" });
    } catch (cause) {
      throw new LakeStoreError("cannot upload lake file", key, { cause });
    }
    return file.size;
  }

  async put(key: string, body: string | Uint8Array, opts?: { readonly ifAbsent?: boolean }): Promise<void> {
    if (!opts?.ifAbsent) {
      try {
        await this.client.write(this.objectKey(key), body);
      } catch (cause) {
        throw new LakeStoreError("cannot write lake object", key, { cause });
      }
      return;
    }
    const res = await this.signedFetch("PUT", this.objectKey(key), { "if-none-match": "*" }, body);
    if (res.status === 412 || res.status === 409) {
      await res.body?.cancel();
      throw new LakeConflictError(key);
    }
    await this.expectOk(res, "cannot create lake object", key);
  }

  async move(from: string, to: string): Promise<void> {
    const source = `/${this.bucket}/${encodeKey(this.objectKey(from))}`;
    const res = await this.signedFetch("PUT", this.objectKey(to), { "x-amz-copy-source": source });
    if (res.status === 404) {
      await res.body?.cancel();
      if (await this.exists(to)) return; // an earlier attempt already moved it
      throw new LakeStoreError(`cannot move missing lake object to ${to}`, from);
    }
    await this.expectOk(res, `cannot copy lake object to ${to}`, from);
    await this.delete(from);
  }

  /** A server-side CopyObject (single request: objects up to 5 GiB, far above a lake file). */
  async copy(from: string, to: string): Promise<void> {
    const source = `/${this.bucket}/${encodeKey(this.objectKey(from))}`;
    const res = await this.signedFetch("PUT", this.objectKey(to), { "x-amz-copy-source": source });
    await this.expectOk(res, `cannot copy lake object to ${to}`, from);
  }

  protected async readObject(key: string): Promise<Uint8Array> {
    return new Uint8Array(await this.client.file(this.objectKey(key)).arrayBuffer());
  }

  protected async deleteObject(key: string): Promise<void> {
    await this.client.delete(this.objectKey(key));
  }

  protected isMissing(err: unknown): boolean {
    return (err as { code?: string }).code === "NoSuchKey";
  }

  async exists(key: string): Promise<boolean> {
    return this.client.exists(this.objectKey(key));
  }

  async *list(prefix: string, opts?: { readonly startAfter?: string }): AsyncIterable<LakeObject> {
    let continuationToken: string | undefined;
    const startAfter = opts?.startAfter === undefined ? undefined : this.objectKey(opts.startAfter);
    for (let page = 0; page < 1_000_000; page++) {
      const res = await this.listPage({
        prefix: this.prefix ? `${this.prefix}/${prefix}` : prefix,
        maxKeys: 1000,
        ...(continuationToken ? { continuationToken } : startAfter ? { startAfter } : {}),
      });
      for (const o of res.contents ?? []) yield { key: this.lakeKey(o.key), bytes: o.size ?? 0 };
      if (!res.isTruncated || !res.nextContinuationToken) return;
      continuationToken = res.nextContinuationToken;
    }
  }

  async children(prefix: string): Promise<string[]> {
    const dir = prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
    const full = this.prefix ? `${this.prefix}/${dir}` : dir;
    const names = new Set<string>();
    let continuationToken: string | undefined;
    for (let page = 0; page < 1_000_000; page++) {
      const res = await this.listPage({
        prefix: full,
        delimiter: "/",
        maxKeys: 1000,
        ...(continuationToken ? { continuationToken } : {}),
      });
      for (const p of res.commonPrefixes ?? []) names.add(p.prefix.slice(full.length).replace(/\/$/, ""));
      for (const o of res.contents ?? []) names.add(o.key.slice(full.length));
      if (!res.isTruncated || !res.nextContinuationToken) break;
      continuationToken = res.nextContinuationToken;
    }
    return [...names].filter((n) => n !== "").sort();
  }

  /**
   * One LIST page, retried a few times with capped backoff and jitter: some S3 servers answer a
   * listing that races an in-progress upload with a transient 5xx.
   */
  private async listPage(input: S3ListObjectsOptions): Promise<S3ListObjectsResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.client.list(input);
      } catch (cause) {
        if (attempt >= LIST_RETRIES)
          throw new LakeStoreError("cannot list lake objects", input.prefix ?? "", { cause });
        await Bun.sleep(backoffDelayMs(LIST_BACKOFF, attempt));
      }
    }
  }

  private async expectOk(res: Response, message: string, key: string): Promise<void> {
    const text = await res.text();
    // CopyObject can answer 200 with an <Error> body when it fails late.
    if (!res.ok || text.includes("<Error>")) {
      throw new LakeStoreError(`${message} (HTTP ${res.status} ${text.slice(0, 300)})`, key);
    }
  }

  /** A SigV4-signed path-style request (payload unsigned), for what Bun's S3Client lacks. */
  private signedFetch(
    method: "PUT",
    objectKey: string,
    extra: Record<string, string>,
    body?: string | Uint8Array,
  ): Promise<Response> {
    const endpoint = new URL(this.s3.endpoint);
    const basePath = endpoint.pathname.replace(/\/+$/, "");
    const path = `${basePath}/${this.bucket}/${encodeKey(objectKey)}`;
    const amzDate = new Date()
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d{3}/, "");
    const date = amzDate.slice(0, 8);
    const headers: Record<string, string> = {
      host: endpoint.host,
      "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
      "x-amz-date": amzDate,
      ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k.toLowerCase(), v])),
    };
    const names = Object.keys(headers).sort();
    const canonical = [
      method,
      path,
      "",
      ...names.map((n) => `${n}:${headers[n]?.trim()}`),
      "",
      names.join(";"),
      "UNSIGNED-PAYLOAD",
    ].join("\n");
    const scope = `${date}/${this.s3.region}/s3/aws4_request`;
    const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonical)].join("\n");
    let signingKey: Buffer = hmac(`AWS4${this.s3.secretAccessKey}`, date);
    for (const part of [this.s3.region, "s3", "aws4_request"]) signingKey = hmac(signingKey, part);
    const signature = createHmac("sha256", signingKey).update(toSign).digest("hex");
    const { host: _host, ...sent } = headers;
    return fetch(`${endpoint.protocol}//${endpoint.host}${path}`, {
      method,
      headers: {
        ...sent,
        authorization: `AWS4-HMAC-SHA256 Credential=${this.s3.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
      },
      body: body ?? "",
    });
  }
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** RFC 3986 encoding of each path segment, as SigV4 and S3 expect (`/` kept). */
function encodeKey(key: string): string {
  return key
    .split("/")
    .map((s) =>
      encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    )
    .join("/");
}
