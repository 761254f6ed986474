import { expect, test } from "bun:test";
import { PairRegistry, v2SymbolFromWsname } from "./pairs.ts";
import { BTC_USD } from "./test-pairs.ts";

test("WS v2 symbols rename XBT to BTC and XDG to DOGE on either side", () => {
  expect(v2SymbolFromWsname("XBT/USD")).toBe("BTC/USD");
  expect(v2SymbolFromWsname("XDG/XBT")).toBe("DOGE/BTC");
  expect(v2SymbolFromWsname("ETH/USD")).toBe("ETH/USD");
});

test("the registry finds a pair by pair id, altname, wsname or v2 symbol", () => {
  const btc = BTC_USD;
  const r = new PairRegistry([btc]);
  for (const name of ["XXBTZUSD", "XBTUSD", "XBT/USD", "BTC/USD"]) expect(r.byAnyName(name)).toBe(btc);
  expect(r.bySymbolName("XBT/USD")).toBeUndefined();
  expect(r.symbols()).toEqual(["BTC/USD"]);
});
