// Runs before each test file: quiet logs unless the caller asked for them.
process.env.NODE_ENV = 'test';
process.env.LOG_LEVEL ??= 'silent';
// Webhook secrets are stored encrypted; the API and workers refuse to start without a key.
process.env.SECRETS_KEY ??= 'Ci/kqCxNMh+nafoCHiYG3aRJrmg4nbmeZ4IO0txCtmQ=';
