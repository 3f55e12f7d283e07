/**
 * Introspection Lab command line: `npm run cli -- <command> [options]`.
 * Each command is a module exporting `main(argv): Promise<number>` (the exit code)
 * and `summary`; adding one is one line in `commands`.
 */
import { pathToFileURL } from 'node:url';

export interface CliCommand {
  summary: string;
  main(argv: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<CliCommand>> = {
  analyze: () => import('./analyze'),
  run: () => import('./run'),
  'training-set': () => import('./training-set'),
};

function usage(): string {
  return [
    'usage: npm run cli -- <command> [options]   (tsx cli/main.ts <command> ...)',
    '',
    'commands:',
    ...Object.keys(commands).map((name) => `  ${name}`),
    '',
    "run 'npm run cli -- <command> --help' for a command's options",
  ].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!load) {
    process.stderr.write(`error: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  const command = await load();
  return command.main(rest);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      // Unknown or malformed options (node:util parseArgs) are usage errors: one line and where the usage is.
      const code = (err as { code?: string } | null)?.code ?? '';
      if (code.startsWith('ERR_PARSE_ARGS')) {
        process.stderr.write(`error: ${(err as Error).message}\nrun 'npm run cli -- ${process.argv[2] ?? ''} --help' for the options\n`);
        process.exitCode = 2;
        return;
      }
      // The stack only when asked for (DEBUG=1): a user needs the message.
      const text = err instanceof Error ? (process.env.DEBUG ? err.stack ?? err.message : err.message) : String(err);
      process.stderr.write(`error: ${text}\n`);
      process.exitCode = 1;
    },
  );
}
