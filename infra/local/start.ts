/**
 * `npm start`: the whole system on the emulators. Not built yet (issue #5); until it is,
 * say so plainly rather than pretend.
 */
console.error("eventline: the local environment (`npm start`, issue #5) is not built yet. `npm test` runs the test suite.");
process.exitCode = 1;
