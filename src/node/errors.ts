// Errors for configuration a person typed: reported as usage, never as a crash.
export class UsageError extends Error {}
