// ESLint: the recommended JavaScript and TypeScript rules (without type information, so a run
// takes seconds), plus a few that catch real mistakes in this codebase. Formatting is Prettier's.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/",
      "**/dist/",
      "docs/api/",
      ".tmp/",
      "packages/gradclip/src/arrays/wasm/kernels.wasm.ts",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { console: "readonly", process: "readonly", globalThis: "readonly" },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
      "@typescript-eslint/no-explicit-any": "error",
      // A named public interface that extends one other (GradNormCallback) is a deliberate contract.
      "@typescript-eslint/no-empty-object-type": ["error", { allowInterfaces: "with-single-extends" }],
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-console": "off",
    },
  },
  {
    // Browser pages and their fixtures run in a browser.
    files: ["examples/**/*.js", "packages/gradclip/test/browser/fixtures/**/*.js"],
    languageOptions: {
      globals: {
        window: "readonly",
        document: "readonly",
        performance: "readonly",
        navigator: "readonly",
        requestAnimationFrame: "readonly",
        isSecureContext: "readonly",
        GPUComputePassEncoder: "readonly",
        GPUCommandEncoder: "readonly",
      },
    },
  },
);
