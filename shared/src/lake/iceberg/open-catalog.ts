/** The lake's Iceberg catalog as configured: Iceberg's REST catalog when ICEBERG_REST_URI is set, else the embedded one. */
import type { Config } from "../../config.ts";
import type { LakeStore } from "../store.ts";
import { EmbeddedCatalog, type IcebergCatalog } from "./catalog.ts";
import { RestCatalog } from "./rest-catalog.ts";

export function openCatalog(config: Pick<Config, "iceberg">, store: LakeStore): IcebergCatalog {
  const { restUri, restWarehouse, restToken } = config.iceberg;
  return restUri === undefined
    ? new EmbeddedCatalog(store)
    : new RestCatalog(store, { uri: restUri, warehouse: restWarehouse, token: restToken });
}
