import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));
const readme = readFileSync(join(root, "README.md"), "utf8");
// Inside the project (git-ignored) so the snippets resolve the project's dependencies.
const dir = mkdtempSync(join(root, ".readme-snippets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Every complete program in the README (a ```ts block importing "covey" but not vitest) runs.
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)]
  .map((m) => m[1]!)
  .filter((code) => /from "covey"/.test(code) && !/from "vitest"/.test(code));

describe("README", () => {
  it("has runnable examples", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(7);
  });

  it.each(blocks.map((code, i) => [i + 1, code.split("\n").find((l) => l.includes('from "covey'))!, code] as const))(
    "example %i (%s) runs",
    async (i, _import, code) => {
      const source = code
        .replace(/from "covey\/testing"/g, `from ${JSON.stringify(join(root, "src/testing/index.ts"))}`)
        .replace(/from "covey"/g, `from ${JSON.stringify(join(root, "src/index.ts"))}`);
      const file = join(dir, `example-${i}.mts`);
      writeFileSync(file, source);
      const { stderr } = await run(process.execPath, ["--import", "tsx", file], { cwd: root, timeout: 30_000 });
      expect(stderr).toBe("");
    },
  );
});
