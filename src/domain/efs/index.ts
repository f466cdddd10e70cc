export * from './names';
export * from './creationToken';
export * from './scripts';
export * from './results';
export * from './plan';
export * from './network';
