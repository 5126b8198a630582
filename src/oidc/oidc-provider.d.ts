// oidc-provider 9 ships no type declarations; it is typed as `any` here and wrapped by src/oidc.
declare module 'oidc-provider';
