import { expect, test } from "bun:test";
import { bronzeDatasetFor, parseRoutes, UnknownTopicError } from "./datasets.ts";
import { FaultInjector, parseFaultPlan } from "./faults.ts";
import { parseStagedKey, publishedFileName, tpDirValue } from "./staging.ts";

test("Kraken topics and CDC topics map to their bronze datasets and partitioning", () => {
  expect(bronzeDatasetFor("kraken.trades", "cdc")).toMatchObject({
    name: "kraken_trades",
    kind: "kraken",
    partitionColumns: ["year", "month", "day", "hour", "pair"],
  });
  expect(bronzeDatasetFor("kraken.ticker", "cdc").name).toBe("kraken_ticker");
  expect(bronzeDatasetFor("kraken.book", "cdc")).toMatchObject({
    name: "kraken_book",
    kind: "kraken",
    partitionColumns: ["year", "month", "day", "hour", "pair"],
  });
  expect(bronzeDatasetFor("cdc.public.tesouro_prices", "cdc")).toMatchObject({
    name: "cdc_public_tesouro_prices",
    kind: "cdc",
    partitionColumns: ["year", "month", "day"],
  });
  expect(() => bronzeDatasetFor("other.topic", "cdc")).toThrow(UnknownTopicError);
  expect(() => bronzeDatasetFor("cdc.public", "cdc")).toThrow(/feeds no bronze dataset/);
});

test("explicit routes place other topics, and a malformed route is refused", () => {
  const routes = parseRoutes("t1=kraken_trades:kraken, t.2=cdc_x_y:cdc");
  expect(routes.get("t1")).toMatchObject({ name: "kraken_trades", kind: "kraken" });
  expect(routes.get("t.2")).toMatchObject({ name: "cdc_x_y", kind: "cdc" });
  expect(() => parseRoutes("t1=Bad:kraken")).toThrow(/expected topic=dataset/);
  expect(() => parseRoutes("t1=x:json")).toThrow(/expected topic=dataset/);
});

test("staged keys carry the attempt and Kafka coordinates; published names carry the coordinates", () => {
  const ds = { layer: "bronze", name: "kraken_trades" };
  const dir = tpDirValue("kraken.trades", 3, 12_000n);
  expect(dir).toBe("kraken.trades-3-00000000000000012000");
  expect(
    parseStagedKey(ds, `_tributary/staging/bronze/kraken_trades/w1-7/tp=${dir}/year=2024/part_0.parquet`),
  ).toEqual({
    attempt: "w1-7",
    topic: "kraken.trades",
    partition: 3,
    firstOffset: 12_000n,
  });
  expect(
    parseStagedKey(ds, "_tributary/staging/bronze/kraken_trades/compaction-x/part_0.parquet"),
  ).toBeUndefined();
  expect(publishedFileName("kraken.trades", 3, 12_000n, 2)).toBe(
    "kraken.trades-3-00000000000000012000-2.parquet",
  );
});

test("fault plans parse from the env values, and only the named point (with its chance) kills", () => {
  expect(parseFaultPlan(undefined, undefined)).toBeUndefined();
  expect(parseFaultPlan("mid-copy", "0.25")).toEqual({ point: "mid-copy", probability: 0.25 });
  expect(() => parseFaultPlan("mid-flush", undefined)).toThrow(/TRIBUTARY_FAULT_POINT/);
  expect(() => parseFaultPlan("any", "2")).toThrow(/TRIBUTARY_FAULT_PROB/);
  expect(parseFaultPlan("any", "0.5", "42")).toEqual({ point: "any", probability: 0.5, seed: 42 });
  expect(() => parseFaultPlan("any", "0.5", "-1")).toThrow(/TRIBUTARY_FAULT_SEED/);
  // The same seed draws the same kills: a crash test's run replays.
  const draws = (seed: number) => {
    const hits: string[] = [];
    const f = new FaultInjector({ point: "any", probability: 0.5, seed }, (p) => hits.push(p));
    for (const p of ["mid-publish", "after-publish", "after-stage", "mid-publish", "after-stage"] as const)
      f.hit(p);
    return hits;
  };
  expect(draws(7)).toEqual(draws(7));
  const killed: string[] = [];
  const faults = new FaultInjector(
    { point: "after-publish", probability: 0.5 },
    (p) => killed.push(p),
    () => 0.4,
  );
  faults.hit("after-commit-record");
  faults.hit("after-publish");
  expect(killed).toEqual(["after-publish"]);
  const never = new FaultInjector(
    { point: "any", probability: 0.5 },
    (p) => killed.push(p),
    () => 0.6,
  );
  never.hit("mid-publish");
  expect(killed).toEqual(["after-publish"]);
  new FaultInjector(undefined, (p) => killed.push(p)).hit("mid-copy");
  expect(killed).toEqual(["after-publish"]);
});
