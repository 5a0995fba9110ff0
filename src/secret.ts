import { inspect } from 'node:util';

/**
 * A secret read from configuration. It serialises to nothing (`JSON.stringify` drops it, so pino and run documents
 * never see it) and prints as `[secret]`; only `reveal()`, called where the value is handed to a client, gives it out.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): undefined {
    return undefined;
  }

  toString(): string {
    return '[secret]';
  }

  [inspect.custom](): string {
    return '[secret]';
  }
}
