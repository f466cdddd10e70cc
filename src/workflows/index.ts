export * from './doctor';
export * from './efs';
export * from './lxc';
export * from './registry';
