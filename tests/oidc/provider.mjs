// A loopback OpenID Connect provider for the sign-in tests: panva's certified `oidc-provider`
// with its development login form (any login name, any password). Copied next to an
// `npm install oidc-provider@9` outside the repository and run by tests/test_signin_browser.py.
// Environment: OIDC_PORT, REDIRECT_URI, POST_LOGOUT_URI, OIDC_GROUPS (JSON: login -> groups).
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const groups = JSON.parse(process.env.OIDC_GROUPS || '{}');
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'dsmb',
    client_secret: 'dsmb-test-secret',
    redirect_uris: [process.env.REDIRECT_URI],
    post_logout_redirect_uris: [process.env.POST_LOGOUT_URI],
  }],
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, email: `${id}@example.org`, name: id, groups: groups[id] || [] }),
  }),
  claims: { openid: ['sub'], email: ['email'], profile: ['name'], groups: ['groups'] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  conformIdTokenClaims: false, // the groups claim goes into the ID token, where st.user reads it
  pkce: { required: () => false },
  cookies: { keys: ['dsmb-test-cookie-key'] },
  features: { devInteractions: { enabled: true } },
});
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${port}`));
