// Writes study.schema.json (the JSON Schema editors use to complete a study file) from the zod schema in dist/.
import { writeFileSync } from 'node:fs';
import { studyJsonSchema } from '../dist/index.js';
writeFileSync(new URL('../study.schema.json', import.meta.url), `${JSON.stringify(studyJsonSchema(), null, 2)}\n`);
