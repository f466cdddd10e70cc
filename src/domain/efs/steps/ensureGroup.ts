/** Step 2 of mounting: the shared group, by name and GID. */
import { validateGid, validateGroupName } from '../names';
import { CHECK_GID, CHECK_NAME } from './fragments';
import { body, STEP_EXIT_CODES, type EfsStepDefinition } from './script';

const CONFLICT = STEP_EXIT_CODES.conflict;

export const ensureGroup: EfsStepDefinition<'ensureGroup'> = {
  name: 'ensureGroup',
  summary: (settings, instanceId) => `ensure group ${settings.group} (GID ${settings.gid}) on ${instanceId}`,
  exits: {
    badInput: 'GROUP or GID failed the check in the script',
    conflict: 'the group exists with another GID, or another group holds the GID',
  },
  inputs: (settings) => ({ GROUP: validateGroupName(settings.group), GID: validateGid(settings.gid) }),
  body: body(
    CHECK_NAME,
    'check_name group "$GROUP"',
    CHECK_GID,
    `by_name=$(getent group "$GROUP" | head -n 1 || true)
by_gid=$(getent group "$GID" | head -n 1 || true)
if [ -n "$by_name" ]; then
  name_gid=$(printf '%s\\n' "$by_name" | cut -d: -f3)
  [ "$name_gid" = "$GID" ] || fail ${CONFLICT} "group $GROUP already exists with GID $name_gid, not $GID: pass --gid $name_gid or choose another --group"
  unchanged "group $GROUP has GID $GID"
  exit 0
fi
if [ -n "$by_gid" ]; then
  holder=$(printf '%s\\n' "$by_gid" | cut -d: -f1)
  fail ${CONFLICT} "GID $GID is already held by group $holder: choose another --gid, or --group $holder"
fi
if command -v groupadd >/dev/null 2>&1; then
  groupadd -g "$GID" "$GROUP"
else
  addgroup -g "$GID" "$GROUP"
fi
changed "created group $GROUP with GID $GID"`,
  ),
};
