// Writes the nginx `add_header Content-Security-Policy ...` line for the built web app.
// Run by ops/container/Containerfile after `npm run build`:
//   node csp-header.mjs dist/index.html csp.conf
// Inline <script> blocks of index.html (the theme bootstrap) are allowed by their sha256 hash,
// computed from the built file, so the policy never goes stale when someone edits that script.
// `$host` is left for nginx to fill in: websockets go to wss://<the site's own host>/ws.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

const [htmlPath, outPath] = process.argv.slice(2);
if (!htmlPath || !outPath) {
  console.error('usage: node csp-header.mjs <dist/index.html> <output.conf>');
  process.exit(2);
}

const html = readFileSync(htmlPath, 'utf8');
const inlineScripts = [...html.matchAll(/<script\b(?![^>]*\bsrc\s*=)[^>]*>([\s\S]*?)<\/script>/gi)];
const hashes = inlineScripts.map(
  ([, body]) => `'sha256-${createHash('sha256').update(body, 'utf8').digest('base64')}'`,
);

const policy = [
  "default-src 'self'",
  ["script-src 'self'", ...hashes].join(' '),
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self' wss://$host",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

writeFileSync(outPath, `add_header Content-Security-Policy "${policy}" always;\n`);
console.log(`CSP written to ${outPath}: ${hashes.length} inline script(s) allowed by hash`);
