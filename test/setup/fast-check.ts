import fc from "fast-check";

// Property tests are reproducible by default: the same inputs on every run, so a red suite
// always means a change, never a lucky draw. COVEY_HEAVY=1 (or FC_SEED) explores fresh inputs;
// a failure prints its seed, which FC_SEED replays.
const seed = process.env["FC_SEED"];
if (seed !== undefined) fc.configureGlobal({ seed: Number(seed) });
else if (process.env["COVEY_HEAVY"] !== "1") fc.configureGlobal({ seed: 20261122 });
