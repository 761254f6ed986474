/**
 * Test helper: WS v2 book frames through the ingester's general path (frame classifier, book mapper,
 * BookKeeper), as the ingester reads them; a frame that is not book data, or an item the mapper
 * rejects, throws naming it.
 */
import { mapWsBook } from "../mappers/ws-book.ts";
import { classifyWsFrame } from "../mappers/ws-frame.ts";
import type { PairRegistry } from "../pairs.ts";
import type { BookKeeper } from "./book-keeper.ts";

export type BookVerdict = ReturnType<BookKeeper["apply"]>;

export function replayBookFrames(
  keeper: BookKeeper,
  frames: readonly string[],
  registry: PairRegistry,
  receivedAt: string,
): BookVerdict[] {
  const out: BookVerdict[] = [];
  for (const text of frames) {
    const frame = classifyWsFrame(text);
    if (frame.kind !== "data" || frame.channel !== "book") throw new Error(`not a book frame: ${text}`);
    const mapped = mapWsBook(frame.data, registry);
    if (mapped.rejections.length > 0)
      throw new Error(`book items rejected: ${JSON.stringify(mapped.rejections)} in ${text}`);
    for (const item of mapped.records) out.push(keeper.apply(frame.type, item, receivedAt));
  }
  return out;
}
