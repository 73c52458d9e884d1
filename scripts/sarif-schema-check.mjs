// Validates SARIF files against the official SARIF 2.1.0 JSON schema (the copy Microsoft's
// SARIF Multitool ships), with formats (uri, date-time) checked. The Multitool's own
// `validate` skips files that do not deserialize, so the schema is checked here too.
// Usage: node sarif-schema-check.mjs FILE.sarif...
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const require = createRequire(import.meta.url);
const schemaPath = require.resolve('@microsoft/sarif-multitool-linux/sarif-2.1.0.json');
const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(schema);
let bad = 0;
for (const file of process.argv.slice(2)) {
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  if (!validate(doc)) {
    bad++;
    console.log(`${file}: not SARIF 2.1.0:`);
    for (const e of validate.errors) console.log(`  ${e.instancePath || '/'} ${e.message}`);
  }
}
process.exit(bad ? 1 : 0);
