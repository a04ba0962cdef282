// Loads nothing but Node: a command line answers `help` without loading kafkajs, pg or zod.

/** A command called the wrong way: the command line exits 2 and shows its usage. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A usage mistake: ours, or one `parseArgs` found (unknown option, missing value). */
export function isUsageError(err: unknown): err is Error {
  return err instanceof UsageError || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'));
}

/** What a command runs with: where its news goes and the environment it reads its settings from. */
export interface CommandContext {
  /** One line of the command's news (prefixed with the program's name). */
  say: (line: string) => void;
  env: Record<string, string | undefined>;
}

/** An operator or marketer command; resolves to the exit code. */
export type Command = (args: string[], ctx: CommandContext) => Promise<number>;

/**
 * A service's command line (its package `bin`): runs `argv[0]` from `commands`; `help` prints the
 * usage; a usage mistake exits 2 with the usage, any other error exits 1 with its message.
 * `./lifecycle` runs the same commands with the stack's environment.
 */
export async function runCommandLine(opts: {
  program: string;
  usage: string;
  commands: Record<string, Command>;
  argv: string[];
  /** Default: `<program>: <line>` on stdout, an empty line left empty. */
  say?: (line: string) => void;
}): Promise<void> {
  const say =
    opts.say ??
    ((line: string): void => {
      process.stdout.write(line === '' ? '\n' : `${opts.program}: ${line}\n`);
    });
  const [name, ...args] = opts.argv;
  try {
    if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
      process.stdout.write(`${opts.usage}\n`);
      process.exitCode = 0;
    } else {
      const command = Object.hasOwn(opts.commands, name) ? opts.commands[name] : undefined;
      if (command === undefined) throw new UsageError(`unknown command ${name}`);
      process.exitCode = await command(args, { say, env: process.env });
    }
  } catch (err) {
    if (isUsageError(err)) {
      process.stderr.write(`${opts.program}: ${err.message}\n\n${opts.usage}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`${opts.program}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  }
  // A kafkajs timer or an idle keep-alive socket must not hold the terminal after the work is done.
  setTimeout(() => process.exit(), 3_000).unref();
}
