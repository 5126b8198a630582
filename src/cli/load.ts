import { readFileSync } from 'node:fs';
import YAML, { LineCounter, isNode, type Document } from 'yaml';
import { fileSchema, formatPath, type FileSpec, type SpecPath } from './spec.js';

/**
 * A mistake in an apply file: names the file, the line, the path inside the document and the
 * reason, as one line an operator can act on.
 */
export class SpecError extends Error {
  constructor(
    readonly file: string,
    readonly path: SpecPath,
    readonly reason: string,
    readonly line?: number,
    readonly col?: number,
  ) {
    super(`${file}${line ? `:${line}:${col}` : ''}: ${path.length ? formatPath(path) : '(document)'}: ${reason}`);
  }
}

/** A parsed apply file that still knows where each value came from. */
export class SpecFile {
  private constructor(
    readonly file: string,
    readonly spec: FileSpec,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  static parse(file: string, text: string): SpecFile {
    const lines = new LineCounter();
    const doc = YAML.parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length) {
      const err = doc.errors[0];
      const pos = lines.linePos(err.pos[0]);
      throw new SpecError(file, [], err.message.split('\n')[0], pos.line, pos.col);
    }
    const parsed = fileSchema.safeParse(doc.toJS() ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      const located = new SpecFile(file, {} as FileSpec, doc, lines);
      throw located.error(path, issue.message);
    }
    return new SpecFile(file, parsed.data, doc, lines);
  }

  static read(file: string): SpecFile {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new SpecError(file, [], (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message);
    }
    return SpecFile.parse(file, text);
  }

  /** An error at `path`, located at the deepest node of the document that exists along it. */
  error(path: SpecPath, reason: string): SpecError {
    for (let n = path.length; n >= 0; n--) {
      const node = this.doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) {
        const pos = this.lines.linePos(node.range[0]);
        return new SpecError(this.file, path, reason, pos.line, pos.col);
      }
    }
    return new SpecError(this.file, path, reason);
  }
}
