/** Step 1 of mounting: amazon-efs-utils, unless mount.efs is already there. */
import { HAVE_MOUNT_EFS } from './fragments';
import { body, RETRYABLE_EXIT_CODE, STEP_EXIT_CODES, type EfsStepDefinition } from './script';

const MISSING = STEP_EXIT_CODES.missingPrerequisite;
const RETRY = RETRYABLE_EXIT_CODE;

export const installEfsUtils: EfsStepDefinition<'installEfsUtils'> = {
  name: 'installEfsUtils',
  summary: (_settings, instanceId) => `install amazon-efs-utils on ${instanceId} unless mount.efs is there`,
  exits: { missingPrerequisite: 'no package of amazon-efs-utils for this system, or no dnf, yum or apt-get: the message says how to build it' },
  inputs: () => ({}),
  body: body(
    HAVE_MOUNT_EFS,
    `if have_mount_efs; then
  unchanged "amazon-efs-utils is installed (mount.efs found)"
  exit 0
fi
distro=unknown
if [ -r /etc/os-release ]; then
  # The instance's own file, read where it runs.
  # shellcheck source=/dev/null
  distro=$(. /etc/os-release && printf '%s' "\${ID:-unknown}\${VERSION_ID:+ \$VERSION_ID}")
fi
build_hint="build amazon-efs-utils from https://github.com/aws/efs-utils for $distro (./build-deb.sh or make rpm) and install it, then run again"
log=/var/log/sharemount-install-efs-utils.log
show_log() { tail -n 20 "$log" >&2 || true; }
if command -v dnf >/dev/null 2>&1 || command -v yum >/dev/null 2>&1; then
  pm=dnf
  command -v dnf >/dev/null 2>&1 || pm=yum
  if ! "$pm" -q info amazon-efs-utils >"$log" 2>&1; then
    fail ${MISSING} "amazon-efs-utils is not in the $pm repositories of $distro: $build_hint"
  fi
  "$pm" -y install amazon-efs-utils >>"$log" 2>&1 || { show_log; fail ${RETRY} "$pm install amazon-efs-utils failed (see $log)"; }
elif command -v apt-get >/dev/null 2>&1; then
  pm=apt-get
  DEBIAN_FRONTEND=noninteractive
  export DEBIAN_FRONTEND
  apt-get update -q >"$log" 2>&1 || { show_log; fail ${RETRY} "apt-get update failed (see $log)"; }
  if ! apt-cache show amazon-efs-utils >>"$log" 2>&1; then
    fail ${MISSING} "no amazon-efs-utils package for $distro: $build_hint"
  fi
  apt-get install -y -q amazon-efs-utils >>"$log" 2>&1 || { show_log; fail ${RETRY} "apt-get install amazon-efs-utils failed (see $log)"; }
else
  fail ${MISSING} "no dnf, yum or apt-get on $distro: $build_hint"
fi
have_mount_efs || fail ${MISSING} "amazon-efs-utils was installed with $pm but mount.efs is still missing"
changed "installed amazon-efs-utils with $pm"`,
  ),
};
