import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeExamples } from './write-examples.js';

// dist/src/mock/ -> repository root
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
writeExamples(path.join(repo, 'examples'));
process.stdout.write(`wrote ${path.join(repo, 'examples')}\n`);
