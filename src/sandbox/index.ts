/** The sandbox PSP, published apart from the SDK as `aegispay/sandbox`: test equipment, not payment code. */
export {
  startSandbox,
  type Sandbox,
  type SandboxOptions,
  type LedgerFilter,
  type SettleOutcome,
  type Faults,
  type Operation,
  type Holding,
  type LedgerEntry,
  type SandboxGateway,
} from './server';
