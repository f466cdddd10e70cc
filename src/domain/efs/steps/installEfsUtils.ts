/**
 * Step 1 of mounting on Amazon Linux 2 / 2023: amazon-efs-utils from Amazon's own repositories, unless mount.efs
 * is already there. Other distributions have no such package in their archives; the workflow sends them the
 * Distributor package instead (installRoute.ts), so this script refuses them with that advice.
 */
import { DISTRIBUTOR_PACKAGE } from '../installRoute';
import { HAVE_MOUNT_EFS } from './fragments';
import { body, RETRYABLE_EXIT_CODE, STEP_EXIT_CODES, type EfsStepDefinition } from './script';

const MISSING = STEP_EXIT_CODES.missingPrerequisite;
const RETRY = RETRYABLE_EXIT_CODE;

export const installEfsUtils: EfsStepDefinition<'installEfsUtils'> = {
  name: 'installEfsUtils',
  summary: (_settings, instanceId) =>
    `install amazon-efs-utils with dnf / yum from Amazon's repositories on ${instanceId} (Amazon Linux) unless mount.efs is there`,
  exits: {
    missingPrerequisite: `not Amazon Linux 2 / 2023 (use the Distributor package ${DISTRIBUTOR_PACKAGE}), or Amazon's repository has no amazon-efs-utils`,
  },
  inputs: () => ({ DISTRIBUTOR_PACKAGE }),
  body: body(
    HAVE_MOUNT_EFS,
    `if have_mount_efs; then
  unchanged "amazon-efs-utils is installed (mount.efs found)"
  exit 0
fi
os_id=$(sed -n 's/^ID=//p' /etc/os-release 2>/dev/null | head -n 1 | tr -d '"')
os_version=$(sed -n 's/^VERSION_ID=//p' /etc/os-release 2>/dev/null | head -n 1 | tr -d '"')
case "$os_id $os_version" in
  'amzn 2') pm=yum ;;
  'amzn 2023') pm=dnf ;;
  *) fail ${MISSING} "this is not Amazon Linux 2 or 2023 ($os_id $os_version): its repositories have no amazon-efs-utils; install the Distributor package $DISTRIBUTOR_PACKAGE (AWS-ConfigureAWSPackage)" ;;
esac
log=/var/log/sharemount-install-efs-utils.log
show_log() { tail -n 20 "$log" >&2 || true; }
if ! "$pm" -q info amazon-efs-utils >"$log" 2>&1; then
  show_log
  fail ${MISSING} "amazon-efs-utils is not in the $pm repositories of Amazon Linux $os_version (is the amazonlinux repository disabled, or unreachable without a NAT gateway or S3 endpoint?)"
fi
"$pm" -y install amazon-efs-utils >>"$log" 2>&1 || { show_log; fail ${RETRY} "$pm install amazon-efs-utils failed (see $log)"; }
have_mount_efs || fail ${MISSING} "amazon-efs-utils was installed with $pm but mount.efs is still missing"
changed "installed amazon-efs-utils with $pm from Amazon's repositories"`,
  ),
};
