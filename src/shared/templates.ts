/**
 * How every ejs template (pages, mails) is rendered: async (views await their includes), and
 * compiled once per process. Without the cache ejs reads and compiles each template and include
 * on every render; the reads go through libuv's thread pool, where argon2 hashes passwords, so
 * under a sign-in load the login pages waited behind password checks. In development
 * (NODE_ENV=development) templates are read afresh, so an edited view shows on reload.
 */
export const TEMPLATE_OPTIONS = { async: true, cache: process.env.NODE_ENV !== 'development' } as const;
