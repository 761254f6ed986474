/** The message browser and the silver quarantine: pages and JSON. */
import { parseUtcTime } from "@tributary/shared/scheduler/cli";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { type ConsoleDeps, queryLimits } from "../deps.ts";
import { intParam } from "../http.ts";
import type { QueryResult } from "../sql/engine.ts";
import { responder } from "../views/respond.ts";
import { decodeMessage } from "./decode.ts";
import { type BrowseQuery, messagesPage, type QuarantineView, quarantinePage } from "./pages.ts";
import { BrowseError, type BrowseRequest, MAX_LIMIT } from "./reader.ts";

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

/** The browse parameters from a query string; anything invalid is a 400 naming it. */
function browseQuery(query: (name: string) => string | undefined): BrowseQuery {
  const topic = query("topic") || undefined;
  if (topic !== undefined && !TOPIC.test(topic))
    throw new HTTPException(400, { message: "topic: expected a Kafka topic name" });
  const offset = query("offset") || undefined;
  if (offset !== undefined && !/^\d{1,19}$/.test(offset))
    throw new HTTPException(400, { message: "offset: expected a whole number ≥ 0" });
  const time = query("time") || undefined;
  if (time !== undefined) toTime(time);
  return {
    ...(topic ? { topic } : {}),
    partition: intParam("partition", query("partition"), 0, 100_000, 0),
    ...(offset ? { offset } : {}),
    ...(time ? { time } : {}),
    limit: intParam("limit", query("limit"), 1, MAX_LIMIT, 20),
  };
}

function toTime(text: string): number {
  try {
    return parseUtcTime(text, "time").getTime();
  } catch (err) {
    throw new HTTPException(400, { message: (err as Error).message });
  }
}

function toRequest(q: BrowseQuery & { topic: string }): BrowseRequest {
  const from = q.offset ? { offset: BigInt(q.offset) } : q.time ? { time: toTime(q.time) } : undefined;
  return { topic: q.topic, partition: q.partition, limit: q.limit, ...(from ? { from } : {}) };
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
/** Columns a quarantine row is read by, newest first, when the dataset has them. */
const LATEST_COLUMNS = [
  "kafka_timestamp",
  "reason",
  "topic",
  "kafka_partition",
  "kafka_offset",
  "symbol",
  "raw_text",
];
const ORDER_COLUMNS = ["kafka_timestamp", "ingested_at", "event_ts"];

export function messageRoutes(deps: ConsoleDeps): Hono {
  const { page } = responder(deps);
  const limits = queryLimits(deps.config);

  const browse = async (q: BrowseQuery) => {
    if (!q.topic) return undefined;
    const result = await deps.messages.browse(toRequest({ ...q, topic: q.topic }));
    return { ...result, messages: result.messages.map(decodeMessage) };
  };

  const quarantineDatasets = async (): Promise<{ name: string; rows: number | null }[]> =>
    (await deps.overview.snapshot()).lake.datasets
      .filter((d) => d.layer === "silver" && d.name.endsWith("_quarantine"))
      .map((d) => ({ name: `${d.layer}/${d.name}`, rows: d.rows }));

  const quarantine = async (dataset: string): Promise<QuarantineView> => {
    const found = (await quarantineDatasets()).find((d) => d.name === dataset);
    if (!found) throw new HTTPException(404, { message: `no quarantine dataset ${dataset.slice(0, 200)}` });
    const base = { dataset, rows: found.rows ?? 0, reasons: null, latest: null };
    if (!deps.engine) return { ...base, error: deps.engineUnavailable ?? "no query engine" };
    const [layer, name] = dataset.split("/") as [string, string];
    const view = `${quoteIdent(layer)}.${quoteIdent(name)}`;
    try {
      const columns = (await deps.engine.internal(`DESCRIBE ${view}`, { ...limits, rowLimit: 500 })).rows.map(
        (r) => String(r[0]),
      );
      const pick = LATEST_COLUMNS.filter((c) => columns.includes(c));
      const order = ORDER_COLUMNS.find((c) => columns.includes(c));
      const reasons: QueryResult | null = columns.includes("reason")
        ? await deps.engine.internal(
            `SELECT reason, count(*) AS rows FROM ${view} GROUP BY reason ORDER BY rows DESC, reason LIMIT 50`,
            { ...limits, rowLimit: 50 },
          )
        : null;
      const latest = await deps.engine.internal(
        `SELECT ${pick.length ? pick.map(quoteIdent).join(", ") : "*"} FROM ${view}${order ? ` ORDER BY ${quoteIdent(order)} DESC` : ""} LIMIT 100`,
        { ...limits, rowLimit: 100 },
      );
      return { ...base, reasons, latest, error: null };
    } catch (err) {
      return { ...base, error: (err as Error).message };
    }
  };

  return new Hono()
    .get("/messages", async (c) => {
      const query = browseQuery((n) => c.req.query(n));
      let topics: string[] = [];
      try {
        topics = await deps.messages.topics();
        const result = await browse(query);
        return page("Messages", "messages", messagesPage({ topics, query, ...(result ?? {}) }));
      } catch (err) {
        if (err instanceof HTTPException) throw err;
        const error = err instanceof BrowseError ? err.message : `Kafka: ${(err as Error).message}`;
        return page("Messages", "messages", messagesPage({ topics, query, error }), 400);
      }
    })
    .get("/api/messages", async (c) => {
      const query = browseQuery((n) => c.req.query(n));
      if (!query.topic) return c.json({ topics: await deps.messages.topics() });
      try {
        return c.json(await browse(query));
      } catch (err) {
        if (err instanceof BrowseError) return c.json({ error: err.message }, 400);
        throw err;
      }
    })
    .get("/messages/quarantine", async (c) => {
      const datasets = (await quarantineDatasets()).map((d) => d.name);
      const dataset = c.req.query("dataset") ?? datasets[0];
      const view = dataset ? await quarantine(dataset) : undefined;
      return page("Quarantine", "messages", quarantinePage(datasets, view));
    })
    .get("/api/quarantine", async (c) => {
      const dataset = c.req.query("dataset");
      if (!dataset) return c.json({ datasets: await quarantineDatasets() });
      const view = await quarantine(dataset);
      const table = (r: QueryResult | null) => (r ? { columns: r.columns, rows: r.rows } : null);
      return c.json({ ...view, reasons: table(view.reasons), latest: table(view.latest) });
    });
}
