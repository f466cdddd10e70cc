/**
 * The Distributor package a run may install: its name and version reach the instance as SSM parameters of
 * AWS-ConfigureAWSPackage, so they are checked like every other value that leaves sharemount.
 */
import { InputError } from '../errors';

/** Distributor package names and versions are letters, digits and `._-` (AWS's own, e.g. AmazonEFSUtils 2.3.1). */
const PACKAGE_NAME = /^[A-Za-z0-9_.-]{3,128}$/;
const PACKAGE_VERSION = /^[A-Za-z0-9_.-]{1,128}$/;

export function validatePackage(packageName: string, version?: string): void {
  if (!PACKAGE_NAME.test(packageName) || packageName.startsWith('-')) {
    throw new InputError(
      'packageName',
      `${JSON.stringify(packageName)} is not a Distributor package name (3-128 letters, digits, '.', '_' or '-'), e.g. AmazonEFSUtils`,
    );
  }
  if (version !== undefined && (!PACKAGE_VERSION.test(version) || version.startsWith('-'))) {
    throw new InputError('version', `${JSON.stringify(version)} is not a package version (letters, digits, '.', '_' or '-'); leave it out for the latest`);
  }
}
