import { expect, test } from "bun:test";
import { BoundedQueue } from "./bounded-queue.ts";

test("a full queue drops and counts new items, but forced (control) items always get in", async () => {
  const q = new BoundedQueue<number>(2);
  expect(q.push(1)).toBe(true);
  expect(q.push(2)).toBe(true);
  expect(q.push(3)).toBe(false);
  expect(q.push(4, true)).toBe(true);
  expect(q.dropped).toBe(1);
  q.close();
  const seen: number[] = [];
  for await (const v of q) seen.push(v);
  expect(seen).toEqual([1, 2, 4]);
});

test("a waiting consumer receives items pushed later, and ends on close", async () => {
  const q = new BoundedQueue<string>(10);
  const next = q.next();
  q.push("a");
  expect(await next).toEqual({ value: "a", done: false });
  const end = q.next();
  q.close();
  expect((await end).done).toBe(true);
});
