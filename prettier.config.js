// Prettier, chosen to match the code as it was written: single quotes, trailing commas, and wide
// lines (160: the code's lines run to about that length, and narrower settings rewrap thousands
// of them). `npm run format` applies it; `npm run format:check` checks it.
export default {
  singleQuote: true,
  trailingComma: 'all',
  printWidth: 160,
};
