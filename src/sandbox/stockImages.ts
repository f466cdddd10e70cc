/**
 * What the stock EC2 images look like where sharemount reads them: /etc/os-release, UID_MIN in /etc/login.defs,
 * the default user (UID 1000 on all three), ssm-user as the SSM agent creates it at the first Session Manager
 * session (`useradd -m ssm-user`: the next free UID and /etc/default/useradd's shell), and a system account
 * with a nologin shell. The os-release lines are the images' own.
 */

/** A user of the image's /etc/passwd (the sandbox creates it as it is). */
export interface StockUser {
  name: string;
  uid: number;
  shell: string;
}

export type StockImageName = 'amazonlinux-2023' | 'ubuntu-24.04' | 'rocky-9';

export interface StockImage {
  name: StockImageName;
  osRelease: string;
  uidMin: number;
  /** The image's default login user. */
  defaultUser: StockUser;
  /** Users who are not people: ssm-user and a system account. */
  otherUsers: StockUser[];
}

export const STOCK_IMAGES: Record<StockImageName, StockImage> = {
  'amazonlinux-2023': {
    name: 'amazonlinux-2023',
    osRelease: [
      'NAME="Amazon Linux"',
      'VERSION="2023"',
      'ID="amzn"',
      'ID_LIKE="fedora"',
      'VERSION_ID="2023"',
      'PLATFORM_ID="platform:al2023"',
      'PRETTY_NAME="Amazon Linux 2023.6.20250107"',
    ].join('\n'),
    uidMin: 1000,
    defaultUser: { name: 'ec2-user', uid: 1000, shell: '/bin/bash' },
    otherUsers: [
      { name: 'ssm-user', uid: 1001, shell: '/bin/bash' },
      { name: 'ec2-instance-connect', uid: 997, shell: '/sbin/nologin' },
    ],
  },
  'ubuntu-24.04': {
    name: 'ubuntu-24.04',
    osRelease: [
      'PRETTY_NAME="Ubuntu 24.04.1 LTS"',
      'NAME="Ubuntu"',
      'VERSION_ID="24.04"',
      'VERSION="24.04.1 LTS (Noble Numbat)"',
      'VERSION_CODENAME=noble',
      'ID=ubuntu',
      'ID_LIKE=debian',
      'UBUNTU_CODENAME=noble',
    ].join('\n'),
    uidMin: 1000,
    defaultUser: { name: 'ubuntu', uid: 1000, shell: '/bin/bash' },
    otherUsers: [
      // Ubuntu's /etc/default/useradd leaves SHELL=/bin/sh.
      { name: 'ssm-user', uid: 1001, shell: '/bin/sh' },
      { name: 'systemd-network', uid: 998, shell: '/usr/sbin/nologin' },
    ],
  },
  'rocky-9': {
    name: 'rocky-9',
    osRelease: [
      'NAME="Rocky Linux"',
      'VERSION="9.5 (Blue Onyx)"',
      'ID="rocky"',
      'ID_LIKE="rhel centos fedora"',
      'VERSION_ID="9.5"',
      'PLATFORM_ID="platform:el9"',
      'PRETTY_NAME="Rocky Linux 9.5 (Blue Onyx)"',
    ].join('\n'),
    uidMin: 1000,
    defaultUser: { name: 'rocky', uid: 1000, shell: '/bin/bash' },
    otherUsers: [
      { name: 'ssm-user', uid: 1001, shell: '/bin/bash' },
      { name: 'tss', uid: 59, shell: '/sbin/nologin' },
    ],
  },
};
