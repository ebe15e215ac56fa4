// lab's Mermaid check, written by `lab setup` beside the pinned parser and run by `lab check`:
//
//   node parse.mjs DIAGRAMS.json
//
// DIAGRAMS.json is a list of {"file", "line", "text"}. Every text goes through the real Mermaid
// parser (mermaid.parse, headless: jsdom stands in for the browser's DOM), and one JSON document
// is printed on stdout, with a result per diagram in the input's order:
//
//   {"parser": "mermaid 11.17.2", "results": [{"ok": true},
//     {"ok": false, "kind": "syntax", "error": "Parse error on line 2: ...", "line": 2}]}
//
// `kind` is "syntax" when the parser rejects the diagram, and "internal" for an exception that
// is no verdict on the diagram (the headless DOM lacking something): lab reports that as an
// error of the check, never as a pass. `line` is the parser's own 1-based line, or null.

import { readFileSync } from 'node:fs';

// stdout carries the result only: whatever the libraries log goes to stderr.
const toStderr = (...args) => process.stderr.write(args.map(String).join(' ') + '\n');
for (const name of ['log', 'info', 'warn', 'debug', 'trace']) {
  console[name] = toStderr;
}

const { JSDOM } = await import('jsdom');
const { window } = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = window;
globalThis.document = window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

const pkg = new URL('./node_modules/mermaid/package.json', import.meta.url);
const version = JSON.parse(readFileSync(pkg, 'utf8')).version;

// Exceptions a parser throws for a bad diagram are Errors of its own (or YAML's, for bad front
// matter); these come from code that broke, not from the diagram.
const INTERNAL = [TypeError, ReferenceError, RangeError];

function verdict(e) {
  const error = String(e?.message ?? e);
  // The jison grammars put the place in e.hash.loc; the langium ones say "line N" in the text.
  const line = e?.hash?.loc?.first_line ?? Number(/\bline (\d+)/.exec(error)?.[1] ?? NaN);
  const kind = INTERNAL.some((t) => e instanceof t) ? 'internal' : 'syntax';
  return { ok: false, kind, error, line: Number.isInteger(line) ? line : null };
}

const diagrams = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const results = [];
for (const diagram of diagrams) {
  try {
    await mermaid.parse(diagram.text);
    results.push({ ok: true });
  } catch (e) {
    results.push(verdict(e));
  }
}
process.stdout.write(JSON.stringify({ parser: `mermaid ${version}`, results }) + '\n');
