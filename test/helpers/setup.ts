import { createLogger } from '../../src/logging';
import { installTemporalRuntime } from '../../src/temporal-runtime';

// Before any connection: keep the SDK's worker chatter out of test output, but show warnings.
installTemporalRuntime(createLogger('WARN'), 'WARN');
