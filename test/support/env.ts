// Runs before each test file: quiet logs unless the caller asked for them.
process.env.NODE_ENV = 'test';
process.env.LOG_LEVEL ??= 'silent';
