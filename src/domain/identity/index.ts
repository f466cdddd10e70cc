export * from './accessPoint';
export * from './config';
export * from './mountPolicy';
export * from './names';
export * from './registry';
