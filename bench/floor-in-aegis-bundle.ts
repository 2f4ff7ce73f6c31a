/**
 * The floor workflow in a bundle with AegisPay's workflows: the same module graph (domain code, zod),
 * which the SDK evaluates for every new workflow (reuseV8Context keeps modules per workflow).
 */
export * from '../src/workflows';
export { floorWorkflow } from './floor-workflow';
