export * from './config.ts';
export * from './logger.ts';
export * from './kafka.ts';
export * from './db.ts';
export * from './http.ts';
export * from './runtime.ts';
export * from './shutdown.ts';
export * from './topics.ts';
