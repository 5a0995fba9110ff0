import type { Env } from './process.js';
import type { Reporter } from './report.js';
import type { Paths } from './state.js';

/** Everything the services code needs from outside, passed in: nothing here reads process.env on its own. */
export interface ServicesOptions {
  paths: Paths;
  env: Env;
  report: Reporter;
  /** Where to look first and start servers; other ports are tried when one is taken by something else. */
  ports: Ports;
}

interface Ports {
  redis: number;
  mongod: number;
  ferretdb: number;
}

export const DEFAULT_PORTS: Ports = { redis: 6379, mongod: 27017, ferretdb: 27027 };
