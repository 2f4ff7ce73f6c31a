import { createLogger } from '../../src/logging';
import { installTemporalRuntime } from '../../src/temporal-runtime';

// Before any connection: keep the SDK's worker chatter out of test output, and declines' "Activity failed" warnings; errors still show.
installTemporalRuntime(createLogger('ERROR'), 'ERROR');
