/**
 * Loaded by path (`failureConverterPath`) in the worker, its workflow bundle and the client: it must stay
 * sandbox-safe, so it imports nothing but @temporalio/common.
 */
import { DefaultFailureConverter } from '@temporalio/common';

/** Moves failure messages and stack traces into a payload, so the payload codec encrypts them too. */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
