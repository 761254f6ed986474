import { expect, test } from "bun:test";
import { loadConfig } from "@tributary/shared/config";
import { uniqueName } from "@tributary/shared/testing/names";
import { SQL } from "bun";

const config = loadConfig();

test("the stack's PostgreSQL runs with wal_level=logical and accepts a pgoutput replication slot", async () => {
  const sql = new SQL(config.postgres.url, { max: 1 });
  try {
    const [level] = await sql`SHOW wal_level`;
    expect(level.wal_level).toBe("logical");
    const slot = uniqueName("slot");
    await sql`SELECT pg_create_logical_replication_slot(${slot}, 'pgoutput')`;
    const slots =
      await sql`SELECT slot_name, plugin, slot_type FROM pg_replication_slots WHERE slot_name = ${slot}`;
    expect(slots).toEqual([{ slot_name: slot, plugin: "pgoutput", slot_type: "logical" }]);
    await sql`SELECT pg_drop_replication_slot(${slot})`;
  } finally {
    await sql.close();
  }
});
