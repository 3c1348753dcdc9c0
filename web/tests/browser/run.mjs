// Runs the browser tests one after the other (they share the machine's two cores):
//   node web/tests/browser/run.mjs            the wallboard scenario and the performance run
//   node web/tests/browser/run.mjs wallboard  one of them
const only = process.argv[2];
if (!only || only === "wallboard") await import("./wallboard.test.mjs");
if (!only || only === "perf") await import("./perf.test.mjs");
