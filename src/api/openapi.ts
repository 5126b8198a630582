import { createDocument } from 'zod-openapi';
import type { ApiGroup } from './route.js';

/** The OpenAPI 3.1 document, built from the very route specs that validate requests. */
export function openApiDocument(groups: ApiGroup[]): Record<string, any> {
  const paths = Object.assign({}, ...groups.map((g) => g.openApiPaths()));
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Tessera API',
      version: '1',
      description:
        'System, Admin, Management and Auth APIs. Errors are application/problem+json with a stable `code`. ' +
        'Lists take offset, limit, sort and asc. Updates honour If-Match with the version sent in ETag. ' +
        "Management calls act in the org named by x-zitadel-orgid or x-org-id, else the caller's own org.",
    },
    tags: groups.map((g) => ({ name: g.tag })),
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: "an access token of this instance, or a machine user's personal access token" },
        systemKey: { type: 'http', scheme: 'bearer', description: 'a system API key from the configuration (systemApiKeys)' },
      },
    },
    paths,
  });
}

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A readable reference: server-rendered, no script, generated from the same document. */
export function referencePage(doc: Record<string, any>): string {
  const byTag = new Map<string, string[]>();
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths ?? {})) {
    for (const [method, op] of Object.entries<any>(item)) {
      const params = (op.parameters ?? [])
        .map((p: any) => `<li><code>${esc(p.name)}</code> <em>${esc(p.in)}</em>${p.required ? ' (required)' : ''} ${esc(p.description ?? '')}</li>`)
        .join('');
      const body = op.requestBody?.content?.['application/json']?.schema;
      const ok = Object.entries<any>(op.responses ?? {}).find(([code]) => code !== 'default');
      const resp = ok?.[1]?.content?.['application/json']?.schema;
      const html = `<section id="${esc(op.operationId)}"><h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>
<p>${esc(op.summary)}${op['x-permission'] ? ` &middot; permission <code>${esc(op['x-permission'])}</code>` : ''}</p>
${op.description ? `<p>${esc(op.description)}</p>` : ''}${params ? `<ul>${params}</ul>` : ''}
${body ? `<details><summary>request body</summary><pre>${esc(JSON.stringify(body, null, 2))}</pre></details>` : ''}
${resp ? `<details><summary>response ${esc(ok?.[0])}</summary><pre>${esc(JSON.stringify(resp, null, 2))}</pre></details>` : `<p>response ${esc(ok?.[0])}</p>`}
</section>`;
      const tag = op.tags?.[0] ?? 'other';
      byTag.set(tag, [...(byTag.get(tag) ?? []), html]);
    }
  }
  const sections = [...byTag].map(([tag, ops]) => `<h2 id="${esc(tag)}">${esc(tag)}</h2>${ops.join('\n')}`).join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tessera API reference</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}code,pre{font-size:13px}
pre{background:#f4f4f5;padding:.5rem;overflow:auto}.m{display:inline-block;min-width:4.5em;font-size:12px;color:#fff;background:#555;padding:0 .4em;border-radius:3px}
.get{background:#2563eb}.post{background:#16a34a}.put,.patch{background:#ca8a04}.delete{background:#dc2626}section{border-top:1px solid #ddd}</style></head>
<body><h1>Tessera API reference</h1><p>${esc(doc.info?.description)}</p><p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${esc(doc.openapi)}).</p>
<nav>${[...byTag.keys()].map((t) => `<a href="#${esc(t)}">${esc(t)}</a>`).join(' &middot; ')}</nav>
${sections}</body></html>`;
}
