/**
 * Bad configuration, from the environment or the configuration file: one line per problem, each naming the variable
 * (and for the file, the path inside it) and what is expected. The CLI prints the lines and exits 2; no line ever
 * carries a secret's value.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.join('\n')}`);
  }
}
