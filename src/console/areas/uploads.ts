import type { Context } from 'koa';

/**
 * multipart/form-data for the console's upload forms (branding files), parsed with the
 * platform's own parser (the fetch API's Request.formData), so no parser library is needed.
 * The body is read up to a limit first; a bigger body, or one that does not parse, is refused.
 */
export interface Upload {
  filename: string;
  contentType: string;
  data: Buffer;
}
export interface Uploads {
  fields: Record<string, string>;
  /** files by field name; a file input left empty is not here */
  files: Map<string, Upload>;
}

/** The branding files at most (5 × 512 KiB) and the form's other fields. */
export const MAX_UPLOAD_BYTES = 5 * 512 * 1024 + 64 * 1024;

const byExtension: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  ico: 'image/x-icon',
  woff2: 'font/woff2',
  woff: 'font/woff',
  ttf: 'font/ttf',
  otf: 'font/otf',
};

/** The browser's type for the file, or (when it sent none, or a generic one) the one its extension names. */
function typeOf(filename: string, sent: string): string {
  if (sent && sent !== 'application/octet-stream') return sent.split(';')[0].trim().toLowerCase();
  return byExtension[filename.split('.').pop()?.toLowerCase() ?? ''] ?? (sent || 'application/octet-stream');
}

async function readBody(ctx: Context, maxBytes: number): Promise<Buffer | undefined> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > maxBytes) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function readUploads(ctx: Context, maxBytes = MAX_UPLOAD_BYTES): Promise<Uploads | undefined> {
  const body = await readBody(ctx, maxBytes);
  if (!body) return undefined;
  let form: FormData;
  try {
    form = await new Request('http://console.invalid/', {
      method: 'POST',
      headers: { 'content-type': ctx.get('content-type') },
      body: new Uint8Array(body),
    }).formData();
  } catch {
    return undefined;
  }
  const fields: Record<string, string> = {};
  const files = new Map<string, Upload>();
  for (const [name, value] of form.entries()) {
    if (typeof value === 'string') fields[name] = value;
    else if (value.size > 0)
      files.set(name, { filename: value.name, contentType: typeOf(value.name, value.type), data: Buffer.from(await value.arrayBuffer()) });
  }
  return { fields, files };
}
