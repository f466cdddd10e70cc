/** The sharemount CLI: validates input, starts workflows with deterministic IDs, follows their progress. */
import { main } from './cli/program';

if (require.main === module) {
  main(process.argv).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`${error.stack ?? error.message}\n`);
      process.exit(1);
    },
  );
}

export { main };
