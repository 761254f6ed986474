/**
 * JVM options shared by the stack's Java processes.
 *
 * QUICK_JVM is for JVMs that live seconds to minutes or do light work (tests' Spark and REST catalog,
 * one-shot tools, Kafka Connect, a test's private Kafka): the C1 compiler only, so no CPU goes to
 * C2's optimising compiles that such a process would not live long enough to repay, and the serial
 * collector (no parallel GC threads on a 2-core machine). Measured on the Spark test file
 * (`/usr/bin/time bun test apps/lake/src/iceberg/spark.test.ts`): 96.6 → 57.7 CPU-s, 63 → 49 s.
 * Long-running brokers of the shared stack keep the JVM's defaults.
 */
export const QUICK_JVM: readonly string[] = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"];
