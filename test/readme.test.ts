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

// The package's entries (package.json "exports"), mapped to their sources.
const entries: Record<string, string> = {
  ".": "src/index.ts",
  "/testing": "src/testing/index.ts",
  "/nats": "src/backends/nats/index.ts",
  "/sqlite": "src/backends/sqlite/index.ts",
  "/board": "src/board/index.ts",
  "/inspector": "src/inspector/index.ts",
};

// Every complete program in the README (a ```ts block importing "covey" or one of its entries,
// but not vitest) runs. Fragments that need a server (a ```typescript block) are shown only.
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)]
  .map((m) => m[1]!)
  .filter((code) => /from "covey(\/[a-z]+)?"/.test(code) && !/from "vitest"/.test(code));

describe("README", () => {
  it("has runnable examples", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(7);
  });

  it.each(blocks.map((code, i) => [i + 1, code.split("\n").find((l) => l.includes('from "covey'))!, code] as const))(
    "example %i (%s) runs",
    async (i, _import, code) => {
      const source = code.replace(/from "covey(\/[a-z]+)?"/g, (_m, sub: string | undefined) => {
        const entry = entries[sub ?? "."];
        if (entry === undefined) throw new Error(`README imports an unknown entry covey${sub}`);
        return `from ${JSON.stringify(join(root, entry))}`;
      });
      const file = join(dir, `example-${i}.mts`);
      writeFileSync(file, source);
      // node:sqlite (covey/sqlite's driver on Node >= 22) announces itself as experimental on stderr.
      const args = ["--disable-warning=ExperimentalWarning", "--import", "tsx", file];
      const { stderr } = await run(process.execPath, args, { cwd: root, timeout: 30_000 });
      expect(stderr).toBe("");
    },
  );
});
