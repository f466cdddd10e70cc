export * from './names';
export * from './creationToken';
export * from './results';
export * from './plan';
export * from './network';
