import type { Config, StackService } from "@tributary/shared/config";

export type ServiceState = "up" | "down" | "unhealthy";

export interface ServiceStatus {
  readonly name: StackService;
  readonly state: ServiceState;
  readonly pid?: number;
  readonly endpoint: string;
  readonly detail?: string;
}

export interface ServiceContext {
  readonly config: Config;
  /** This service's directory under the state dir: data, logs, pid file. */
  readonly dir: string;
  readonly say: (line: string) => void;
}

/** A native service of the local stack: idempotent start, health, clean stop. */
export interface Service {
  readonly name: StackService;
  endpoint(config: Config): string;
  logFile(ctx: ServiceContext): string;
  start(ctx: ServiceContext): Promise<void>;
  stop(ctx: ServiceContext): Promise<void>;
  status(ctx: ServiceContext): Promise<ServiceStatus>;
}
