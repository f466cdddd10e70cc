export * from './names';
export * from './creationToken';
export * from './results';
export * from './plan';
export * from './network';
export * from './instanceFacts';
export * from './installRoute';
export * from './identityMode';
