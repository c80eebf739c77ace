export const VERSION = 'shandian v0.1.0';
