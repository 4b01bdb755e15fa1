// grant_type=client_credentials throughput, ours (embedded mode) against bare oidc-provider in the
// same run: the suite's client-credentials/embedded scenario (bench/run.ts), kept under its old
// name and options. Usage: node bench/client-credentials.ts [--seconds 10 --connections 20]
import { main } from './run.ts';

await main(['--only', 'client-credentials/embedded', ...process.argv.slice(2)]);
