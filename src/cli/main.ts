// `loupe`: run, export and manage models from the command line (bundled as dist/cli.js, the package's `bin`).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { USAGE, UsageError, parseCliArgs, type CliArgs } from './args';
import { modelsCommand } from './models';
import { describeError, isLoupeError } from '../common/errors';
import { exitCodeOf, exportTo, readNotebook, runCommand, type CliIO } from './run';

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'dev';
  }
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  let args: CliArgs;
  try {
    args = parseCliArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`loupe: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  try {
    switch (args.command) {
      case 'help':
        io.stdout.write(USAGE);
        return 0;
      case 'version':
        io.stdout.write(`${version()}\n`);
        return 0;
      case 'run':
      case 'eval':
        return await runCommand(args, io);
      case 'export': {
        const nbPath = resolve(io.cwd, args.notebook);
        const nb = await readNotebook(nbPath);
        const out = await exportTo(nb, args.export, nbPath, args.out ? resolve(io.cwd, args.out) : undefined, io);
        io.stderr.write(`loupe: exported ${out}\n`);
        io.stdout.write(out + '\n');
        return 0;
      }
      case 'models':
        return await modelsCommand(args, io);
    }
  } catch (e) {
    // Every error through one description; unknown ones (bugs) keep their stack.
    io.stderr.write(`loupe: ${describeError(e).message}\n`);
    return isLoupeError(e) ? exitCodeOf(e) : 1;
  }
}

if (typeof require !== 'undefined' && require.main === module) {
  const abort = new AbortController();
  let interrupts = 0;
  // SIGINT (Ctrl+C) and SIGTERM (timeout, kill) stop the running cell; what finished is already on disk. A second
  // signal quits at once.
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    if (++interrupts > 1) process.exit(signal === 'SIGINT' ? 130 : 143);
    process.stderr.write(`\nloupe: ${signal === 'SIGINT' ? 'interrupted' : 'terminated'}: stopping the running cell (${signal === 'SIGINT' ? 'Ctrl+C' : 'the signal'} again to quit now)…\n`);
    abort.abort(signal);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    hostScript: join(__dirname, 'host.js'),
    signal: abort.signal,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`loupe: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
