export * from './segment.ts';
export * from './ecommerce-events.ts';
export * from './envelope.ts';
export * from './stages.ts';
export * from './messages.ts';
export * from './topics.ts';
export * from './timers.ts';
export * from './template-data.ts';
