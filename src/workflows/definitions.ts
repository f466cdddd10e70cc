/**
 * Queries and search-attribute keys shared by workflows and the CLI, defined once so both sides agree.
 */
import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery } from '@temporalio/workflow';
import type { RunProgress } from '../domain/progress';

export const progressQuery = defineQuery<RunProgress>('progress');

export const VOLUME_ATTRIBUTE = defineSearchAttributeKey('ShareMountVolume', 'KEYWORD_LIST');
export const BACKEND_ATTRIBUTE = defineSearchAttributeKey('ShareMountBackend', 'KEYWORD');
export const TARGETS_ATTRIBUTE = defineSearchAttributeKey('ShareMountTargets', 'KEYWORD_LIST');
