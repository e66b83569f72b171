// eslint for the web app's own ES modules (./dev.sh test): the recommended rules, browser globals.
import js from "@eslint/js";
import globals from "globals";

export default [
  js.configs.recommended,
  {
    files: ["src/microdrama/web/static/js/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: {
        ...globals.browser,
        tus: "readonly", // vendor/tus.min.js on the studio's series page
      },
    },
    rules: {
      // `catch {}` is how the scripts say "storage or a parse may fail; carry on without it".
      "no-empty": ["error", { allowEmptyCatch: true }],
    },
  },
];
