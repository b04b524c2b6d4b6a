// Public API for programs that embed webhook-sender pieces.
export { sign, unixSeconds } from './signing/sign.js';
export { verifySignature, WebhookVerificationError, type VerifyErrorCode, type VerifyInput } from './verify/index.js';
export { parseTenantsFile, parseEndpoint, type TenantsFile, type EndpointConfig } from './tenants/schema.js';
export { parseConfig, type Config } from './config.js';
